import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_DATABASE_URL, createPool } from '../stream/connect.js';

const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const admin = new pg.Pool({ connectionString: url, max: 1 });
afterAll(() => admin.end());

/** The backend pids of `count` connections of `pool`, each held at once. */
async function backendsOf(pool: pg.Pool, count: number): Promise<number[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  try {
    return await Promise.all(clients.map(async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
  } finally {
    for (const client of clients) client.release();
  }
}

describe('a pool that keeps its connections open (the server\'s read pool)', () => {
  it('keeps them past the idle timeout, and replaces the ones PostgreSQL ends', async () => {
    const pool = createPool(url, 'public', { max: 3, keepOpen: true, idleTimeoutMs: 100 });
    const closing = createPool(url, 'public', { max: 3, idleTimeoutMs: 100 });
    try {
      const kept = await backendsOf(pool, 3);
      await backendsOf(closing, 3);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(closing.totalCount).toBe(0);
      expect(pool.totalCount).toBe(3);
      expect((await backendsOf(pool, 3)).sort()).toEqual([...kept].sort());

      // a restart or an administrator ends them while idle: the next statements get new ones
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [kept]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const renewed = await backendsOf(pool, 3);
      expect(renewed.filter((pid) => kept.includes(pid))).toEqual([]);
    } finally {
      await Promise.all([pool.end(), closing.end()]);
    }
  });
});
