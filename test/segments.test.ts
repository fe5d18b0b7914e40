// The segments job against real PostgreSQL, Redis, Socket.IO and a real job process: customers'
// orders posted as events (a duplicate, a late one), tiers and stages computed by hand in the
// test, the API and the socket event per role, the moves between runs, and a job process
// SIGKILLed in the middle of its transaction.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DIR, loadConfig } from '../config/load.js';
import type { SegmentsView } from '../stream/types.js';
import { sleep, startTestApp, type TestApp } from './harness.js';
import { collectEvents } from './screen-client.js';

// lifecycle thresholds in hours, so two days of events (ingest takes at most 48 h late) show every stage
const configDir = mkdtempSync(join(tmpdir(), 'mw-segments-config-'));
cpSync(CONFIG_DIR, configDir, { recursive: true, filter: (src) => !src.endsWith('.ts') });
writeFileSync(join(configDir, 'jobs.yaml'), readFileSync(join(configDir, 'jobs.yaml'), 'utf8')
  .replace(/newWithin: \S+/, 'newWithin: 4h').replace(/activeWithin: \S+/, 'activeWithin: 10h')
  .replace(/loyalOrders: \S+/, 'loyalOrders: 3').replace(/churnedAfter: \S+/, 'churnedAfter: 30h'));

let app: TestApp;
const sockets: Socket[] = [];
const H = 3_600_000;
const now = Date.now();
const order = (id: string, userId: string, hoursAgo: number, value: number, where: { region?: string; store?: string }) =>
  ({ id, type: 'conversion', ts: now - hoursAgo * H, channel: where.store ? 'store' : 'app', userId, value, ...where });

beforeAll(async () => {
  app = await startTestApp('segments', { cfg: loadConfig(configDir) });
  const events = [
    // A (east): four orders, the last one in a Shanghai store — loyal, high value
    order('a1', 'A', 40, 100, { region: 'east' }), order('a2', 'A', 20, 100, { region: 'east' }),
    order('a3', 'A', 3, 100, { region: 'east' }), order('a4', 'A', 1, 100, { store: 'sh-jingan' }),
    // B (east): one small order two hours ago — new, potential
    order('b1', 'B', 2, 50, { region: 'east' }),
    // C (north): two large orders, the last 12 h ago — dormant, at risk
    order('c1', 'C', 35, 300, { region: 'north' }), order('c2', 'C', 12, 200, { region: 'north' }),
    // D (north): one small order 33 h ago — churned
    order('d1', 'D', 33, 20, { region: 'north' }),
    // E (south): two orders 8 and 7 h ago — active, general
    order('e1', 'E', 8, 80, { region: 'south' }), order('e2', 'E', 7, 90, { region: 'south' }),
    // not orders of a known customer: a click with a user, an order without one
    { id: 'x1', type: 'click', ts: now - H, channel: 'douyin', userId: 'B' },
    { id: 'x2', type: 'conversion', ts: now - H, channel: 'app', value: 999 },
  ];
  expect((await app.post(events)).status).toBe(202);
  expect((await app.post([order('a4', 'A', 1, 100, { store: 'sh-jingan' })])).status).toBe(202); // a duplicate: counted once
  await app.drained();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await app?.close();
  rmSync(configDir, { recursive: true, force: true });
});

async function segmentsEventsOf(username: string) {
  const { socket, received } = await collectEvents<SegmentsView>(app.server.url, await app.token(username), 'segments');
  sockets.push(socket);
  return received;
}

async function runJob(): Promise<{ status: string; rows: number }> {
  const response = await fetch(`${app.server.url}/api/v1/jobs/segments/run`, { method: 'POST', headers: { authorization: `Bearer ${await app.token('admin')}` } });
  const { run } = (await response.json()) as { run: { status: string; rows: number; error: string | null } };
  expect(response.status, run.error ?? '').toBe(200);
  return run;
}

const segments = async (query = '', username = 'ops') => (await (await app.get(`/api/v1/segments${query}`, username)).json()) as SegmentsView;
const sizes = (view: SegmentsView) => Object.fromEntries(view.tiers.map((t) => [t.tier, t.customers]));
const changes = (view: SegmentsView) => Object.fromEntries(view.tiers.map((t) => [t.tier, t.change]));
const stages = (view: SegmentsView) => Object.fromEntries(view.stages.map((s) => [s.stage, s.customers]));
const moves = (view: SegmentsView) => view.moves.map((m) => `${m.from || 'none'}→${m.to || 'none'}:${m.customers}`).sort();

describe('the segments job', () => {
  it('scores every customer, tells each wall only its regions, and answers GET /api/v1/segments by role', async () => {
    expect((await segments()).runAt).toBeNull();
    const [opsEvents, eastEvents, northEvents] = await Promise.all([segmentsEventsOf('ops'), segmentsEventsOf('manager-east'), segmentsEventsOf('manager-north')]);
    expect(await runJob()).toMatchObject({ status: 'succeeded', rows: 5 });
    await sleep(500);

    // R, F, M quintiles over the five customers, worked out in test/segment-rules.test.ts
    expect(opsEvents).toHaveLength(1);
    const all = opsEvents[0]!;
    expect(all).toMatchObject({ customers: 5, regions: null, previousRunAt: null });
    expect(sizes(all)).toEqual({ high_value: 1, potential: 1, general: 1, at_risk: 1, churned: 1 });
    expect(stages(all)).toEqual({ new: 1, active: 1, loyal: 1, dormant: 1, churned: 1 });
    expect(all.tiers.find((t) => t.tier === 'high_value')!.value).toBe(400); // the duplicate order counted once
    expect(all.tiers.find((t) => t.tier === 'at_risk')!.value).toBe(500);
    expect(changes(all).potential).toBeNull();
    expect(moves(all)).toEqual(['none→at_risk:1', 'none→churned:1', 'none→general:1', 'none→high_value:1', 'none→potential:1']);
    expect(Object.fromEntries(all.byRegion.map((r) => [r.region, r.customers]))).toEqual({ east: 2, north: 2, south: 1 });
    expect(await segments()).toEqual(all);

    // managers: their own region only, on the socket and over HTTP
    expect(eastEvents).toHaveLength(1);
    expect(eastEvents[0]).toMatchObject({ customers: 2, regions: ['east'] });
    expect(sizes(eastEvents[0]!)).toEqual({ high_value: 1, potential: 1, general: 0, at_risk: 0, churned: 0 });
    expect(eastEvents[0]!.byRegion.map((r) => r.region)).toEqual(['east']);
    expect(northEvents[0]).toMatchObject({ customers: 2, regions: ['north'] });
    expect(await segments('', 'manager-east')).toEqual(eastEvents[0]);
    expect((await app.get('/api/v1/segments?region=north', 'manager-east')).status).toBe(403);
    expect((await segments('?region=north')).customers).toBe(2);
    expect((await app.get('/api/v1/segments?region=mars')).status).toBe(404);
    expect((await app.get('/api/v1/segments?tier=gold')).status).toBe(400);
  });

  it('takes late orders and returning customers into the next run and reports who moved', async () => {
    expect((await app.post([
      order('c3', 'C', 30, 10, { region: 'north' }), // late: 30 h old, after the first run
      order('d2', 'D', 0.5, 1000, { region: 'north' }), // D comes back with a large order
      order('f1', 'F', 0.2, 60, { region: 'east' }), // a new customer
    ])).status).toBe(202);
    await app.drained();
    expect(await runJob()).toMatchObject({ status: 'succeeded', rows: 6 });

    // six customers: R by last order C<E<B<A<D<F, F by orders, M by revenue (C 510, D 1020) →
    // A general, B general, C at risk, D potential, E churned, F potential
    const view = await segments();
    expect(view.previousRunAt).not.toBeNull();
    expect(sizes(view)).toEqual({ high_value: 0, potential: 2, general: 2, at_risk: 1, churned: 1 });
    expect(changes(view)).toEqual({ high_value: -1, potential: 1, general: 1, at_risk: 0, churned: 0 });
    expect(stages(view)).toEqual({ new: 2, active: 2, loyal: 1, dormant: 1, churned: 0 });
    expect(view.tiers.find((t) => t.tier === 'at_risk')!.value).toBe(510);
    expect(moves(view)).toEqual(['churned→potential:1', 'general→churned:1', 'high_value→general:1', 'none→potential:1', 'potential→general:1']);
    expect(moves(await segments('', 'manager-east'))).toEqual(['high_value→general:1', 'none→potential:1', 'potential→general:1']);
  });

  it('a job process killed in the middle of its transaction leaves the last results whole, and the next run succeeds', async () => {
    const before = await segments();
    expect((await app.post([order('g1', 'G', 0.1, 5, { region: 'south' })])).status).toBe(202);
    await app.drained();

    // hold the table the job replaces last, so the job process is caught inside its transaction
    const blocker = new pg.Client({ connectionString: app.stores.databaseUrl, options: `-c search_path="${app.stores.dbSchema}"` });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE customer_segments IN ACCESS EXCLUSIVE MODE');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/run-job.ts', 'segments'], {
      env: {
        ...process.env, CONFIG_DIR: configDir, LOG_LEVEL: 'warn', JOB_LOCK_TTL_MS: '2000',
        REDIS_URL: app.stores.redisUrl, DATABASE_URL: app.stores.databaseUrl, REDIS_PREFIX: app.stores.redisPrefix, DB_SCHEMA: app.stores.dbSchema,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      let waiting = 0;
      for (let i = 0; i < 300 && !waiting; i++) {
        await sleep(100);
        const { rows } = await app.db.query(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace s ON s.oid = c.relnamespace
           WHERE c.relname = 'customer_segments' AND s.nspname = $1 AND NOT l.granted`,
          [app.stores.dbSchema],
        );
        waiting = rows[0].n;
      }
      expect(waiting).toBe(1); // customer_days, the new segments, the run, its counts and moves are written, uncommitted
      expect((await app.db.query(`SELECT status FROM job_runs WHERE trigger = 'test-process'`)).rows).toEqual([{ status: 'running' }]);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    } finally {
      await blocker.query('COMMIT');
      await blocker.end();
    }

    expect(await segments()).toEqual(before);
    expect((await app.db.query(`SELECT count(*)::int AS n FROM customer_days WHERE user_id = 'G'`)).rows[0].n).toBe(0);
    await sleep(2_100); // the dead process's job lock expires
    expect(await runJob()).toMatchObject({ status: 'succeeded', rows: 7 });
    const after = await segments();
    expect(after.customers).toBe(7);
    expect(after.previousRunAt).toBe(before.runAt);
    // G (newest, one ¥5 order) shifts the quintiles: D drops to R3 (general), E rises to F3/M3 (at risk)
    expect(moves(after)).toEqual(['churned→at_risk:1', 'none→potential:1', 'potential→general:1']);
    expect((await app.db.query(`SELECT status, error FROM job_runs WHERE trigger = 'test-process'`)).rows).toEqual([{ status: 'abandoned', error: 'the server running it stopped' }]);
  }, 60_000);
});
