import type { Pipeline } from '../config/load.js';

/** Every Redis key the app uses, under one prefix (tests give each file its own). */
export function redisKeys(prefix: string, pipeline: Pipeline) {
  return {
    prefix,
    stream: `${prefix}${pipeline.stream.name}`,
    deadLetter: `${prefix}${pipeline.stream.deadLetter}`,
    group: pipeline.stream.group,
    /** scopes whose hot buckets changed since the push loop last looked */
    dirty: `${prefix}dirty`,
    /** present while the hot buckets are known to mirror the database */
    hotEpoch: `${prefix}hot:epoch`,
    /** screen views (hot scope keys) with subscribers on some server → last time a server saw them */
    screenViews: `${prefix}screen:views`,
    /** held by the one server that computes and emits the screen frames */
    pushLeader: `${prefix}lock:push`,
    processorStats: (consumer: string) => `${prefix}stats:processor:${consumer}`,
    /** names of processors that publish stats (their stats keys expire when they stop) */
    processorIndex: `${prefix}stats:processors`,
    bucket: (levelMs: number, start: number, scope: string) => `${prefix}h:${levelMs}:${start}:${scope}`,
    users: (levelMs: number, start: number, scope: string) => `${prefix}u:${levelMs}:${start}:${scope}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

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
