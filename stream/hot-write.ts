import { readFileSync } from 'node:fs';
import type { ClientContext, Redis, Result } from 'ioredis';
import { HOUR } from './buckets.js';
import type { HotDelta } from './aggregate.js';
import { HOT_FIELDS, hotFieldValues, type PartitionKeys } from './redis-keys.js';
import { SUM_FIELDS } from './types.js';
import { StringPacker } from './msgpack-strings.js';
import { projectPath } from '../config/project-root.js';

const APPLY_ENTRY_LUA = readFileSync(projectPath('stream/lua/apply-entry.lua'), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    applyEntries(stream: string, dirty: string, settled: string, ...args: Array<string | number | Buffer>): Result<number, Context>;
  }
}

export function defineHotScripts(redis: Redis): void {
  redis.defineCommand('applyEntries', { numberOfKeys: 3, lua: APPLY_ENTRY_LUA });
}

/** How long a hot bucket lives past its start: the hourly level must cover a full 24 h window.
 *  apply-entry.lua applies the same rule (EXTRA) when it creates buckets. */
export function hotExpireAtSec(levelMs: number, start: number, hotRetentionMs: number): number {
  const keep = hotRetentionMs + (levelMs === HOUR ? 2 * HOUR : 10 * 60_000);
  return Math.ceil((start + levelMs + keep) / 1000);
}

/**
 * The argument list of apply-entry.lua for some entries' summed delta: the delta itself is one MessagePack
 * argument, [hashes, hlls, scopes] with hashes = flat (scope, bucketStart, 8 fields) × H,
 * hlls = [scope, bucketStart, user…] × U and scopes = the scopes changed, all strings.
 */
export function applyEntriesArgs(group: string, partition: PartitionKeys, entryIds: readonly string[], delta: HotDelta, hotRetentionMs: number): Array<string | number | Buffer> {
  // written straight into the packer: no array of strings per increment
  const { increments } = delta;
  packer.array(3);
  packer.array(increments.length * (2 + HOT_FIELDS.length));
  for (const { bucket, scope, sums } of increments) {
    packer.string(scope);
    packer.string(String(bucket));
    for (const value of hotFieldValues(SUM_FIELDS.map((field) => sums[field]))) packer.string(value);
  }
  let hlls = 0;
  for (const increment of increments) if (increment.users.length) hlls++;
  packer.array(hlls);
  for (const { bucket, scope, users } of increments) {
    if (!users.length) continue;
    packer.array(2 + users.length);
    packer.string(scope);
    packer.string(String(bucket));
    for (const user of users) packer.string(user);
  }
  packer.array(delta.scopes.size);
  for (const scope of delta.scopes) packer.string(scope);
  return [group, entryIds.length, ...entryIds, partition.prefix, hotRetentionMs, packer.take()];
}

const packer = new StringPacker();
