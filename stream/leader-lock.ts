// A Redis lock with an owner token: held while renewed, released only by its owner, taken over
// by another server once it lapses. Used wherever one server of several must do a thing alone.

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface LeaderLock {
  /** true while this process holds the lock (takes it when free, renews it when held) */
  holdOrTake(): Promise<boolean>;
  release(): Promise<void>;
}

export function leaderLock(redis: Redis, key: string, ttlMs: number): LeaderLock {
  const token = randomUUID();
  let held = false;
  return {
    async holdOrTake() {
      try {
        if (held && Number(await redis.eval(RENEW, 1, key, token, ttlMs)) === 1) return true;
        held = (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
      } catch {
        held = false;
      }
      return held;
    },
    async release() {
      if (held) await redis.eval(RELEASE, 1, key, token).catch(() => {});
      held = false;
    },
  };
}
