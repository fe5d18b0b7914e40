import type { Redis } from 'ioredis';
import type { Pipeline } from '../config/load.js';
import { isClusterUrl, type StoreSettings } from './connect.js';

/**
 * The keys of one stream partition: its stream, its dead letters, and the hot buckets and dirty set
 * its processors write. On a cluster (or with several partitions) they share the hash tag `{p<i>}`,
 * so one slot holds them all and apply-entry.lua stays atomic with its acknowledgement.
 */
export function partitionKeys(prefix: string, pipeline: Pipeline, index: number, tagged: boolean) {
  const at = tagged ? `${prefix}{p${index}}` : prefix;
  return {
    index,
    /** what apply-entry.lua puts before `h:`/`u:` */
    prefix: at,
    stream: `${at}${pipeline.stream.name}`,
    deadLetter: `${at}${pipeline.stream.deadLetter}`,
    /** scopes whose hot buckets changed since the push loop last looked */
    dirty: `${at}dirty`,
    /** scope → how often a write landed in its settled time; '#epoch' names this hash's life (hot-read.ts) */
    settled: `${at}settled`,
    bucket: (levelMs: number, start: number, scope: string) => `${at}h:${levelMs}:${start}:${scope}`,
    users: (levelMs: number, start: number, scope: string) => `${at}u:${levelMs}:${start}:${scope}`,
  };
}

export type PartitionKeys = ReturnType<typeof partitionKeys>;

/**
 * Every Redis key the app uses, under one prefix (tests give each file its own). The stream and the
 * hot buckets are split into `pipeline.stream.partitions` partitions; a customer's events always go
 * to the same one, so each partition's unique users are disjoint from the others' and add up.
 * A single partition on a single Redis keeps the untagged names of earlier versions.
 */
export function redisKeys(prefix: string, pipeline: Pipeline, options: { cluster?: boolean } = {}) {
  const count = pipeline.stream.partitions;
  const tagged = count > 1 || options.cluster === true;
  const partitions = Array.from({ length: count }, (_, i) => partitionKeys(prefix, pipeline, i, tagged));
  return {
    prefix,
    partitions,
    /** the partition the keys of other writers (reconciliation, new-user counts) go to */
    first: partitions[0]!,
    group: pipeline.stream.group,
    /** present while the hot buckets are known to mirror the database */
    hotEpoch: `${prefix}hot:epoch`,
    /** screen views (hot scope keys) with subscribers on some server → last time a server saw them */
    screenViews: `${prefix}screen:views`,
    /** held by the one server that computes and emits the screen frames */
    pushLeader: `${prefix}lock:push`,
    processorStats: (consumer: string) => `${prefix}stats:processor:${consumer}`,
    /** names of processors that publish stats (their stats keys expire when they stop) */
    processorIndex: `${prefix}stats:processors`,
  };
}

/** FNV-1a: the partition of a customer (or of an event without one, by its id). Every writer must use it. */
export function partitionOf(key: string, partitions: number): number {
  if (partitions === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** The keys of a deployment's stores: tagged by partition when REDIS_URL names a cluster. */
export const keysOfStores = (stores: StoreSettings, pipeline: Pipeline): RedisKeys =>
  redisKeys(stores.redisPrefix, pipeline, { cluster: isClusterUrl(stores.redisUrl) });

/** One number read from every partition (one command each: on a cluster they sit in different slots), added up. */
export async function sumOverPartitions(keys: RedisKeys, read: (partition: PartitionKeys) => Promise<number>): Promise<number> {
  return (await Promise.all(keys.partitions.map(read))).reduce((a, b) => a + b, 0);
}

/** Stream entries not yet processed, over every partition. */
export const streamBacklog = (redis: Redis, keys: RedisKeys): Promise<number> => sumOverPartitions(keys, (p) => redis.xlen(p.stream));

/**
 * Hash fields of a hot bucket, in the order the Lua scripts expect. Money is wider than Redis'
 * 64-bit integers can hold (a bucket may take 10^14 units per event for 48 h), so each money sum is
 * kept as `<field>` (units below HOT_MONEY_BASE) plus `<field>:hi` (how many HOT_MONEY_BASEs):
 * apply-entry.lua carries from one to the other. Counts cannot reach 2^63 in a bucket (see README).
 */
export const HOT_FIELDS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'revenue:hi', 'spend:hi'] as const;

/** 10^15 units: a low part plus one increment below it stays under 2^53, exact in Lua's doubles. */
export const HOT_MONEY_BASE = 10n ** 15n;

/** The hot fields' values (strings, as Redis takes them) for six exact sums. */
export function hotFieldValues(sums: readonly bigint[]): string[] {
  const [exposure, clicks, visits, conversions, revenue, spend] = sums as [bigint, bigint, bigint, bigint, bigint, bigint];
  return [exposure, clicks, visits, conversions, revenue % HOT_MONEY_BASE, spend % HOT_MONEY_BASE, revenue / HOT_MONEY_BASE, spend / HOT_MONEY_BASE]
    .map(String);
}

/** The six exact sums a hot bucket's fields (HMGET order, missing = 0) hold. */
export function sumsOfHotFields(values: ReadonlyArray<string | null>): bigint[] {
  const n = (i: number) => (values[i] == null ? 0n : BigInt(values[i]!));
  return [n(0), n(1), n(2), n(3), n(4) + n(6) * HOT_MONEY_BASE, n(5) + n(7) * HOT_MONEY_BASE];
}
