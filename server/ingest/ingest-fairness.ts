// Fair share of the stream backlog between producers. Below three quarters of the backlog limit
// everyone writes freely. Above it, a producer (an ingest key) that wrote more than 1.5× its fair share
// of the entries of the last 10–20 s — shared by every producer that wrote then, and by at least
// one more that may come — is answered 429, so one flooding producer cannot take the room the
// others need: the last quarter of the backlog stays open to them. It gets back in as its share
// falls. The counts are in Redis, so every server judges alike.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const SLOT_MS = 10_000;
/** the share of the backlog bound past which producers are held to their fair share */
export const FAIR_SHARE_FROM = 0.75;
/** a producer may write up to this many times its fair share before it is held back */
const TOLERANCE = 1.5;

export interface IngestFairness {
  /** whether this key may write now, given the backlog */
  mayWrite(apiKey: string, backlog: number, maxBacklog: number): Promise<boolean>;
  /** counts entries this key wrote */
  wrote(apiKey: string, entries: number): Promise<void>;
}

/** A stable, non-secret name for an ingest key. */
export const producerId = (apiKey: string) => createHash('sha256').update(apiKey).digest('base64url').slice(0, 16);

export function createIngestFairness(redis: Redis, keyPrefix: string): IngestFairness {
  const slotKey = (slot: number) => `${keyPrefix}ingest:written:${slot}`;
  return {
    async mayWrite(apiKey, backlog, maxBacklog) {
      if (backlog < maxBacklog * FAIR_SHARE_FROM) return true;
      const slot = Math.floor(Date.now() / SLOT_MS);
      const [current, previous] = await Promise.all([redis.hgetall(slotKey(slot)), redis.hgetall(slotKey(slot - 1))]);
      const written = new Map<string, number>();
      for (const counts of [current, previous]) for (const [id, n] of Object.entries(counts)) written.set(id, (written.get(id) ?? 0) + Number(n));
      const total = [...written.values()].reduce((a, b) => a + b, 0);
      return (written.get(producerId(apiKey)) ?? 0) <= (TOLERANCE * total) / Math.max(2, written.size);
    },
    async wrote(apiKey, entries) {
      const key = slotKey(Math.floor(Date.now() / SLOT_MS));
      await redis.multi().hincrby(key, producerId(apiKey), entries).pexpire(key, 3 * SLOT_MS).exec();
    },
  };
}
