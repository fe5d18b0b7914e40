import express from 'express';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);

async function check(probe: () => Promise<unknown>): Promise<{ state: 'ok' | 'down'; error?: string }> {
  try {
    await withTimeout(probe(), 1500);
    return { state: 'ok' };
  } catch (err) {
    return { state: 'down', error: (err as Error).message };
  }
}

/**
 * /healthz: the process answers. /readyz: each dependency answers (503 naming the one that does
 * not). Anyone may ask, so the answer says only ok or down; why goes to the log. A read replica
 * (DATABASE_READ_URL) is reported but does not decide readiness: without it ingest, the wall and
 * alerts still work, and taking the server out of the balancer would stop them too.
 */
export function healthRouter(redis: Redis, pool: Pool, readReplica?: Pool) {
  const router = express.Router();
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  router.get('/readyz', async (req, res) => {
    const [redisCheck, databaseCheck, replicaCheck] = await Promise.all([
      check(() => redis.ping()), check(() => pool.query('SELECT 1')), readReplica ? check(() => readReplica.query('SELECT 1')) : null,
    ]);
    const ready = redisCheck.state === 'ok' && databaseCheck.state === 'ok';
    if (!ready || replicaCheck?.state === 'down') {
      req.log.warn({ redis: redisCheck.error, database: databaseCheck.error, readReplica: replicaCheck?.error }, ready ? 'read replica down' : 'not ready');
    }
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not ready', redis: redisCheck.state, database: databaseCheck.state, ...(replicaCheck && { readReplica: replicaCheck.state }),
    });
  });
  return router;
}
