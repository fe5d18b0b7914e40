// Failed logins are limited per user + IP and per IP, with the counters in Redis so every server
// agrees; a success clears its user + IP counter. While Redis is away each server limits on its
// own (in memory) rather than letting guesses through or refusing every login.
// The per-IP block does not hold back a user who signed in successfully from that address in the
// last 30 days: behind a proxy (or a NAT) many people share one address, and one person guessing
// must not lock all of them out. Their own per user + IP limit still applies.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginLimits {
  /** failed attempts of one username from one IP … */
  perUserIp: number;
  /** … and from one IP for any usernames, within `windowSeconds`; then blocked for `windowSeconds` */
  perIp: number;
  windowSeconds: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perUserIp: 5, perIp: 50, windowSeconds: 900 };
const KNOWN_FOR_SECONDS = 30 * 86_400;

function limiter(redis: Redis, keyPrefix: string, points: number, seconds: number) {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration: seconds, blockDuration: seconds });
  return new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: seconds, blockDuration: seconds, insuranceLimiter: memory });
}

export function createLoginLimiter(redis: Redis, keyPrefix: string, limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
  const byUserIp = limiter(redis, `${keyPrefix}login:user-ip`, limits.perUserIp, limits.windowSeconds);
  const byIp = limiter(redis, `${keyPrefix}login:ip`, limits.perIp, limits.windowSeconds);
  const userIpKey = (username: string, ip: string) => `${username.toLowerCase()}|${ip}`;
  const knownKey = (username: string, ip: string) => `${keyPrefix}login:known:${userIpKey(username, ip)}`;
  const isKnown = async (username: string, ip: string) => (await redis.exists(knownKey(username, ip)).catch(() => 0)) === 1;

  return {
    /** seconds until this user may try again from this IP; 0 = may try now */
    async retryAfter(username: string, ip: string): Promise<number> {
      const [user, address] = await Promise.all([byUserIp.get(userIpKey(username, ip)), byIp.get(ip)]);
      const wait = (res: RateLimiterRes | null, points: number) => (res && res.consumedPoints >= points ? res.msBeforeNext : 0);
      const addressWait = wait(address, limits.perIp);
      const ipWait = addressWait > 0 && (await isKnown(username, ip)) ? 0 : addressWait;
      return Math.ceil(Math.max(wait(user, limits.perUserIp), ipWait) / 1000);
    },
    async failed(username: string, ip: string): Promise<void> {
      // a rejection here only means the limit is now reached; the next attempt is refused by retryAfter
      await Promise.allSettled([byUserIp.consume(userIpKey(username, ip)), byIp.consume(ip)]);
    },
    async succeeded(username: string, ip: string): Promise<void> {
      await byUserIp.delete(userIpKey(username, ip)).catch(() => false);
      await redis.set(knownKey(username, ip), '1', 'EX', KNOWN_FOR_SECONDS).catch(() => null);
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
