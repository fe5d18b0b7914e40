// DATABASE_READ_URL: the reads a caller shapes go to a real streaming replica; they keep answering
// while the primary restarts, and the pipeline catches up alone; what must see its own writes
// (a rule just saved) reads the primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsResponse } from '../stream/types.js';
import { startTestApp, type TestApp } from './harness.js';
import { replicaAvailable, startPrimaryWithReplica, type PgPair } from './pg-replica.js';

let pair: PgPair;
let app: TestApp;
const now = Date.now();
const from = Math.floor((now - 3_600_000) / 3_600_000) * 3_600_000;
let seq = 0;
const clicks = (n: number, region: string) => Array.from({ length: n }, () => ({ id: `rr-${seq++}`, type: 'click', ts: now - 30_000, channel: 'douyin', region, count: 1 }));
const clicksOf = (body: MetricsResponse) => body.series[0]!.points.reduce((sum, p) => sum + p.clicks, 0);

describe.skipIf(!replicaAvailable())('a PostgreSQL read replica', () => {
  beforeAll(async () => {
    pair = await startPrimaryWithReplica();
    app = await startTestApp('replica', { databaseUrl: pair.primaryUrl, databaseReadUrl: pair.replicaUrl });
    expect((await app.post(clicks(40, 'east'))).status).toBe(202);
    await app.drained();
    await pair.caughtUp();
  }, 60_000);

  afterAll(async () => {
    await app?.close().catch(() => {});
    pair?.close();
  });

  const metrics = async () => {
    const response = await app.get(`/api/v1/metrics?from=${from}&to=${now + 60_000}&step=1h&region=east`);
    return { status: response.status, body: (await response.json()) as MetricsResponse };
  };

  it('answers queries, explanations and replays from the replica while the primary is down, and catches up when it is back', async () => {
    expect(clicksOf((await metrics()).body)).toBe(40);
    pair.stopPrimary();
    try {
      // the primary is gone: only the replica can answer
      const during = await metrics();
      expect(during.status).toBe(200);
      expect(clicksOf(during.body)).toBe(40);
      expect((await app.get('/api/v1/explain?metric=clicks&region=east')).status).toBe(200);
      expect((await app.get(`/api/v1/replay?at=${now}&region=east`)).status).toBe(200);
      // not ready without the primary; the replica reported as up
      const ready = await fetch(`${app.server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ database: 'down', readReplica: 'ok' });
      // ingest still takes events (Redis is up); the processor holds them until the database is back
      expect((await app.post(clicks(25, 'east'))).status).toBe(202);
    } finally {
      pair.startPrimary();
    }
    await app.drained(60_000);
    await pair.caughtUp();
    expect(clicksOf((await metrics()).body)).toBe(65);
  }, 90_000);

  it('reads what must see its own writes from the primary: a rule saved while the replica lags', async () => {
    await pair.pauseReplay();
    try {
      const rule = { name: '副本巡检', nameEn: 'Replica check', metric: 'clicks', groupBy: 'channel', window: '1m', when: { above: 1e9 } };
      const saved = await fetch(`${app.server.url}/api/v1/alert-rules/replica-check`, {
        method: 'PUT', headers: { authorization: `Bearer ${await app.token('admin')}`, 'content-type': 'application/json' }, body: JSON.stringify(rule),
      });
      expect(saved.status).toBe(200);
      const listed = (await (await app.get('/api/v1/alert-rules')).json()) as { rules: Array<{ id: string }> };
      expect(listed.rules.map((r) => r.id)).toContain('replica-check');
      // meanwhile the replica has not replayed new events: the query API does not see them yet
      expect((await app.post(clicks(10, 'east'))).status).toBe(202);
      await app.drained();
      expect(clicksOf((await metrics()).body)).toBe(65);
    } finally {
      await pair.resumeReplay();
    }
    await pair.caughtUp();
    expect(clicksOf((await metrics()).body)).toBe(75);
  }, 60_000);
});
