// Load held through outages (issue 6): a producer offers 5 000 events/s (queuing and retrying
// after 429/503 like a real one) to the server and two processors running as processes on a Redis
// and a PostgreSQL of the bench's own; Redis is SIGKILLed for 60 s, later PostgreSQL is stopped
// for 60 s. Reported: events sent, accepted, counted (stored and in the live windows), the
// answers, and the time to catch up after each outage (the producer's queue and the stream empty).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { AppConfig } from '../../config/load.js';
import { PROCESSOR_NODE_FLAGS } from '../../server/processes.js';
import type { LiveResponse } from '../../stream/types.js';
import { startProducer } from '../load-producer.js';
import { startOwnStores } from '../own-stores.js';
import { login } from './ingest.js';
import { freePort, rssMb, spawnApp, stop, storeEnv, waitReady } from './processes.js';
import type { BenchResult } from './report.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchFaults(cfg: AppConfig, options: { rate: number; outageSeconds: number; processors: number }): Promise<BenchResult[]> {
  const own = await startOwnStores('bench-faults');
  const stores = { redisUrl: own.redisUrl, databaseUrl: own.databaseUrl, redisPrefix: 'faults:', dbSchema: 'faults' };
  const env = { ...storeEnv(stores), USER_ID_HASH_KEY: randomBytes(24).toString('hex') };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnApp('server', { ...env, PORT: String(port), SIMULATE: '0', PROCESSORS: '0' });
  await waitReady(url);
  const processors = Array.from({ length: options.processors }, (_, i) => spawnApp('stream', { ...env, PROCESSOR_NAME: `faults-${i + 1}` }, PROCESSOR_NODE_FLAGS));
  const redis = new Redis(stores.redisUrl, { protocol: 2 });
  redis.on('error', () => {});
  const streamKey = `${stores.redisPrefix}${cfg.pipeline.stream.name}`;
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, ...processors.map((p) => rssMb(p.pid!)))), 500);
  const post = (events: unknown[]) => fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'demo-key' }, body: JSON.stringify(events) });
  const caughtUp = async (producer: ReturnType<typeof startProducer>, since: number) => {
    for (;;) {
      const backlog = await redis.xlen(streamKey).catch(() => -1);
      if (producer.queued() <= 1 && backlog === 0) return (Date.now() - since) / 1000;
      await sleep(100);
    }
  };
  try {
    const producer = startProducer(post, { eventsPerSecond: options.rate, idPrefix: 'outage' });
    await sleep(10_000);

    await own.killRedis();
    await sleep(options.outageSeconds * 1000);
    await own.startRedis();
    const redisCatchUp = await caughtUp(producer, Date.now());
    await sleep(10_000);

    await own.stopPostgres();
    await sleep(options.outageSeconds * 1000);
    await own.startPostgres();
    const pgCatchUp = await caughtUp(producer, Date.now());
    const ledger = await producer.finish();
    while ((await redis.xlen(streamKey)) > 0) await sleep(100);

    const db = new pg.Client({ connectionString: stores.databaseUrl, options: `-c search_path="${stores.dbSchema}"` });
    await db.connect();
    const stored = Number((await db.query(`SELECT count(*) AS n FROM events`)).rows[0].n);
    await db.end();
    const token = await login(url);
    const live = (await (await fetch(`${url}/api/v1/live?region=east`, { headers: { authorization: `Bearer ${token}` } })).json()) as LiveResponse;
    const exact = stored === ledger.accepted && live.windows['1h'].exposure === ledger.exposure && live.windows['1h'].conversions === ledger.conversions && Math.round(live.windows['1h'].revenue * 100) === ledger.revenueCents;
    const notes = `${ledger.sent} sent, ${ledger.accepted} accepted, ${stored} stored, live windows ${exact ? 'exact' : 'DIFFERENT'}; answers ${JSON.stringify(ledger.statuses)}; caught up ${redisCatchUp.toFixed(1)} s after Redis and ${pgCatchUp.toFixed(1)} s after PostgreSQL returned (${options.outageSeconds} s outages)`;
    return [{
      name: 'outages-redis-and-postgres', events: ledger.accepted, eventsPerSec: options.rate, p50Ms: null, p95Ms: null, p99Ms: null, peakRssMb: peakRss,
      ceiling: null, ratio: null, notes, extra: { ...ledger, stored, exact, redisCatchUpSeconds: redisCatchUp, postgresCatchUpSeconds: pgCatchUp, outageSeconds: options.outageSeconds },
    }];
  } finally {
    clearInterval(rssTimer);
    redis.disconnect();
    await Promise.all([...processors, server].map(stop));
    await own.close();
  }
}
