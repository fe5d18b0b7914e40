// A Redis Cluster master SIGKILLed while events stream in: its replica is promoted, ingest answers
// 503 (never 500) while the slots move and while the promoted master has no replica to confirm a
// write (every 202 waits for one: WAIT 1); the killed node is started again as a supervisor would,
// rejoins as a replica, and ingest answers 202 again with no restart of the app. Every event that
// got a 202 is counted exactly once, in the database and in the hot buckets. Runs on a real
// 3-master + 3-replica cluster of its own, every node with appendfsync always.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveResponse, MetricsResponse } from '../stream/types.js';
import { generateStream, type GeneratedStream } from './event-factory.js';
import { apiSums, truthSums, withoutUsers } from './ground-truth.js';
import { sleep, startTestApp, testConfig, type TestApp } from './harness.js';
import { startRedisCluster, type LocalRedisCluster } from './redis-cluster.js';

let cluster: LocalRedisCluster;
let app: TestApp;
let stream: GeneratedStream;
const now = Date.now();

beforeAll(async () => {
  cluster = await startRedisCluster();
  const cfg = testConfig((c) => {
    c.pipeline.stream.partitions = 4;
    c.pipeline.ingest.replicasToWait = 1;
    c.pipeline.processor.claimIdleMs = 2000;
  });
  app = await startTestApp('failover', { cfg, redisUrl: cluster.url });
  stream = generateStream(app.cfg, 30_000, 23, now);
});

afterAll(async () => {
  await app?.close();
  cluster?.close();
});

describe('a Redis Cluster master killed mid-stream', () => {
  it('answers 503 while its replica takes over, recovers alone, and loses or double-counts nothing that got a 202', async () => {
    const chunks: typeof stream.deliveries[] = [];
    for (let i = 0; i < stream.deliveries.length; i += 300) chunks.push(stream.deliveries.slice(i, i + 300));
    const statuses: number[] = [];
    const victim = await cluster.masterOf(app.keys.partitions[0]!.stream);
    let killedAt = 0;
    let firstAcceptedAfterKill = 0;
    let retried = 0;
    // the supervisor: once the cluster has promoted the replica, the killed node is started again
    let supervisor: Promise<boolean> = Promise.resolve(false);
    const failedOver = async () => {
      while (Date.now() - killedAt < 30_000) {
        if (!(await cluster.masters().catch(() => [victim])).includes(victim)) {
          await sleep(2000); // a moment without any replica for the promoted master
          await cluster.restart(victim);
          return true;
        }
        await sleep(200);
      }
      return false;
    };

    for (const [i, chunk] of chunks.entries()) {
      if (i === Math.floor(chunks.length / 3)) {
        cluster.kill(victim);
        killedAt = Date.now();
        supervisor = failedOver();
      }
      // as a producer does: a 503 is sent again after a pause, until it is accepted
      for (;;) {
        const response = await app.post(chunk);
        statuses.push(response.status);
        if (response.status === 202) {
          if (killedAt && !firstAcceptedAfterKill) firstAcceptedAfterKill = Date.now();
          break;
        }
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBeTruthy();
        retried++;
        expect(Date.now() - killedAt).toBeLessThan(60_000); // it recovers alone
        await sleep(250);
      }
    }
    expect(retried).toBeGreaterThan(0); // the outage was seen
    expect(await supervisor).toBe(true); // a replica took its slots
    expect(await cluster.masters()).not.toContain(victim); // the killed node came back as a replica
    await cluster.healthy();
    await app.drained(120_000);

    const { rows } = await app.db.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM events');
    expect(rows[0]).toEqual({ n: stream.unique.length, d: stream.unique.length });
    const metrics = (await (await app.get(`/api/v1/metrics?from=${now - 36 * 3_600_000}&to=${now + 60_000}&step=1h&groupBy=channel`)).json()) as MetricsResponse;
    let checked = 0;
    for (const series of metrics.series) {
      for (const point of series.points) {
        const start = Date.parse(point.t);
        const truth = truthSums(stream.unique, (e) => e.channel === series.key.channel && e.ts >= start && e.ts < start + 3_600_000);
        expect(apiSums(point)).toEqual(withoutUsers(truth));
        expect(point.uniqueUsers).toBe(truth.users.size);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
    // the hot buckets (Redis) too: the live windows equal the ground truth, channel by channel
    for (const channel of app.cfg.channels.map((c) => c.id)) {
      const live = (await (await app.get(`/api/v1/live?channel=${channel}`)).json()) as LiveResponse;
      const window = live.windows['24h'];
      const truth = truthSums(stream.unique, (e) => e.channel === channel && e.ts >= Date.parse(window.from) && e.ts < Date.parse(window.to));
      expect(apiSums(window)).toEqual(withoutUsers(truth));
    }
    console.log(`failover: ${statuses.filter((s) => s === 503).length} answers 503 over ${((firstAcceptedAfterKill - killedAt) / 1000).toFixed(1)} s, then 202 again`);
  });
});
