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

/** Hash fields of a hot bucket, in the order the Lua scripts expect. */
export const HOT_FIELDS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend'] as const;
