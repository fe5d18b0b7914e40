// Drill-down at a retailer's volume: the queries the wall sends at once when someone picks
// "30 days" or "7 days" for the nation, a region or a store, over a month of history (~1 M raw
// events a day, written with COPY: ingest refuses events older than the 48 h lateness, as it
// should); then "why did it move?" over the last hour and replay jumps.
import type { AppConfig } from '../../config/load.js';
import { DAY, floorTo } from '../../stream/buckets.js';
import type { Pool } from 'pg';
import { createPool, type StoreSettings } from '../../stream/connect.js';
import { migrate } from '../../stream/db/migrate.js';
import { HOUR_NOW } from '../../stream/db/touched.js';
import { BREAKDOWN_FIELDS, BREAKDOWN_WITH_NEW_USERS } from '../../screen/view-model.js';
import { loadHistory } from './drilldown-history.js';
import { login } from './ingest.js';
import { freePort, spawnApp, stop, storeEnv, waitReady } from './processes.js';
import { percentile, type BenchResult } from './report.js';


/** views measured after a lull, and its length: past pg-pool's 30 s idle timeout */
const LULLS = 3;
const LULL_MS = 35_000;

export interface DrillDownOptions {
  days: number;
  rounds: number;
  eventsPerDay: number;
  customers: number;
  /** the schema holds an earlier run's history: measure only */
  reuse?: boolean;
}

const SUMS = `&fields=${BREAKDOWN_FIELDS.join(',')}`;
const SUMS_AND_NEW_USERS = `&fields=${BREAKDOWN_WITH_NEW_USERS.join(',')}`;

/** The queries a wall view sends at once for a range (screen/stores/view.ts), with the fields it asks each for. */
function viewQueries(level: 'nation' | 'region' | 'store', scope: string, from: number, now: number, trendStep: string): string[] {
  const span = now - from;
  const queries = [
    `from=${from}&to=${now}&step=1d${scope}`,
    `from=${from - span}&to=${now - span}&step=1d${scope}${SUMS_AND_NEW_USERS}`,
    `from=${from}&to=${now}&step=${trendStep}&groupBy=channel${scope}${SUMS_AND_NEW_USERS}`,
  ];
  if (level !== 'store') queries.push(`from=${from}&to=${now}&step=1d&groupBy=${level === 'nation' ? 'region' : 'store'}${scope}${SUMS}`);
  if (level === 'nation') queries.push(`from=${from}&to=${now}&step=1d&groupBy=store${scope}${SUMS}`);
  return queries;
}

/** The server's alert evaluation so far, from its metrics: how many cycles, in how many seconds (the first is the cold one). */
async function evaluationSoFar(url: string): Promise<{ cycles: number; seconds: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { cycles: read('mw_alert_evaluation_seconds_count'), seconds: read('mw_alert_evaluation_seconds_sum') };
}

/**
 * On TimescaleDB, the state a running pipeline keeps at any moment: the hour and the day in
 * progress marked behind the aggregates, and the hour's sums in current_hours (kept since before
 * it began). A loaded history without it would read the aggregates alone, cheaper than production.
 */
async function asWhileEventsFlow(pool: Pool, dayStart: number): Promise<void> {
  await pool.query(`INSERT INTO touched_hours (bucket, version) VALUES (${HOUR_NOW}, nextval('touched_version')) ON CONFLICT (bucket) DO NOTHING`);
  await pool.query(`INSERT INTO touched_days (bucket, version) VALUES ($1, nextval('touched_version')) ON CONFLICT (bucket) DO NOTHING`, [new Date(dayStart).toISOString()]);
  await pool.query(`DELETE FROM current_hours`);
  await pool.query(`INSERT INTO current_hours (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend)
    SELECT date_bin('1 hour', bucket, 'epoch'::timestamptz), channel, region, store, campaign, sum(exposure), sum(clicks), sum(visits), sum(conversions), sum(revenue), sum(spend)
    FROM rollup_10s WHERE bucket >= ${HOUR_NOW} GROUP BY 1, 2, 3, 4, 5`);
  await pool.query(`UPDATE pipeline_meta SET value = extract(epoch FROM ${HOUR_NOW})::bigint::text WHERE key = 'current_hours_since'`);
}

export async function benchDrillDown(cfg: AppConfig, stores: StoreSettings, options: DrillDownOptions): Promise<BenchResult[]> {
  const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 4 });
  const storage = await migrate(pool, cfg, stores.dbSchema);
  const now = Date.now();
  // the 10 s rollup as far back as production keeps it: the alert evaluator's look-backs read it
  const loaded = options.reuse
    ? { events: Number((await pool.query(`SELECT count(*) AS n FROM events`)).rows[0].n), customers: Number((await pool.query(`SELECT count(*) AS n FROM first_seen WHERE scope = 'all'`)).rows[0].n), seconds: 0 }
    : await loadHistory(pool, cfg, storage, { days: options.days, eventsPerDay: options.eventsPerDay, customers: options.customers, now, fineDays: Math.min(options.days, Math.ceil(cfg.pipeline.retention.rollup10s / DAY)) });
  if (storage === 'timescaledb') await asWhileEventsFlow(pool, floorTo(Date.now(), DAY, cfg.dayOffsetMs));
  const { rows: [sizes] } = await pool.query<{ events: string; sketches: string; first_seen: string }>(
    `SELECT pg_size_pretty(pg_total_relation_size('events')) AS events, pg_size_pretty(pg_total_relation_size('user_sketches')) AS sketches,
            pg_size_pretty(pg_total_relation_size('first_seen')) AS first_seen`,
  );
  await pool.end();

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnApp('server', { ...storeEnv(stores), PORT: String(port), SIMULATE: '0', PROCESSORS: '0', JOBS: '0' });
  try {
    await waitReady(url);
    const token = await login(url);
    // the server's alert rules judge the same month: its first, cold cycle reads their whole
    // look-back; the rounds start once it is done, and the cycles after it are measured beside them
    const coldBy = Date.now() + 60_000;
    let evaluated = await evaluationSoFar(url);
    while (evaluated.cycles < 1 && Date.now() < coldBy) {
      await new Promise((r) => setTimeout(r, 100));
      evaluated = await evaluationSoFar(url);
    }
    if (evaluated.cycles < 1) throw new Error('the server evaluated no alert cycle within 60 s');
    const cold = evaluated;
    const get = (query: string) => fetch(`${url}/api/v1/metrics?${query}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
      if (!r.ok) throw new Error(`${query}: ${r.status} ${await r.text()}`);
      return r.json();
    });
    const dayStart = floorTo(now, DAY, cfg.dayOffsetMs);
    const views: Array<{ name: string; level: 'nation' | 'region' | 'store'; days: number; times: number[] }> = [];
    for (const days of [options.days, 7]) {
      for (const level of ['nation', 'region', 'store'] as const) views.push({ name: `drilldown-${level}-${days}d`, level, days, times: [] });
    }
    const storeIds = [...cfg.storeById.keys()];
    // one round unmeasured: the first read after the load finds nothing cached
    for (let round = -1; round < options.rounds; round++) {
      for (const view of views) {
        const r = Math.max(round, 0);
        const scope = view.level === 'nation' ? '' : view.level === 'region' ? `&region=${cfg.regions[r % cfg.regions.length]!.id}` : `&store=${storeIds[(r * 7) % storeIds.length]}`;
        const queries = viewQueries(view.level, scope, dayStart - (view.days - 1) * DAY, now, view.days === 7 ? '1h' : '1d');
        const t0 = performance.now();
        await Promise.all(queries.map(get));
        if (round >= 0) view.times.push(performance.now() - t0);
      }
    }
    const drillResults: BenchResult[] = views.map((view) => {
      view.times.sort((a, b) => a - b);
      const target = view.days === 7 ? 60 : 100;
      return {
        name: view.name, events: loaded.events, eventsPerSec: null,
        p50Ms: percentile(view.times, 50), p95Ms: percentile(view.times, 95), p99Ms: percentile(view.times, 99), peakRssMb: null,
        ceiling: null, ratio: null,
        notes: `${storage}: the wall's ${viewQueries(view.level, '', 0, 1, '1d').length} queries at once for a ${view.level}'s ${view.days} days, ${options.rounds} rounds after one unmeasured ` +
          `(target p95 ≤ ${target} ms); ${loaded.events} stored events over ${options.days} days, ${loaded.customers} customers (events ${sizes!.events}, sketches ${sizes!.sketches}, first-seen ${sizes!.first_seen}; loaded in ${loaded.seconds.toFixed(0)} s)`,
        extra: { storage, days: view.days, level: view.level, targetP95Ms: target },
      };
    });
    // "why did it move?" over the last hour against the same hour yesterday: a sum and a ratio, nation and a region
    const explainTimes: number[] = [];
    const todayTimes: number[] = [];
    const explain = (query: string) => fetch(`${url}/api/v1/explain?${query}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
      if (!r.ok) throw new Error(`explain ${query}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<{ top: unknown[]; current: number }>;
    });
    // the last hour, in 10 s buckets, against the same hour yesterday
    const hourTo = Math.floor(now / 10_000) * 10_000;
    const hourFrom = hourTo - 3_600_000;
    for (let round = 0; round < options.rounds; round++) {
      for (const query of [`metric=revenue&from=${hourFrom}&to=${hourTo}`, `metric=cvr&from=${hourFrom}&to=${hourTo}`, `metric=revenue&from=${hourFrom}&to=${hourTo}&region=${cfg.regions[round % cfg.regions.length]!.id}`]) {
        const t0 = performance.now();
        const answer = await explain(query);
        explainTimes.push(performance.now() - t0);
        if (!answer.top.length || !answer.current) throw new Error(`explain ${query}: nothing to explain — the bench would measure an empty hour`);
      }
      // a tile's question: today since midnight against yesterday
      const t0 = performance.now();
      await explain('metric=revenue');
      todayTimes.push(performance.now() - t0);
    }
    todayTimes.sort((a, b) => a - b);
    // replay: jumping to an instant — in the last hour (10 s buckets), and any of the 30 days
    const replayTimes: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const instants = [now - Math.floor((round / options.rounds) * 3_600_000), now - Math.floor(((round * 7919) % options.rounds) / options.rounds * 2 * DAY) - 3_600_000];
      for (const [i, at] of instants.entries()) {
        const region = i === 1 ? `&region=${cfg.regions[round % cfg.regions.length]!.id}` : '';
        const t0 = performance.now();
        const r = await fetch(`${url}/api/v1/replay?at=${at}${region}`, { headers: { authorization: `Bearer ${token}` } });
        if (!r.ok) throw new Error(`replay ${at}: ${r.status} ${await r.text()}`);
        await r.json();
        replayTimes.push(performance.now() - t0);
      }
    }
    replayTimes.sort((a, b) => a - b);
    const replayResult: BenchResult = {
      name: 'replay-jump', events: loaded.events, eventsPerSec: null,
      p50Ms: percentile(replayTimes, 50), p95Ms: percentile(replayTimes, 95), p99Ms: percentile(replayTimes, 99), peakRssMb: null,
      ceiling: null, ratio: null,
      notes: `GET /api/v1/replay at ${replayTimes.length} instants (the last hour's, nation; any of the last 2 days, a region's): the whole frame, alerts, segments and attribution of the moment; target: the wall painted ≤ 1 s`,
      extra: { storage },
    };
    // the nation's week asked for after a lull longer than the pools' idle timeout (a store manager
    // reading a chart before the next click): connections closed by then would be opened again on
    // its account; the alert evaluator keeps running through it, as in production
    const lullTimes: number[] = [];
    for (let lull = 0; lull < LULLS; lull++) {
      await new Promise((r) => setTimeout(r, LULL_MS));
      const t0 = performance.now();
      await Promise.all(viewQueries('nation', '', dayStart - 6 * DAY, now, '1h').map(get));
      lullTimes.push(performance.now() - t0);
    }
    lullTimes.sort((a, b) => a - b);
    const lullResult: BenchResult = {
      name: 'drilldown-nation-7d-after-lull', events: loaded.events, eventsPerSec: null,
      p50Ms: percentile(lullTimes, 50), p95Ms: lullTimes.at(-1)!, p99Ms: lullTimes.at(-1)!, peakRssMb: null,
      ceiling: null, ratio: null,
      notes: `${storage}: the nation's 7-day view (5 queries at once) after ${LULL_MS / 1000} s without a view, ${LULLS} times (p95 and p99 are the slowest; target as warm, ≤ 60 ms): ${lullTimes.map((t) => t.toFixed(0)).join(', ')} ms`,
      extra: { storage, lullMs: LULL_MS, times: lullTimes, targetP95Ms: 60 },
    };
    explainTimes.sort((a, b) => a - b);
    const explainResult: BenchResult = {
      name: 'explain-1h', events: loaded.events, eventsPerSec: null,
      p50Ms: percentile(explainTimes, 50), p95Ms: percentile(explainTimes, 95), p99Ms: percentile(explainTimes, 99), peakRssMb: null,
      ceiling: null, ratio: null,
      notes: `GET /api/v1/explain over the last hour (10 s buckets) vs the same hour yesterday (revenue and conversion rate nationwide, revenue of a region), ${explainTimes.length} answers from the rollups over ${loaded.events} stored events (target ≤ 300 ms); a tile's "today vs yesterday": p50 ${percentile(todayTimes, 50)?.toFixed(0)} ms, p95 ${percentile(todayTimes, 95)?.toFixed(0)} ms`,
      extra: { storage },
    };
    const steady = await evaluationSoFar(url);
    const cycles = steady.cycles - cold.cycles;
    const meanMs = cycles > 0 ? ((steady.seconds - cold.seconds) / cycles) * 1000 : null;
    const evaluationResult: BenchResult = {
      name: 'alert-cycle-at-volume', events: loaded.events, eventsPerSec: null, p50Ms: null, p95Ms: null, p99Ms: null, peakRssMb: null, ceiling: null, ratio: null,
      notes: `the shipped alert rules over the same ${loaded.events} stored events, every ${cfg.alerts.evaluation.interval / 1000} s while the rounds above ran: ` +
        `${cycles} cycles, mean ${meanMs?.toFixed(0)} ms; the first, cold cycle ${(cold.seconds * 1000).toFixed(0)} ms (its look-backs read whole)`,
      extra: { storage, cycles, meanMs, coldMs: cold.seconds * 1000 },
    };
    return [...drillResults, lullResult, explainResult, replayResult, evaluationResult];
  } finally {
    await stop(server);
  }
}
