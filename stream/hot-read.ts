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
 * Reads many (scope, range) windows from the hot buckets in one round trip.
 * Each range is split into hourly, minute and 10 s buckets; unique users are the
 * HyperLogLog union of the same buckets.
 */
export async function readHotWindows(redis: Redis, keys: RedisKeys, ranges: HotRange[], moneyScale: number): Promise<MetricValues[]> {
  const pipeline = redis.pipeline();
  const partCounts: number[] = [];
  for (const range of ranges) {
    const parts = decomposeRange(range.from, range.to);
    partCounts.push(parts.length);
    for (const part of parts) pipeline.hmget(keys.bucket(part.levelMs, part.start, range.scope), ...HOT_FIELDS);
    if (range.users !== false) pipeline.pfcount(...parts.map((part) => keys.users(part.levelMs, part.start, range.scope)));
  }
  const replies = (await pipeline.exec()) ?? [];
  let cursor = 0;
  return ranges.map((range, r) => {
    // exact in BigInt; only the answer is a JSON number (exact below 2^53 units, else the nearest double)
    const units = [0n, 0n, 0n, 0n, 0n, 0n];
    for (let p = 0; p < partCounts[r]!; p++) {
      const [err, values] = replies[cursor++]!;
      if (err) throw err;
      sumsOfHotFields(values as Array<string | null>).forEach((value, f) => { units[f]! += value; });
    }
    let uniqueUsers: unknown = 0;
    if (range.users !== false) {
      const [err, count] = replies[cursor++]!;
      if (err) throw err;
      uniqueUsers = count;
    }
    const sums: Sums = {
      exposure: Number(units[0]!),
      clicks: Number(units[1]!),
      visits: Number(units[2]!),
      conversions: Number(units[3]!),
      revenue: moneyOfUnits(units[4]!, moneyScale),
      spend: moneyOfUnits(units[5]!, moneyScale),
    };
    return deriveMetrics(sums, uniqueUsers as number, isStoreScope(range.scope));
  });
}
