import { readFileSync } from 'node:fs';
import type { ClientContext, Redis, Result } from 'ioredis';
import { decomposeRange } from './buckets.js';
import { deriveMetrics } from './derive.js';
import { sumsOfHotFields, type RedisKeys } from './redis-keys.js';
import type { MetricValues, Sums } from './types.js';
import { projectPath } from '../config/project-root.js';

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

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    sumRanges(numberOfKeys: number, ...args: Array<string | number>): Result<number[], Context>;
  }
}

const SUM_RANGES_LUA = readFileSync(projectPath('stream/lua/sum-ranges.lua'), 'utf8');
const withScript = new WeakSet<object>();
/** ranges per script call: one call's work stays short for Redis, which runs nothing else meanwhile */
const RANGES_PER_CALL = 200;
const SPLIT = 1_000_000_000n;

/**
 * Reads many (scope, range) windows from the hot buckets: per stream partition, Redis sums each
 * range's buckets itself (sum-ranges.lua; the keys of a partition share one slot, so on a cluster
 * each call goes to the node that holds them), all partitions at once. Each range is split into
 * hourly, minute and 10 s buckets; unique users are each partition's HyperLogLog union of the same
 * buckets, added up over the partitions (a customer's events all go to one partition).
 */
export async function readHotWindows(redis: Redis, keys: RedisKeys, ranges: HotRange[], moneyScale: number): Promise<MetricValues[]> {
  if (!withScript.has(redis)) {
    redis.defineCommand('sumRanges', { lua: SUM_RANGES_LUA });
    withScript.add(redis);
  }
  const partsOf = ranges.map((range) => decomposeRange(range.from, range.to));
  const perPartition = await Promise.all(keys.partitions.map(async (partition) => {
    const pipeline = redis.pipeline();
    for (let first = 0; first < ranges.length; first += RANGES_PER_CALL) {
      const callKeys: string[] = [];
      const args: Array<string | number> = [Math.min(RANGES_PER_CALL, ranges.length - first)];
      ranges.slice(first, first + RANGES_PER_CALL).forEach((range, i) => {
        const parts = partsOf[first + i]!;
        for (const part of parts) callKeys.push(partition.bucket(part.levelMs, part.start, range.scope));
        if (range.users !== false) for (const part of parts) callKeys.push(partition.users(part.levelMs, part.start, range.scope));
        args.push(parts.length, range.users !== false ? 1 : 0);
      });
      pipeline.sumRanges(callKeys.length, ...callKeys, ...args);
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([err, values]) => {
      if (err) throw err;
      return values as number[];
    });
  }));
  return ranges.map((range, r) => {
    // exact in BigInt; only the answer is a JSON number (exact below 2^53 units, else the nearest double)
    const fields = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
    let uniqueUsers = 0;
    for (const values of perPartition) {
      const at = r * 17;
      for (let f = 0; f < 8; f++) fields[f]! += BigInt(values[at + f * 2]!) * SPLIT + BigInt(values[at + f * 2 + 1]!);
      uniqueUsers += values[at + 16]!;
    }
    const units = sumsOfHotFields(fields.map(String));
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
