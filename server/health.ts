import express from 'express';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await withTimeout(probe(), 1500);
    return 'ok';
  } catch (err) {
    return `down: ${(err as Error).message}`;
  }
}

/** /healthz: the process answers. /readyz: each dependency answers (503 naming the one that does not). */
export function healthRouter(redis: Redis, pool: Pool) {
  const router = express.Router();
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  router.get('/readyz', async (_req, res) => {
    const [redisState, databaseState] = await Promise.all([check(() => redis.ping()), check(() => pool.query('SELECT 1'))]);
    const ready = redisState === 'ok' && databaseState === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', redis: redisState, database: databaseState });
  });
  return router;
}
