// The attribution job against real PostgreSQL, Redis and Socket.IO: paths built from posted
// events, every model stored per day, the API and the socket event; the job lock, a run that
// loses its lock rolling back, and a run left behind by a dead server.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../stream/log.js';
import { startJobRunner, JobBusyError } from '../server/jobs/runner.js';
import type { AttributionView } from '../stream/types.js';
import { sleep, startTestApp, type TestApp } from './harness.js';
import { collectEvents } from './screen-client.js';

let app: TestApp;
const sockets: Socket[] = [];
const H = 3_600_000;
// late enough in the day that the touches and conversions are all within the 7 recomputed days
const now = Date.now();

beforeAll(async () => {
  app = await startTestApp('attribution');
  const events = [
    // u1: Douyin ad, then a WeChat click, then an order of ¥100
    { id: 'a1', type: 'exposure', ts: now - 3 * H, channel: 'douyin', userId: 'u1' },
    { id: 'a2', type: 'click', ts: now - 2 * H, channel: 'wechat', userId: 'u1' },
    { id: 'a3', type: 'conversion', ts: now - 1 * H, channel: 'app', userId: 'u1', value: 100 },
    // u2: a Baidu click and nothing else (a path without a conversion)
    { id: 'b1', type: 'click', ts: now - 2 * H, channel: 'baidu', userId: 'u2' },
    // u3: Douyin, an order of ¥50, then an SMS that led nowhere yet
    { id: 'c1', type: 'click', ts: now - 2 * H, channel: 'douyin', userId: 'u3' },
    { id: 'c2', type: 'conversion', ts: now - 1.5 * H, channel: 'app', userId: 'u3', value: 50 },
    { id: 'c3', type: 'click', ts: now - 1 * H, channel: 'sms', userId: 'u3' },
    // an order no touch led to, and spend for ROI
    { id: 'd1', type: 'conversion', ts: now - 1 * H, channel: 'app', userId: 'u4', value: 999 },
    { id: 's1', type: 'spend', ts: now - 2 * H, channel: 'wechat', value: 20 },
    { id: 's2', type: 'spend', ts: now - 2 * H, channel: 'douyin', value: 75 },
  ];
  expect((await app.post(events)).status).toBe(202);
  await app.drained();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await app?.close();
});

async function socketFor(username: string) {
  const { socket, received } = await collectEvents<AttributionView>(app.server.url, await app.token(username), 'attribution');
  sockets.push(socket);
  return received;
}

const post = async (path: string, username: string) => fetch(`${app.server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${await app.token(username)}` } });

describe('the attribution job', () => {
  it('runs on an admin\'s request, stores every model, and tells every wall the figures it may see', async () => {
    const opsEvents = await socketFor('ops');
    const managerEvents = await socketFor('manager-east');
    expect((await post('/api/v1/jobs/attribution/run', 'ops')).status).toBe(403);
    const response = await post('/api/v1/jobs/attribution/run', 'admin');
    expect(response.status).toBe(200);
    const { run } = (await response.json()) as { run: { status: string; rows: number; trigger: string } };
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'admin:admin' });
    expect(run.rows).toBeGreaterThan(0);
    await sleep(300);
    expect(opsEvents).toHaveLength(1);
    expect(opsEvents[0]!.regions).toBeNull();
    // a manager gets its regions' figures: no order here names a region yet
    expect(managerEvents.map((e) => [e.regions, e.models])).toEqual([[['east'], {}]]);
    const credits = (model: string) => Object.fromEntries(opsEvents[0]!.models[model]!.map((c) => [c.channel, [Math.round(c.conversions * 1e9) / 1e9, Math.round(c.value * 1e6) / 1e6]]));
    expect(credits('last_touch')).toEqual({ douyin: [1, 50], wechat: [1, 100], baidu: [0, 0], sms: [0, 0] });
    expect(credits('first_touch')).toEqual({ douyin: [2, 150], wechat: [0, 0], baidu: [0, 0], sms: [0, 0] });
    expect(credits('linear')).toEqual({ douyin: [1.5, 100], wechat: [0.5, 50], baidu: [0, 0], sms: [0, 0] });
    const markov = opsEvents[0]!.models.markov!;
    expect(markov.reduce((a, c) => a + c.conversions, 0)).toBeCloseTo(2, 9); // the order no touch led to is not attributed
    expect(markov.find((c) => c.channel === 'baidu')!.conversions).toBe(0);
  });

  it('answers GET /api/v1/attribution with ROI on attributed revenue; a manager only its regions', async () => {
    const view = (await (await app.get('/api/v1/attribution?model=last_touch')).json()) as AttributionView;
    expect(Object.keys(view.models)).toEqual(['last_touch']);
    const wechat = view.models.last_touch!.find((c) => c.channel === 'wechat')!;
    expect(wechat).toMatchObject({ conversions: 1, value: 100, spend: 20, roi: 5 });
    expect(view.models.last_touch!.find((c) => c.channel === 'douyin')!.roi).toBeCloseTo(50 / 75, 9);
    expect(view.revenue).toBe(1149); // every order in the range, the one no touch led to included
    expect(view.onlineRevenue).toBe(1149); // all of them online here
    expect((await app.get('/api/v1/attribution', 'manager-east')).status).toBe(200);
    expect((await app.get('/api/v1/attribution?region=north', 'manager-east')).status).toBe(403);
    expect((await app.get('/api/v1/attribution?region=atlantis')).status).toBe(404);
    expect((await app.get('/api/v1/attribution?model=magic')).status).toBe(400);
    const jobs = (await (await app.get('/api/v1/jobs')).json()) as { jobs: Array<{ name: string; lastRun: { status: string } }> };
    expect(jobs.jobs.find((j) => j.name === 'attribution')!.lastRun.status).toBe('succeeded');
  });

  it('credits each region from its own customers\' orders, and the whole business from all of them', async () => {
    const more = [
      // u5 in the east: a Xiaohongshu exposure, a Douyin click, an order of ¥300 there
      { id: 'e1', type: 'exposure', ts: now - 3 * H, channel: 'xiaohongshu', userId: 'u5' },
      { id: 'e2', type: 'click', ts: now - 2 * H, channel: 'douyin', userId: 'u5' },
      { id: 'e3', type: 'conversion', ts: now - 1 * H, channel: 'app', region: 'east', userId: 'u5', value: 300 },
      // u6 in the north: a Baidu click, an order of ¥80 there
      { id: 'n1', type: 'click', ts: now - 2 * H, channel: 'baidu', userId: 'u6' },
      { id: 'n2', type: 'conversion', ts: now - 1 * H, channel: 'app', region: 'north', userId: 'u6', value: 80 },
    ];
    expect((await app.post(more)).status).toBe(202);
    await app.drained();
    expect((await post('/api/v1/jobs/attribution/run', 'admin')).status).toBe(200);
    const lastTouch = async (path: string, username = 'ops') => {
      const view = (await (await app.get(path, username)).json()) as AttributionView;
      return { regions: view.regions, revenue: view.revenue, credits: Object.fromEntries(view.models.last_touch!.filter((c) => c.value).map((c) => [c.channel, c.value])) };
    };
    expect(await lastTouch('/api/v1/attribution?model=last_touch', 'manager-east')).toEqual({ regions: ['east'], revenue: 300, credits: { douyin: 300 } });
    expect(await lastTouch('/api/v1/attribution?model=last_touch&region=east')).toEqual({ regions: ['east'], revenue: 300, credits: { douyin: 300 } });
    expect(await lastTouch('/api/v1/attribution?model=last_touch&region=north')).toEqual({ regions: ['north'], revenue: 80, credits: { baidu: 80 } });
    expect(await lastTouch('/api/v1/attribution?model=last_touch')).toEqual({ regions: null, revenue: 1149 + 380, credits: { douyin: 350, wechat: 100, baidu: 80 } });
    // a store's till is revenue, but not online revenue: no touch leads to it
    expect((await app.post([{ id: 'till-1', type: 'conversion', ts: now - H, channel: 'store', store: 'sh-jingan', value: 5000 }])).status).toBe(202);
    await app.drained();
    const withTill = (await (await app.get('/api/v1/attribution?model=last_touch')).json()) as AttributionView;
    expect([withTill.revenue, withTill.onlineRevenue]).toEqual([1149 + 380 + 5000, 1149 + 380]);
    const markov = ((await (await app.get('/api/v1/attribution?model=markov', 'manager-east')).json()) as AttributionView).models.markov!;
    expect(markov.reduce((a, c) => a + c.value, 0)).toBeCloseTo(300, 6);
  });

  it('never runs one job on two servers at once; a run that loses its lock rolls back; a dead server\'s run is marked abandoned', async () => {
    const log = createLogger('jobs-test');
    let release: () => void = () => {};
    const slow = { name: 'slow', schedule: '0 0 1 1 *', run: () => new Promise<number>((resolve) => { release = () => resolve(1); }) };
    const runners = [0, 1].map(() => startJobRunner({ redis: app.redis, pool: app.db, keyPrefix: app.stores.redisPrefix, log, jobs: [slow], schedule: false }));
    const first = runners[0]!.trigger('slow', 'test');
    await sleep(100);
    await expect(runners[1]!.trigger('slow', 'test')).rejects.toBeInstanceOf(JobBusyError);
    release();
    expect((await first).status).toBe('succeeded');

    // a run whose lock lapses (here: taken away) is told to abort, and its transaction rolls back
    const halfway = {
      name: 'halfway', schedule: '0 0 1 1 *',
      async run(ctx: { aborted(): boolean }) {
        const client = await app.db.connect();
        try {
          await client.query('BEGIN');
          await client.query(`INSERT INTO attribution_daily (day, model, channel, conversions, value, paths) VALUES ('2000-01-01', 'linear', 'x', 1, 1, 1)`);
          while (!ctx.aborted()) await sleep(50);
          throw new Error('aborted: the lock was lost');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        } finally {
          client.release();
        }
      },
    };
    const runner = startJobRunner({ redis: app.redis, pool: app.db, keyPrefix: app.stores.redisPrefix, log, jobs: [halfway], schedule: false, lockTtlMs: 900 });
    const run = runner.trigger('halfway', 'test');
    await sleep(150);
    await app.redis.del(`${app.stores.redisPrefix}lock:job:halfway`);
    await app.redis.set(`${app.stores.redisPrefix}lock:job:halfway`, 'another-server');
    const result = await run;
    expect(result.status).toBe('failed');
    expect((await app.db.query(`SELECT count(*)::int AS n FROM attribution_daily WHERE day = '2000-01-01'`)).rows[0].n).toBe(0);
    await app.redis.del(`${app.stores.redisPrefix}lock:job:halfway`);

    // a run a dead server left "running" is closed as abandoned by the next one
    await app.db.query(`INSERT INTO job_runs (job, status, trigger, server) VALUES ('attribution', 'running', 'schedule', 'dead-server')`);
    expect((await post('/api/v1/jobs/attribution/run', 'admin')).status).toBe(200);
    const { rows } = await app.db.query(`SELECT status, error FROM job_runs WHERE server = 'dead-server'`);
    expect(rows).toEqual([{ status: 'abandoned', error: 'the server running it stopped' }]);
    await Promise.all([...runners, runner].map((r) => r.stop()));
  });
});
