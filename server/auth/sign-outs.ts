// "Sign out everywhere": when each user was last signed out by an admin, kept in Redis so every
// server refuses the older sessions at once. A read that fails (Redis away) falls back to the
// last value this server saw, so an outage neither signs everyone out nor forgets a sign-out.
import type { Redis } from 'ioredis';

export interface SignOuts {
  /** epoch ms of the user's last sign-out everywhere; 0 if never */
  signedOutAt(username: string): Promise<number>;
  signOut(username: string, at?: number): Promise<number>;
}

export function createSignOuts(redis: Redis, keyPrefix: string): SignOuts {
  const key = `${keyPrefix}auth:signed-out`;
  const lastSeen = new Map<string, number>();
  return {
    async signedOutAt(username) {
      try {
        const at = Number((await redis.hget(key, username)) ?? 0);
        lastSeen.set(username, at);
        return at;
      } catch {
        return lastSeen.get(username) ?? 0;
      }
    },
    async signOut(username, at = Date.now()) {
      await redis.hset(key, username, String(at));
      lastSeen.set(username, at);
      return at;
    },
  };
}
