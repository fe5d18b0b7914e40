import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load.js';
import { createPool, createRedis, type StoreSettings } from '../stream/connect.js';
import { migrate, type Storage } from '../stream/db/migrate.js';
import { ensureConsumerGroup } from '../stream/processor.js';
import { defineReconcileScript, reconcileHotBuckets } from '../stream/reconcile.js';
import { redisKeys } from '../stream/redis-keys.js';
import { createApp } from './app.js';
import { createAuth } from './auth.js';
import { createServerMetrics, registerStreamGauges } from './server-metrics.js';

export interface ServerOptions {
  cfg: AppConfig;
  stores: StoreSettings;
  port: number;
  host?: string;
  demoMode: boolean;
  authSecret: string;
  apiKeys: () => string[];
  log: Logger;
  screenDir?: string;
  /** run the periodic Redis-vs-database reconciliation in this process (default true) */
  reconcile?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  http: Server;
  close(): Promise<void>;
}

/** Migrates, then serves the API (and the screen) on one port. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { cfg, stores, log } = options;
  const redis = createRedis(stores.redisUrl, 'server');
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  defineReconcileScript(redis);
  const pool = createPool(stores.databaseUrl, stores.dbSchema, 10);
  const storage = await migrate(pool, cfg, stores.dbSchema);
  const keys = redisKeys(stores.redisPrefix, cfg.pipeline);
  await ensureConsumerGroup(redis, keys);

  const metrics = createServerMetrics();
  registerStreamGauges(metrics, redis, keys);
  const auth = createAuth({ users: cfg.users, secret: options.authSecret, demoMode: options.demoMode });
  const app = createApp({ cfg, redis, pool, keys, auth, apiKeys: options.apiKeys, metrics, log, screenDir: options.screenDir });
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(options.port, options.host ?? '0.0.0.0', resolve));
  const port = (http.address() as AddressInfo).port;

  let reconcileTimer: NodeJS.Timeout | undefined;
  if (options.reconcile !== false) {
    let running = false;
    reconcileTimer = setInterval(async () => {
      if (running) return;
      running = true;
      // one reconciler at a time across servers
      const locked = await redis.set(keys.reconcileLock, String(process.pid), 'PX', cfg.pipeline.reconcile.every * 2, 'NX').catch(() => null);
      try {
        if (locked) {
          const result = await reconcileHotBuckets(redis, pool, keys, cfg);
          if (result.corrected) log.warn(result, 'reconciliation corrected hot buckets');
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'reconciliation failed; will retry');
      } finally {
        if (locked) await redis.del(keys.reconcileLock).catch(() => {});
        running = false;
      }
    }, cfg.pipeline.reconcile.every);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    http,
    async close() {
      clearInterval(reconcileTimer);
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await Promise.allSettled([redis.quit(), pool.end()]);
    },
  };
}
