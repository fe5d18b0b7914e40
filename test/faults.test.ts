// Faults survived with nothing lost: the test starts a Redis and a PostgreSQL of its own on spare
// ports (the machine's stay up), runs the server and a processor on them, and while a producer
// sends a known stream it SIGKILLs Redis for 8 s and stops PostgreSQL for 10 s. The producer
// does what a real one does — retries a batch after 429/503 as Retry-After says — and must see
// nothing else; afterwards every accepted event is stored once and counted in the live windows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveResponse } from '../stream/types.js';
import { sleep, startTestApp, testConfig, type TestApp } from './harness.js';
import { startProducer } from './load-producer.js';
import { startOwnStores, type OwnStores } from './own-stores.js';

let stores: OwnStores;
let app: TestApp;

beforeAll(async () => {
  stores = await startOwnStores('faults');
  // a small backlog bound, so the database outage reaches it and ingest pushes back with 429
  const cfg = testConfig((c) => {
    c.pipeline.ingest.maxBacklogEntries = 40;
    c.pipeline.ingest.retryAfterSeconds = 1;
  });
  app = await startTestApp('faults', { cfg, redisUrl: stores.redisUrl, databaseUrl: stores.databaseUrl });
}, 120_000);

afterAll(async () => {
  await app?.close().catch(() => {});
  await stores?.close();
}, 60_000);

const ready = async () => (await (await fetch(`${app.server.url}/readyz`)).json()) as { redis: string; database: string };

describe('Redis killed and PostgreSQL stopped while events arrive', () => {
  it('loses nothing that got a 202, counts nothing twice, and pushes back only with 429/503', async () => {
    const producer = startProducer((events) => app.post(events), { eventsPerSecond: 1000, idPrefix: 'fault' });
    await sleep(3_000);

    await stores.killRedis();
    await sleep(1_000);
    const withoutRedis = await ready();
    await sleep(7_000);
    await stores.startRedis();
    await sleep(4_000);

    await stores.stopPostgres();
    await sleep(1_000);
    const withoutDatabase = await ready();
    await sleep(9_000);
    await stores.startPostgres();
    const databaseBack = Date.now();
    await sleep(2_000);

    const ledger = await producer.finish();
    await app.drained(90_000);
    process.stdout.write(`faults: sent ${ledger.sent}, accepted ${ledger.accepted}, answers ${JSON.stringify(ledger.statuses)}, caught up ${Date.now() - databaseBack} ms after the database returned\n`);

    expect(withoutRedis.redis).toBe('down'); // the reason goes to the log, not to anyone who asks
    expect(withoutRedis.database).toBe('ok');
    expect(withoutDatabase.database).toBe('down');
    expect(Object.keys(ledger.statuses).sort()).toEqual(['202', '429', '503']); // both outages were felt, and nothing else
    expect(ledger.accepted).toBe(ledger.sent);

    const { rows } = await app.db.query<{ n: number; exposure: string; conversions: string; revenue: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(count) FILTER (WHERE type = 'exposure'), 0)::text AS exposure,
              coalesce(sum(count) FILTER (WHERE type = 'conversion'), 0)::text AS conversions,
              coalesce(sum(value) FILTER (WHERE type = 'conversion'), 0)::text AS revenue FROM events`,
    );
    expect(rows[0]).toEqual({ n: ledger.accepted, exposure: String(ledger.exposure), conversions: String(ledger.conversions), revenue: (ledger.revenueCents / 100).toFixed(4) });
    const live = (await (await app.get('/api/v1/live?region=east')).json()) as LiveResponse;
    expect(live.windows['1h'].exposure).toBe(ledger.exposure);
    expect(live.windows['1h'].conversions).toBe(ledger.conversions);
    expect(Math.round(live.windows['1h'].revenue * 100)).toBe(ledger.revenueCents);
  }, 180_000);
});
