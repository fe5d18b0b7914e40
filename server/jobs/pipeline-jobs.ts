// Periodic pipeline jobs, each run by one server at a time (a Redis lock with expiry):
// reconciliation of the hot buckets every `reconcile.every`, and the retention purge hourly.
import type { Redis } from 'ioredis';
import cron from 'node-cron';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import type { Storage } from '../../stream/db/migrate.js';
import { purgeExpired } from '../../stream/db/retention.js';
import { reconcileHotBuckets } from '../../stream/reconcile.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import type { ServerMetrics } from '../http/server-metrics.js';

interface JobDeps {
  cfg: AppConfig;
  redis: Redis;
  pool: Pool;
  keys: RedisKeys;
  storage: Storage;
  log: Logger;
  metrics?: Pick<ServerMetrics, 'reconcileChecked' | 'reconcileCorrected'>;
}

/** Runs `work` unless it is already running here or another server holds its lock. */
function exclusive(deps: JobDeps, name: string, lockMs: number, work: () => Promise<unknown>) {
  let running = false;
  return async () => {
    if (running) return;
    running = true;
    const lockKey = `${deps.keys.prefix}lock:${name}`;
    const locked = await deps.redis.set(lockKey, String(process.pid), 'PX', lockMs, 'NX').catch(() => null);
    try {
      if (locked) await work();
    } catch (err) {
      deps.log.warn({ job: name, err: (err as Error).message }, 'job failed; it runs again at its next time');
    } finally {
      if (locked) await deps.redis.del(lockKey).catch(() => {});
      running = false;
    }
  };
}

export function startPipelineJobs(deps: JobDeps): { stop(): void } {
  const { cfg, redis, pool, keys, storage, log } = deps;
  const reconcile = exclusive(deps, 'reconcile', cfg.pipeline.reconcile.every * 2, async () => {
    const result = await reconcileHotBuckets(redis, pool, keys, cfg);
    deps.metrics?.reconcileChecked.inc(result.checked);
    deps.metrics?.reconcileCorrected.inc(result.corrected);
    // only buckets Redis must hold whole are compared, so any correction is a real drift (a lost Redis, a failed apply)
    if (result.corrected) log.warn(result, 'reconciliation corrected hot buckets');
  });
  const purge = exclusive(deps, 'retention', 3_600_000, async () => {
    const deleted = await purgeExpired(pool, cfg, storage);
    log.info({ deleted }, 'retention purge done');
  });
  const reconcileTimer = setInterval(reconcile, cfg.pipeline.reconcile.every);
  const purgeTask = cron.schedule('17 * * * *', purge);
  return {
    stop() {
      clearInterval(reconcileTimer);
      void purgeTask.stop();
    },
  };
}
