import { createEntrySigner } from './entry-signature.js';
import { createPseudonymizer } from './pseudonymize.js';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load.js';
import { createPool, createRedis, type StoreSettings } from './connect.js';
import { migrate } from './db/migrate.js';
import { defineHotScripts } from './hot-write.js';
import { StreamProcessor } from './processor.js';
import { createProcessorMetrics } from './processor-metrics.js';
import { redisKeys } from './redis-keys.js';
import { KnownCustomers } from './db/first-seen.js';

export interface RunningProcessor {
  processor: StreamProcessor;
  stop(): Promise<void>;
}

const STATS_EVERY_MS = 5000;

/** Connects to the stores, makes sure the schema exists, and starts one consumer. */
export async function runProcessor(cfg: AppConfig, stores: StoreSettings, log: Logger, userIdKey: string, consumer = `${hostname()}-${process.pid}`): Promise<RunningProcessor> {
  const redis = createRedis(stores.redisUrl, `processor:${consumer}`);
  const blockingRedis = createRedis(stores.redisUrl, `processor-read:${consumer}`);
  // while Redis is away the loop's own retries say so; ioredis's reconnect errors would only repeat it
  for (const client of [redis, blockingRedis]) client.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  const pool = createPool(stores.databaseUrl, stores.dbSchema, 4);
  defineHotScripts(redis);
  const storage = await migrate(pool, cfg, stores.dbSchema);
  const keys = redisKeys(stores.redisPrefix, cfg.pipeline);
  const metrics = createProcessorMetrics();
  const processor = new StreamProcessor({
    cfg, redis, blockingRedis, pool, keys, consumer, log, metrics, pseudonymize: createPseudonymizer(userIdKey), signer: createEntrySigner(userIdKey),
    sink: { storage, valueDecimals: cfg.pipeline.events.valueDecimals, dayOffsetMs: cfg.dayOffsetMs, known: new KnownCustomers() },
  });
  processor.start();
  const publishStats = async () => {
    const json = JSON.stringify(await metrics.registry.getMetricsAsJSON());
    await redis
      .multi()
      .set(keys.processorStats(consumer), json, 'EX', Math.ceil((STATS_EVERY_MS * 6) / 1000))
      .sadd(keys.processorIndex, consumer)
      .exec()
      .catch(() => {});
  };
  const statsTimer = setInterval(publishStats, STATS_EVERY_MS);
  log.info({ consumer, storage }, 'stream processor started');
  return {
    processor,
    async stop() {
      clearInterval(statsTimer);
      await processor.stop();
      await publishStats();
      blockingRedis.disconnect();
      await Promise.allSettled([redis.quit(), pool.end()]);
    },
  };
}
