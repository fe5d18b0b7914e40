import { readFileSync } from 'node:fs';
import type { ClientContext, Redis, Result } from 'ioredis';
import { HOUR } from './buckets.js';
import type { HotDelta } from './aggregate.js';
import { hotFieldValues, type PartitionKeys } from './redis-keys.js';
import { SUM_FIELDS } from './types.js';
import { projectPath } from '../config/project-root.js';

const APPLY_ENTRY_LUA = readFileSync(projectPath('stream/lua/apply-entry.lua'), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    applyEntry(stream: string, dirty: string, settled: string, ...args: Array<string | number>): Result<number, Context>;
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

/** The argument list of apply-entry.lua for one entry's delta. */
export function applyEntryArgs(group: string, partition: PartitionKeys, entryId: string, delta: HotDelta, hotRetentionMs: number): Array<string | number> {
  const args: Array<string | number> = [group, entryId, partition.prefix, hotRetentionMs, delta.sums.size];
  for (const [key, sums] of delta.sums) {
    const [bucket, scope] = splitDeltaKey(key);
    args.push(scope, bucket);
    args.push(...hotFieldValues(SUM_FIELDS.map((field) => sums[field])));
  }
  args.push(delta.users.size);
  for (const [key, users] of delta.users) {
    const [bucket, scope] = splitDeltaKey(key);
    args.push(scope, bucket, users.length, ...users);
  }
  args.push(delta.scopes.size, ...delta.scopes);
  return args;
}

function splitDeltaKey(key: string): [string, string] {
  const bar = key.indexOf('|');
  return [key.slice(0, bar), key.slice(bar + 1)];
}
