// Analytics at scale (issue 5): 1 000 000 stored touch events on 100 000 paths (70 % converting)
// and 1 000 000 customers with 2 000 000 orders, written straight into the events table; then,
// each in a process of its own (its peak RSS is its own): the paths, every attribution model,
// the whole attribution job, the whole segments job, and the exact Shapley's cost at 8/12/15
// channels. The ceiling: reading the same rows from PostgreSQL into Node and nothing else.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { to as copyTo } from 'pg-copy-streams';
import type { AppConfig } from '../../config/load.js';
import { migrateAttribution } from '../../server/analytics/attribution-job.js';
import { migrateSegments } from '../../server/analytics/segments-job.js';
import { MODELS } from '../../server/analytics/attribution/index.js';
import { createPool, type StoreSettings } from '../../stream/connect.js';
import { migrate } from '../../stream/db/migrate.js';
import { storeEnv } from './processes.js';
import type { BenchResult } from './report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PATH_USERS = 100_000;
const TOUCHES_PER_PATH = 10;
const CUSTOMERS = 1_000_000;

async function worker(stores: StoreSettings, mode: string): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ['--max-old-space-size=4096', '--import', 'tsx', `${ROOT}test/bench/analytics-worker.ts`, mode], {
    cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...storeEnv(stores) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`analytics worker ${mode} exited with ${code}`);
  return JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, number>;
}

async function fill(cfg: AppConfig, stores: StoreSettings, now: number): Promise<{ touches: number; orders: number; loadSeconds: number }> {
  const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 2 });
  try {
    await migrate(pool, cfg, stores.dbSchema);
    await migrateAttribution(pool);
    await migrateSegments(pool);
    const started = performance.now();
    const channels = `ARRAY[${cfg.channels.filter((c) => c.kind !== 'offline').slice(0, 10).map((c) => `'${c.id}'`).join(',')}]`;
    const regions = `ARRAY[${cfg.regions.map((r) => `'${r.id}'`).join(',')}]`;
    const at = `'${new Date(now).toISOString()}'::timestamptz`;
    // each path user's conversion time lies in the last 6 days; its touches in the 10 hours before
    await pool.query(`INSERT INTO events (ts, id, type, channel, region, user_id, count, value)
      SELECT base - make_interval(secs => k * 3600 + (u * k * 31) % 3600), 'bt-' || u || '-' || k,
             CASE WHEN (u + k) % 3 = 0 THEN 'click' ELSE 'exposure' END,
             (${channels})[1 + abs(hashtext(u || '-' || k)) % array_length(${channels}, 1)], 'east', 'p' || u, 1, 0
      FROM generate_series(0, ${PATH_USERS - 1}) u CROSS JOIN LATERAL (SELECT ${at} - make_interval(secs => (u * 7919) % 518400) AS base) b
      CROSS JOIN generate_series(1, ${TOUCHES_PER_PATH}) k`);
    await pool.query(`INSERT INTO events (ts, id, type, channel, region, user_id, count, value)
      SELECT ${at} - make_interval(secs => (u * 7919) % 518400), 'bc-' || u, 'conversion', 'app', 'east', 'p' || u, 1, 50 + u % 500
      FROM generate_series(0, ${PATH_USERS - 1}) u WHERE u % 10 < 7`);
    // customers: 1–3 orders each over the last 300 days
    await pool.query(`INSERT INTO events (ts, id, type, channel, region, user_id, count, value)
      SELECT ${at} - make_interval(secs => (u::bigint * 7919 + k * 104729) % (300 * 86400)), 'bo-' || u || '-' || k, 'conversion', 'app',
             (${regions})[1 + u % ${cfg.regions.length}], 'c' || u, 1, 20 + (u::bigint * k * 13) % 900
      FROM generate_series(0, ${CUSTOMERS - 1}) u CROSS JOIN generate_series(1, 1 + u % 3) k`);
    await pool.query('ANALYZE events');
    const { rows } = await pool.query(`SELECT count(*) FILTER (WHERE type <> 'conversion')::int AS touches, count(*) FILTER (WHERE type = 'conversion')::int AS orders FROM events`);
    return { touches: rows[0].touches, orders: rows[0].orders, loadSeconds: (performance.now() - started) / 1000 };
  } finally {
    await pool.end();
  }
}

/** rows/s streaming a query's rows into Node with COPY, counted and dropped: nothing else */
async function readCeiling(stores: StoreSettings, sql: string): Promise<number> {
  const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 1 });
  const client = await pool.connect();
  try {
    const started = performance.now();
    let rows = 0;
    for await (const chunk of client.query(copyTo(`COPY (${sql}) TO STDOUT`)) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
    }
    return rows / ((performance.now() - started) / 1000);
  } finally {
    client.release();
    await pool.end();
  }
}

const row = (name: string, events: number, seconds: number, peakRssMb: number, ceiling: { name: string; perSec: number } | null, notes: string, extra: Record<string, unknown>): BenchResult => {
  const perSec = events / seconds;
  return { name, events, eventsPerSec: perSec, p50Ms: null, p95Ms: null, p99Ms: null, peakRssMb, ceiling, ratio: ceiling ? perSec / ceiling.perSec : null, notes, extra };
};

export async function benchAnalytics(cfg: AppConfig, stores: StoreSettings): Promise<BenchResult[]> {
  const now = Date.now();
  const loaded = await fill(cfg, stores, now);
  const touchRead = {
    name: 'pg-read-touch-rows',
    perSec: await readCeiling(stores, `SELECT user_id, (extract(epoch FROM ts) * 1000)::bigint, type, channel, count, value FROM events WHERE user_id LIKE 'p%' ORDER BY user_id, ts, id`),
  };
  const orderRead = { name: 'pg-read-order-rows', perSec: await readCeiling(stores, `SELECT user_id, ts, count, value::text, region FROM events WHERE type = 'conversion'`) };
  const results: BenchResult[] = [];
  const secs = (ms: number) => (ms / 1000).toFixed(2);

  const paths = await worker(stores, 'paths');
  const pathRows = loaded.touches + PATH_USERS * 0.7;
  results.push(row('attribution-paths', loaded.touches, paths.pathsMs! / 1000, paths.peakRssMb!, touchRead,
    `${paths.converting} converting + ${paths.nulls} null paths (${paths.distinct} distinct per day) from ${loaded.touches} touch events in ${secs(paths.pathsMs!)} s`, { ...paths, rowsRead: pathRows }));
  for (const model of MODELS) {
    const m = await worker(stores, `model:${model}`);
    results.push(row(`attribution-${model}`, loaded.touches, m.modelMs! / 1000, m.peakRssMb!, null,
      `model ${secs(m.modelMs!)} s over ${m.converting} conversions (paths ${secs(m.pathsMs!)} s before it); RSS ${m.rssBeforeModelMb!.toFixed(0)} MB with the paths loaded → peak ${m.peakRssMb!.toFixed(0)} MB`, m));
  }
  const job = await worker(stores, 'job:attribution');
  results.push(row('attribution-job', loaded.touches, job.ms! / 1000, job.peakRssMb!, touchRead, `all 7 models × 7 days, read to stored, ${secs(job.ms!)} s (${job.rows} credit rows)`, job));
  const segments = await worker(stores, 'job:segments');
  results.push(row('segments-job', loaded.orders, segments.ms! / 1000, segments.peakRssMb!, orderRead,
    `${segments.customers} customers from ${loaded.orders} orders in ${secs(segments.ms!)} s — customer days ${secs(segments.customerDaysMs!)}, read ${secs(segments.readMs!)}, RFM ${secs(segments.scoreMs!)}, COPY ${secs(segments.copyMs!)}, summaries ${secs(segments.summariesMs!)}, replace ${secs(segments.replaceMs!)} s; the next run (recent days only) ${secs(segments.nextMs!)} s`, segments));
  for (const channels of [8, 12, 15]) {
    const s = await worker(stores, `shapley:${channels}`);
    results.push(row(`shapley-exact-${channels}-channels`, s.paths!, s.enumerationMs! / 1000, s.peakRssMb!, null,
      `enumeration over 2^${channels} coalitions ${s.enumerationMs!.toFixed(1)} ms, closed form ${s.closedFormMs!.toFixed(1)} ms, largest difference ${s.maxDifference!.toExponential(1)}`, s));
  }
  return results.map((r) => ({ ...r, extra: { ...r.extra, loadSeconds: loaded.loadSeconds } }));
}
