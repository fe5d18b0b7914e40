import type { Redis } from 'ioredis';
import { decomposeRange } from './buckets.js';
import { deriveMetrics } from './derive.js';
import { HOT_FIELDS, sumsOfHotFields, type RedisKeys } from './redis-keys.js';
import type { MetricValues, Sums } from './types.js';

export interface HotRange {
  scope: string;
  from: number;
  to: number;
  /** count unique users (a HyperLogLog union over the range's buckets); default true, else 0 */
  users?: boolean;
}

/** Currency from integer units: whole and fraction converted apart, so the result is the double nearest the exact sum. */
export function moneyOfUnits(units: bigint, moneyScale: number): number {
  const scale = BigInt(moneyScale);
  return Number(`${units / scale}.${String(units % scale).padStart(String(moneyScale).length - 1, '0')}`);
}

const isStoreScope = (scope: string) => scope.startsWith('s:') || scope.startsWith('sc:');

/**
 * Reads many (scope, range) windows from the hot buckets: one pipeline per stream partition (its
 * keys share one slot, so on a cluster each goes to one node), all at once. Each range is split into
 * hourly, minute and 10 s buckets; unique users are each partition's HyperLogLog union of the same
 * buckets, added up over the partitions (a customer's events all go to one partition).
 */
export async function readHotWindows(redis: Redis, keys: RedisKeys, ranges: HotRange[], moneyScale: number): Promise<MetricValues[]> {
  const partsOf = ranges.map((range) => decomposeRange(range.from, range.to));
  const perPartition = await Promise.all(keys.partitions.map(async (partition) => {
    const pipeline = redis.pipeline();
    ranges.forEach((range, r) => {
      for (const part of partsOf[r]!) pipeline.hmget(partition.bucket(part.levelMs, part.start, range.scope), ...HOT_FIELDS);
      if (range.users !== false) pipeline.pfcount(...partsOf[r]!.map((part) => partition.users(part.levelMs, part.start, range.scope)));
    });
    return (await pipeline.exec()) ?? [];
  }));
  const cursors = keys.partitions.map(() => 0);
  return ranges.map((range, r) => {
    // exact in BigInt; only the answer is a JSON number (exact below 2^53 units, else the nearest double)
    const units = [0n, 0n, 0n, 0n, 0n, 0n];
    let uniqueUsers = 0;
    perPartition.forEach((replies, p) => {
      for (let part = 0; part < partsOf[r]!.length; part++) {
        const [err, values] = replies[cursors[p]!++]!;
        if (err) throw err;
        sumsOfHotFields(values as Array<string | null>).forEach((value, f) => { units[f]! += value; });
      }
      if (range.users !== false) {
        const [err, count] = replies[cursors[p]!++]!;
        if (err) throw err;
        uniqueUsers += count as number;
      }
    });
    const sums: Sums = {
      exposure: Number(units[0]!),
      clicks: Number(units[1]!),
      visits: Number(units[2]!),
      conversions: Number(units[3]!),
      revenue: moneyOfUnits(units[4]!, moneyScale),
      spend: moneyOfUnits(units[5]!, moneyScale),
    };
    return deriveMetrics(sums, uniqueUsers, isStoreScope(range.scope));
  });
}
