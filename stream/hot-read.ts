import type { Redis } from 'ioredis';
import { decomposeRange } from './buckets.js';
import { deriveMetrics } from './derive.js';
import { HOT_FIELDS, type RedisKeys } from './redis-keys.js';
import type { MetricValues, Sums } from './types.js';

export interface HotRange {
  scope: string;
  from: number;
  to: number;
  /** count unique users (a HyperLogLog union over the range's buckets); default true, else 0 */
  users?: boolean;
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
    const units = [0, 0, 0, 0, 0, 0];
    for (let p = 0; p < partCounts[r]!; p++) {
      const [err, values] = replies[cursor++]!;
      if (err) throw err;
      (values as Array<string | null>).forEach((value, f) => {
        if (value !== null) units[f]! += Number(value);
      });
    }
    let uniqueUsers: unknown = 0;
    if (range.users !== false) {
      const [err, count] = replies[cursor++]!;
      if (err) throw err;
      uniqueUsers = count;
    }
    const sums: Sums = {
      exposure: units[0]!,
      clicks: units[1]!,
      visits: units[2]!,
      conversions: units[3]!,
      revenue: units[4]! / moneyScale,
      spend: units[5]! / moneyScale,
    };
    return deriveMetrics(sums, uniqueUsers as number, isStoreScope(range.scope));
  });
}
