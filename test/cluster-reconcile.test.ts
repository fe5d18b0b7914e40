// On the Redis Cluster run (REDIS_URL names the cluster, the stream in 4 partitions): hot buckets
// lost or drifted in some partitions are healed from the database — the total made right in the
// first partition's part, each partition's HyperLogLogs refilled with its own customers — and the
// login limits, kept in Redis, still block on a cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../stream/buckets.js';
import { defineReconcileScript, reconcileHotBuckets } from '../stream/reconcile.js';
import type { LiveResponse } from '../stream/types.js';
import { generateStream, postAll } from './event-factory.js';
import { apiSums, truthSums, withoutUsers } from './ground-truth.js';
import { scanKeys, startTestApp, testConfig, type TestApp } from './harness.js';

let app: TestApp;
const now = Date.now();

beforeAll(async () => {
  app = await startTestApp('clrecon', { cfg: testConfig((cfg) => (cfg.pipeline.reconcile.settle = 0)) });
  defineReconcileScript(app.redis);
});
afterAll(async () => app?.close());

describe('reconciliation over stream partitions', () => {
  it('heals buckets lost in some partitions and drifted in another, users included', async () => {
    expect(app.keys.partitions.length).toBeGreaterThan(1);
    const stream = generateStream(app.cfg, 4000, 31, now);
    await postAll((events) => app.post(events), stream.deliveries);
    await app.drained();

    // partitions 1 and 3 lose their hourly and minute buckets, partition 3 its HyperLogLogs too,
    // and one 10 s bucket of partition 2 drifts
    const [, second, third, fourth] = app.keys.partitions;
    for (const partition of [second!, fourth!]) {
      for (const pattern of [`${partition.prefix}h:${HOUR}:*`, `${partition.prefix}h:${MINUTE}:*`]) {
        for (const key of await scanKeys(app.redis, pattern)) await app.redis.unlink(key);
      }
    }
    const sketches = async () => (await scanKeys(app.redis, `${fourth!.prefix}u:*`)).sort();
    const lostSketches = await sketches();
    for (const key of lostSketches) await app.redis.unlink(key);
    const drifted = (await scanKeys(app.redis, `${third!.prefix}h:10000:*:all`))[0]!;
    await app.redis.hincrby(drifted, 'exposure', 999);

    const live = async (query = '') => (await (await app.get(`/api/v1/live${query}`)).json()) as LiveResponse;
    const broken = (await live()).windows['24h'];
    expect(apiSums(broken)).not.toEqual(withoutUsers(truthSums(stream.unique, (e) => e.ts >= Date.parse(broken.from) && e.ts < Date.parse(broken.to))));

    const result = await reconcileHotBuckets(app.redis, app.db, app.keys, app.cfg);
    expect(result.corrected).toBeGreaterThan(0);
    // every lost sketch is back, at every level — the 10 s ones too, whose sums had survived
    expect(await sketches()).toEqual(lostSketches);
    for (const query of ['', '?channel=douyin', '?region=east']) {
      for (const window of Object.values((await live(query)).windows)) {
        const truth = truthSums(stream.unique, (e) => (query !== '?channel=douyin' || e.channel === 'douyin')
          && (query !== '?region=east' || (e.region ?? (e.store ? app.cfg.storeById.get(e.store)!.region : undefined)) === 'east')
          && e.ts >= Date.parse(window.from) && e.ts < Date.parse(window.to));
        expect(apiSums(window)).toEqual(withoutUsers(truth));
        // HyperLogLogs, added over the partitions (0.81 % standard error each)
        expect(Math.abs(window.uniqueUsers - truth.users.size)).toBeLessThanOrEqual(Math.max(2, truth.users.size * 0.03));
      }
    }
    expect((await reconcileHotBuckets(app.redis, app.db, app.keys, app.cfg)).corrected).toBe(0);
  });
});

describe('login limits on a cluster', () => {
  it('block a sixth wrong password for one username and address', async () => {
    const attempt = () => fetch(`${app.server.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'manager-east', password: 'wrong' }),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt()).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
