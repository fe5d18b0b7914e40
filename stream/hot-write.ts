import { readFileSync } from 'node:fs';
import type { ClientContext, Redis, Result } from 'ioredis';
import { HOUR } from './buckets.js';
import type { HotDelta } from './aggregate.js';
import { hotFieldValues, type PartitionKeys } from './redis-keys.js';
import { SUM_FIELDS } from './types.js';
import { packStrings } from './msgpack-strings.js';
import { projectPath } from '../config/project-root.js';

const APPLY_ENTRY_LUA = readFileSync(projectPath('stream/lua/apply-entry.lua'), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    applyEntry(stream: string, dirty: string, settled: string, ...args: Array<string | number | Buffer>): Result<number, Context>;
  }
}

export function defineHotScripts(redis: Redis): void {
  redis.defineCommand('applyEntry', { numberOfKeys: 3, lua: APPLY_ENTRY_LUA });
}

/** How long a hot bucket lives past its start: the hourly level must cover a full 24 h window.
 *  apply-entry.lua applies the same rule (EXTRA) when it creates buckets. */
export function hotExpireAtSec(levelMs: number, start: number, hotRetentionMs: number): number {
  const keep = hotRetentionMs + (levelMs === HOUR ? 2 * HOUR : 10 * 60_000);
  return Math.ceil((start + levelMs + keep) / 1000);
}

/**
 * The argument list of apply-entry.lua for one entry's delta: the delta itself is one MessagePack
 * argument, [hashes, hlls, scopes] with hashes = flat (scope, bucketStart, 8 fields) × H,
 * hlls = [scope, bucketStart, user…] × U and scopes = the scopes changed, all strings.
 */
export function applyEntryArgs(group: string, partition: PartitionKeys, entryId: string, delta: HotDelta, hotRetentionMs: number): Array<string | number | Buffer> {
  const hashes: string[] = [];
  const hlls: string[][] = [];
  for (const { bucket, scope, sums, users } of delta.increments) {
    const start = String(bucket);
    hashes.push(scope, start, ...hotFieldValues(SUM_FIELDS.map((field) => sums[field])));
    if (users.length) hlls.push([scope, start, ...users]);
  }
  return [group, entryId, partition.prefix, hotRetentionMs, packStrings([hashes, hlls, [...delta.scopes]])];
}
