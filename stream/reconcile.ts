// Heals the hot (Redis) buckets from the database, the source of truth.
//
// Why it cannot race the processors: a bucket is only corrected when its rows have not changed in
// the database for `settle` (so no processor sits between its commit and its Redis apply for it),
// Redis is read *before* the database, and the write is a compare-and-set against what was read.
// A stuck entry (pending longer than settle/2, e.g. a killed processor not yet replaced) postpones
// the whole run, since its delta may still be applied on redelivery.

import { readFileSync } from 'node:fs';
import type { ClientContext, Redis, Result } from 'ioredis';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/load.js';
import { BUCKET_MS, HOUR, MINUTE, ceilTo, floorTo } from './buckets.js';
import { hotExpireAtSec } from './hot-write.js';
import { HOT_FIELDS, hotFieldValues, partitionOf, sumsOfHotFields, type RedisKeys } from './redis-keys.js';
import { scopeKeyOf } from './scopes.js';
import { SUM_FIELDS, type Scope } from './types.js';
import { projectPath } from '../config/project-root.js';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    reconcileBucket(hash: string, dirty: string, settled: string, ...args: Array<string | number>): Result<number, Context>;
  }
}

const RECONCILE_LUA = readFileSync(projectPath('stream/lua/reconcile-bucket.lua'), 'utf8');

export function defineReconcileScript(redis: Redis): void {
  redis.defineCommand('reconcileBucket', { numberOfKeys: 3, lua: RECONCILE_LUA });
}

interface DbBucket {
  scope: string;
  start: number;
  /** the database's six exact sums (money in units) */
  units: bigint[];
  settled: boolean;
}

const GROUPING = `GROUPING SETS ((t), (t, region), (t, store), (t, channel), (t, region, channel), (t, store, channel), (t, campaign))`;

/** The hot scope a grouping-sets row stands for, or null for a set whose dimension is empty. */
function scopeOfRow(row: { grp: number } & Record<'channel' | 'region' | 'store' | 'campaign', string | null>): string | null {
  // GROUPING(channel, region, store, campaign): a bit is set for each column NOT grouped
  const scope: Scope = {};
  for (const [dimension, bit] of [['channel', 8], ['region', 4], ['store', 2], ['campaign', 1]] as const) {
    if (row.grp & bit) continue;
    if (!row[dimension]) return null;
    scope[dimension] = row[dimension];
  }
  return scopeKeyOf(scope);
}

async function databaseBuckets(pool: Pool, levelMs: number, from: number, to: number, scale: number, settledBefore: number): Promise<DbBucket[]> {
  const { rows } = await pool.query(
    `SELECT t, channel, region, store, campaign, GROUPING(channel, region, store, campaign) AS grp,
            sum(exposure)::text AS exposure, sum(clicks)::text AS clicks, sum(visits)::text AS visits, sum(conversions)::text AS conversions,
            round(sum(revenue) * $4)::text AS revenue, round(sum(spend) * $4)::text AS spend, max(updated_at) AS updated
     FROM (SELECT date_bin($1::interval, bucket, 'epoch'::timestamptz) AS t, * FROM rollup_10s WHERE bucket >= $2 AND bucket < $3) x
     GROUP BY ${GROUPING}`,
    [`${levelMs / 1000} seconds`, new Date(from).toISOString(), new Date(to).toISOString(), scale],
  );
  const buckets: DbBucket[] = [];
  for (const row of rows) {
    const scope = scopeOfRow(row);
    if (!scope) continue;
    // numeric text, exact however large: the sums stay BigInt until they are split into hot fields
    const units = SUM_FIELDS.map((f) => BigInt(row[f] as string));
    buckets.push({ scope, start: row.t.getTime(), units, settled: row.updated.getTime() < settledBefore });
  }
  return buckets;
}

/** A hot bucket's name in the maps that line the database's buckets up with Redis's. */
const bucketKey = (start: number, scope: string) => `${start}|${scope}`;

async function databaseUsers(pool: Pool, levelMs: number, from: number, to: number): Promise<Map<string, string[]>> {
  const { rows } = await pool.query(
    `SELECT t, channel, region, store, campaign, GROUPING(channel, region, store, campaign) AS grp, array_agg(DISTINCT user_id) AS users
     FROM (SELECT date_bin($1::interval, ts, 'epoch'::timestamptz) AS t, channel, coalesce(region, '') AS region,
                  coalesce(store, '') AS store, coalesce(campaign, '') AS campaign, user_id
           FROM events WHERE ts >= $2 AND ts < $3 AND user_id IS NOT NULL) x
     GROUP BY ${GROUPING}`,
    [`${levelMs / 1000} seconds`, new Date(from).toISOString(), new Date(to).toISOString()],
  );
  const users = new Map<string, string[]>();
  for (const row of rows) {
    const scope = scopeOfRow(row);
    if (scope) users.set(bucketKey(row.t.getTime(), scope), row.users);
  }
  return users;
}

export interface ReconcileResult {
  skipped?: string;
  checked: number;
  corrected: number;
}

/**
 * Compares one level over [from, to); returns the starts of the (scope-independent) ranges that were
 * wrong. Unique users are refilled in the buckets that were wrong or, with `refillAllUsers` (the
 * finer levels of a range found wrong), in every settled bucket: sums that survived a loss say
 * nothing of the HyperLogLogs beside them.
 */
async function reconcileLevel(
  redis: Redis, pool: Pool, keys: RedisKeys, cfg: AppConfig, levelMs: number, from: number, to: number, now: number, result: ReconcileResult,
  refillAllUsers = false,
): Promise<Set<number>> {
  const scale = 10 ** cfg.pipeline.events.valueDecimals;
  const settledBefore = now - cfg.pipeline.reconcile.settle;
  const hotRetention = cfg.pipeline.windows.hotRetention;
  const listed = await databaseBuckets(pool, levelMs, from, to, scale, settledBefore);
  const candidates = listed.filter((b) => b.settled);
  if (!candidates.length) return new Set();

  // Redis first (every partition's part of each bucket), then the database again: see the ordering argument at the top of this file
  const perPartition = await Promise.all(keys.partitions.map(async (partition) => {
    const read = redis.pipeline();
    for (const b of candidates) read.hmget(partition.bucket(levelMs, b.start, b.scope), ...HOT_FIELDS);
    return ((await read.exec()) ?? []).map(([err, values]) => {
      if (err) throw err;
      return (values as Array<string | null>).map((v) => v ?? '0');
    });
  }));
  const fresh = new Map((await databaseBuckets(pool, levelMs, from, to, scale, settledBefore)).map((b) => [bucketKey(b.start, b.scope), b]));

  // a wrong total is corrected in the first partition's part: it becomes the database's sums minus the other parts
  const wrong: Array<{ bucket: DbBucket; expected: string[]; wanted: string[] }> = [];
  candidates.forEach((b, i) => {
    const current = fresh.get(bucketKey(b.start, b.scope));
    result.checked++;
    if (!current?.settled) return;
    const parts = perPartition.map((values) => values[i]!);
    const others = [0n, 0n, 0n, 0n, 0n, 0n];
    for (const part of parts.slice(1)) sumsOfHotFields(part).forEach((v, f) => { others[f]! += v; });
    const total = sumsOfHotFields(parts[0]!).map((v, f) => v + others[f]!);
    if (total.every((v, f) => v === current.units[f])) return;
    wrong.push({ bucket: current, expected: parts[0]!, wanted: hotFieldValues(current.units.map((v, f) => v - others[f]!)) });
  });
  const refill = refillAllUsers ? candidates.map((b) => fresh.get(bucketKey(b.start, b.scope))).filter((b): b is DbBucket => !!b?.settled) : wrong.map((w) => w.bucket);
  await refillUsers(redis, pool, keys, levelMs, hotRetention, refill);
  if (!wrong.length) return new Set();

  const first = keys.first;
  const write = redis.pipeline();
  for (const { bucket, expected, wanted } of wrong) {
    write.reconcileBucket(first.bucket(levelMs, bucket.start, bucket.scope), first.dirty, first.settled,
      hotExpireAtSec(levelMs, bucket.start, hotRetention), bucket.scope, ...expected, ...wanted);
  }
  const written = (await write.exec()) ?? [];
  result.corrected += written.filter(([, ok]) => ok === 1).length;
  return new Set(wrong.map((w) => w.bucket.start));
}

/** Unique users: adding the true members to a HyperLogLog is always safe (each to its customer's partition). */
async function refillUsers(redis: Redis, pool: Pool, keys: RedisKeys, levelMs: number, hotRetention: number, buckets: DbBucket[]): Promise<void> {
  if (!buckets.length) return;
  const users = await databaseUsers(pool, levelMs, Math.min(...buckets.map((b) => b.start)), Math.max(...buckets.map((b) => b.start)) + levelMs);
  const hll = keys.partitions.map(() => redis.pipeline());
  for (const bucket of buckets) {
    const members = users.get(bucketKey(bucket.start, bucket.scope));
    if (!members?.length) continue;
    const byPartition = keys.partitions.map(() => [] as string[]);
    for (const member of members) byPartition[partitionOf(member, keys.partitions.length)]!.push(member);
    byPartition.forEach((list, p) => {
      if (!list.length) return;
      const key = keys.partitions[p]!.users(levelMs, bucket.start, bucket.scope);
      for (let i = 0; i < list.length; i += 5000) hll[p]!.pfadd(key, ...list.slice(i, i + 5000));
      hll[p]!.expireat(key, hotExpireAtSec(levelMs, bucket.start, hotRetention));
    });
  }
  await Promise.all(hll.map((pipeline) => pipeline.exec()));
}

/**
 * Checks the last `lookback` of hot buckets against the database: hours first, then the minutes
 * and 10 s buckets of the hours that differ, correcting what is settled.
 *
 * Only buckets that lie wholly after the hot-retention cut are compared. The processor adds to
 * the hot buckets only the 10 s buckets that end after now − hotRetention (older late events are
 * in the database, not in Redis), so the hour that straddles the cut holds only its later part —
 * rightly, since nothing reads it whole. A bucket wholly after today's cut was after the cut
 * whenever its events arrived, so Redis must hold all of them: a difference there is a real drift.
 * The part of the straddling hour after the cut is checked minute by minute.
 */
export async function reconcileHotBuckets(redis: Redis, pool: Pool, keys: RedisKeys, cfg: AppConfig, now = Date.now()): Promise<ReconcileResult> {
  const result: ReconcileResult = { checked: 0, corrected: 0 };
  const { settle, lookback } = cfg.pipeline.reconcile;
  const stuck = await Promise.all(keys.partitions.map((p) => redis.call('XPENDING', p.stream, keys.group, 'IDLE', Math.floor(settle / 2), '-', '+', 1).catch(() => []) as Promise<unknown[]>));
  if (stuck.some((list) => list.length)) return { ...result, skipped: 'an entry has been pending too long; waiting for it to be claimed' };

  const oldest = Math.max(now - Math.min(lookback, cfg.pipeline.windows.hotRetention), 0);
  const to = floorTo(now, BUCKET_MS) + BUCKET_MS;
  const firstHour = ceilTo(oldest, HOUR);
  const wrongHours = await reconcileLevel(redis, pool, keys, cfg, HOUR, firstHour, to, now, result);
  for (const hour of wrongHours) {
    await reconcileLevel(redis, pool, keys, cfg, MINUTE, hour, Math.min(hour + HOUR, to), now, result, true);
    await reconcileLevel(redis, pool, keys, cfg, BUCKET_MS, hour, Math.min(hour + HOUR, to), now, result, true);
  }
  // the straddling hour's part after the cut: its whole minutes, and the 10 s buckets of those that differ
  const wrongMinutes = await reconcileLevel(redis, pool, keys, cfg, MINUTE, ceilTo(oldest, MINUTE), Math.min(firstHour, to), now, result);
  for (const minute of wrongMinutes) await reconcileLevel(redis, pool, keys, cfg, BUCKET_MS, minute, Math.min(minute + MINUTE, to), now, result, true);
  return result;
}
