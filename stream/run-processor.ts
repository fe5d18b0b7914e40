import { createEntrySigner } from './entry-signature.js';
import { createPseudonymizer } from './pseudonymize.js';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load.js';
import { createPool, createRedis, type StoreSettings } from './connect.js';
import { migrate } from './db/migrate.js';
import { pruneCurrentHours, refreshTouched } from './db/touched.js';
import { defineHotScripts } from './hot-write.js';
import { StreamProcessor } from './processor.js';
import { createProcessorMetrics } from './processor-metrics.js';
import { keysOfStores } from './redis-keys.js';
import { KnownCustomers } from './db/first-seen.js';
import { KnownSketches, compactSketches } from './db/user-sketches.js';

export interface RunningProcessor {
  /** one loop per stream partition */
  processors: StreamProcessor[];
  stop(): Promise<void>;
}

const STATS_EVERY_MS = 5000;
const COMPACT_EVERY_MS = 5000;
const DAY_REFRESH_EVERY_MS = 60_000;

/** Connects to the stores, makes sure the schema exists, and starts one consumer on every stream partition. */
export async function runProcessor(cfg: AppConfig, stores: StoreSettings, log: Logger, userIdKey: string, consumer = `${hostname()}-${process.pid}`): Promise<RunningProcessor> {
  const redis = createRedis(stores.redisUrl, `processor:${consumer}`);
  const keys = keysOfStores(stores, cfg.pipeline);
  // each partition's blocking read holds a connection of its own
  const blockingClients = keys.partitions.map((p) => createRedis(stores.redisUrl, `processor-read:${consumer}:${p.index}`));
  // while Redis is away the loop's own retries say so; ioredis's reconnect errors would only repeat it
  for (const client of [redis, ...blockingClients]) client.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 4 });
  defineHotScripts(redis);
  const storage = await migrate(pool, cfg, stores.dbSchema);
  const metrics = createProcessorMetrics();
  const sink = { storage, valueDecimals: cfg.pipeline.events.valueDecimals, dayOffsetMs: cfg.dayOffsetMs, known: new KnownCustomers(), sketches: new KnownSketches() };
  const pseudonymize = createPseudonymizer(userIdKey);
  const signer = createEntrySigner(userIdKey);
  const processors = keys.partitions.map((partition, i) => new StreamProcessor({
    cfg, redis, blockingRedis: blockingClients[i]!, pool, keys, partition, consumer, log, metrics, pseudonymize, signer, sink,
  }));
  for (const processor of processors) processor.start();
  const publishStats = async () => {
    const json = JSON.stringify(await metrics.registry.getMetricsAsJSON());
    // two keys in different slots on a cluster: two commands (the index entry outliving its stats is pruned by the reader)
    await Promise.all([
      redis.set(keys.processorStats(consumer), json, 'EX', Math.ceil((STATS_EVERY_MS * 6) / 1000)),
      redis.sadd(keys.processorIndex, consumer),
    ]).catch(() => {});
  };
  const statsTimer = setInterval(publishStats, STATS_EVERY_MS);
  // the batches' unique-user deltas folded into their sketches, and on TimescaleDB the aggregates
  // refreshed where batches wrote behind them (one process at a time does each)
  let compacting: Promise<unknown> | null = null;
  let lastDayRefresh = 0;
  const compactTimer = setInterval(() => {
    compacting ??= compactSketches(pool, cfg.dayOffsetMs)
      .then(async () => {
        if (storage !== 'timescaledb') return;
        // hours every pass; a day's refresh reads the whole day, so once a minute
        await refreshTouched(pool, 'hours');
        await pruneCurrentHours(pool);
        if (Date.now() - lastDayRefresh < DAY_REFRESH_EVERY_MS) return;
        lastDayRefresh = Date.now();
        await refreshTouched(pool, 'days');
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'sketch compaction or aggregate refresh failed; retried'))
      .finally(() => { compacting = null; });
  }, COMPACT_EVERY_MS);
  log.info({ consumer, storage, partitions: processors.length }, 'stream processor started');
  return {
    processors,
    async stop() {
      clearInterval(statsTimer);
      clearInterval(compactTimer);
      await compacting;
      await Promise.all(processors.map((p) => p.stop()));
      await publishStats();
      for (const client of blockingClients) client.disconnect();
      await Promise.allSettled([redis.quit(), pool.end()]);
    },
  };
}
