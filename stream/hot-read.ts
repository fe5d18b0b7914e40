import { readFileSync } from 'node:fs';
import type { ClientContext, Redis, Result } from 'ioredis';
import { MINUTE, floorTo } from './buckets.js';
import { deriveMetrics } from './derive.js';
import { sumsOfHotFields, type PartitionKeys, type RedisKeys } from './redis-keys.js';
import type { MetricValues, Sums } from './types.js';
import { projectPath } from '../config/project-root.js';

export interface HotRange {
  scope: string;
  from: number;
  to: number;
  /** count unique users (a HyperLogLog union over the range's buckets); default true, else 0 */
  users?: boolean;
  /**
   * the range's start stays put while it is read again and again (today's): with a SettledSums,
   * the sum of its settled part is kept and only the time since is read (its users still whole)
   */
  keepSettled?: boolean;
}

/** Currency from integer units: whole and fraction converted apart, so the result is the double nearest the exact sum. */
export function moneyOfUnits(units: bigint, moneyScale: number): number {
  const scale = BigInt(moneyScale);
  return Number(`${units / scale}.${String(units % scale).padStart(String(moneyScale).length - 1, '0')}`);
}

const isStoreScope = (scope: string) => scope.startsWith('s:') || scope.startsWith('sc:');

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    sumRanges(numberOfKeys: number, ...args: Array<string | number>): Result<string, Context>;
  }
}

const SUM_RANGES_LUA = readFileSync(projectPath('stream/lua/sum-ranges.lua'), 'utf8');
const withScript = new WeakSet<object>();
/** ranges per script call: one call's work stays short for Redis, which runs nothing else meanwhile */
const RANGES_PER_CALL = 200;
const SPLIT = 1_000_000_000n;

/** time that ended this long ago by the reader's clock is settled: its sum is kept */
const SETTLED_AFTER_MS = 60_000;
/**
 * ... and by Redis's clock at least this long ago, else nothing is kept (a clock far off): a write
 * into time settled this long is counted in the settled hash (apply-entry.lua, LATE_MS 20 s)
 */
const SETTLED_MARGIN_MS = 40_000;
/** a range with less settled time than this is read whole */
const MIN_SETTLED_MS = 10 * MINUTE;
/** kept sums at most; past it they are all dropped (a day's new starts replace the old) */
const MAX_SETTLED = 20_000;

interface Kept {
  epoch: string;
  changes: number;
  to: number;
  fields: bigint[];
}

/**
 * Sums of the settled part of ranges whose start stays put, per partition and scope: a reader
 * that reads the same day again and again (the push loop) reads only the time since. Valid while
 * the partition's settled hash keeps its epoch and the scope's count of writes into settled time.
 */
export function createSettledSums() {
  return new Map<string, Kept>();
}
export type SettledSums = ReturnType<typeof createSettledSums>;

/** A part of a read: a span of one scope, summed (mode 0), summed with its users (1), or users only (2). */
interface Segment {
  scope: string;
  from: number;
  to: number;
  mode: 0 | 1 | 2;
}
interface SegmentValue {
  fields: bigint[];
  users: number;
}
interface PartitionRead {
  epoch: string;
  nowMs: number;
  changes: Map<string, number>;
  values: SegmentValue[];
}

const zeroFields = () => [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
const addFields = (into: bigint[], more: bigint[]) => {
  for (let f = 0; f < 8; f++) into[f]! += more[f]!;
  return into;
};

/** One partition's segments, in calls of RANGES_PER_CALL; the first call also reads the changes of `scopes`. */
async function readPartition(redis: Redis, partition: PartitionKeys, segments: Segment[], scopes: string[]): Promise<PartitionRead> {
  const pipeline = redis.pipeline();
  for (let first = 0; first === 0 || first < segments.length; first += RANGES_PER_CALL) {
    const asked = first === 0 ? scopes : [];
    const chunk = segments.slice(first, first + RANGES_PER_CALL);
    const args: Array<string | number> = [partition.prefix, asked.length, ...asked, chunk.length];
    for (const segment of chunk) args.push(segment.scope, segment.from, segment.to, segment.mode);
    pipeline.sumRanges(1, partition.settled, ...args);
  }
  const replies = (await pipeline.exec()) ?? [];
  const read: PartitionRead = { epoch: '', nowMs: 0, changes: new Map(), values: [] };
  replies.forEach(([err, reply], call) => {
    if (err) throw err;
    const values = (reply as string).split(' ');
    let at = 2;
    if (call === 0) {
      read.epoch = String(values[0]);
      read.nowMs = Number(values[1]);
      for (const scope of scopes) read.changes.set(scope, Number(values[at++]));
    }
    for (; at < values.length; at += 17) {
      const fields = zeroFields();
      for (let f = 0; f < 8; f++) {
        const [high, low] = [values[at + f * 2]!, values[at + f * 2 + 1]!];
        // most fields of most ranges are zero: no BigInt made for them
        fields[f] = high === '0' ? (low === '0' ? 0n : BigInt(low)) : BigInt(high) * SPLIT + BigInt(low);
      }
      read.values.push({ fields, users: Number(values[at + 16]) });
    }
  });
  return read;
}

/** How one range is put together from the segments of its partition's read. */
interface RangePlan {
  /** segments whose sums add up to the range (with the kept sum, if valid) */
  sums: number[];
  /** the segment whose users are the range's */
  users: number | null;
  keep?: { key: string; scope: string; from: number; kept: Kept | undefined; settledAt: number | null; settledTo: number };
}

/**
 * One partition's ranges: what `settled` keeps for them is used while still valid, and what a read
 * found settled is kept; a range whose kept sum went stale is read again from its start.
 */
async function readPartitionRanges(redis: Redis, partition: PartitionKeys, ranges: HotRange[], settled: SettledSums | undefined, nowMs: number): Promise<SegmentValue[]> {
  const settledTo = floorTo(nowMs - SETTLED_AFTER_MS, MINUTE);
  const segments: Segment[] = [];
  const scopes = new Set<string>();
  const add = (segment: Segment) => segments.push(segment) - 1;
  const plans: RangePlan[] = ranges.map((range) => {
    const users = range.users !== false;
    if (!settled || !range.keepSettled || range.to < settledTo || settledTo - range.from < MIN_SETTLED_MS) {
      const at = add({ scope: range.scope, from: range.from, to: range.to, mode: users ? 1 : 0 });
      return { sums: [at], users: users ? at : null };
    }
    scopes.add(range.scope);
    const key = `${partition.index}|${range.scope}|${range.from}`;
    const kept = settled.get(key);
    const usable = kept && kept.to <= settledTo ? kept : undefined;
    const settledFrom = usable?.to ?? range.from;
    const settledAt = settledFrom < settledTo ? add({ scope: range.scope, from: settledFrom, to: settledTo, mode: 0 }) : null;
    const sums = [settledAt, range.to > settledTo ? add({ scope: range.scope, from: settledTo, to: range.to, mode: 0 }) : null].filter((i): i is number => i !== null);
    return { sums, users: users ? add({ scope: range.scope, from: range.from, to: range.to, mode: 2 }) : null, keep: { key, scope: range.scope, from: range.from, kept: usable, settledAt, settledTo } };
  });
  const read = await readPartition(redis, partition, segments, [...scopes]);

  // kept sums the read found stale: their settled time is read again, whole
  const stale = plans.flatMap(({ keep }) => (keep?.kept && (keep.kept.epoch !== read.epoch || keep.kept.changes !== read.changes.get(keep.scope)) ? [keep] : []));
  const again = stale.length
    ? await readPartition(redis, partition, stale.map(({ scope, from, settledTo }) => ({ scope, from, to: settledTo, mode: 0 as const })), [...new Set(stale.map((keep) => keep.scope))])
    : null;
  const againAt = new Map(stale.map((keep, i) => [keep, i]));
  if (settled && settled.size > MAX_SETTLED) settled.clear();

  return plans.map((plan) => {
    const fields = zeroFields();
    for (const at of plan.sums) addFields(fields, read.values[at]!.fields);
    const users = plan.users === null ? 0 : read.values[plan.users]!.users;
    if (!plan.keep || !settled) return { fields, users };
    const { key, scope, kept, settledAt, settledTo } = plan.keep;
    const redo = againAt.get(plan.keep);
    let settledFields: bigint[];
    let source: PartitionRead;
    if (redo !== undefined) {
      // the stale kept sum and the new settled time are both replaced by the whole settled time
      settledFields = again!.values[redo]!.fields;
      if (settledAt !== null) for (let f = 0; f < 8; f++) fields[f]! -= read.values[settledAt]!.fields[f]!;
      addFields(fields, settledFields);
      source = again!;
    } else {
      settledFields = addFields(kept ? [...kept.fields] : zeroFields(), settledAt === null ? zeroFields() : read.values[settledAt]!.fields);
      if (kept) addFields(fields, kept.fields);
      source = read;
    }
    if (source.nowMs - settledTo >= SETTLED_MARGIN_MS) settled.set(key, { epoch: source.epoch, changes: source.changes.get(scope) ?? 0, to: settledTo, fields: settledFields });
    else settled.delete(key);
    return { fields, users };
  });
}

/**
 * Reads many (scope, range) windows from the hot buckets: per stream partition, Redis sums each
 * range's buckets itself (sum-ranges.lua; the keys of a partition share one slot, so on a cluster
 * each call goes to the node that holds them), all partitions at once. The script splits each range into
 * hourly, minute and 10 s buckets; unique users are each partition's HyperLogLog union of the same
 * buckets, added up over the partitions (a customer's events all go to one partition). With
 * `settled`, ranges marked keepSettled read only the time since their kept settled sum.
 */
export async function readHotWindows(redis: Redis, keys: RedisKeys, ranges: HotRange[], moneyScale: number, settled?: SettledSums): Promise<MetricValues[]> {
  if (!withScript.has(redis)) {
    redis.defineCommand('sumRanges', { lua: SUM_RANGES_LUA });
    withScript.add(redis);
  }
  const nowMs = Date.now();
  const perPartition = await Promise.all(keys.partitions.map((partition) => readPartitionRanges(redis, partition, ranges, settled, nowMs)));
  return ranges.map((range, r) => {
    // exact in BigInt; only the answer is a JSON number (exact below 2^53 units, else the nearest double)
    const fields = zeroFields();
    let uniqueUsers = 0;
    for (const values of perPartition) {
      addFields(fields, values[r]!.fields);
      uniqueUsers += values[r]!.users;
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
