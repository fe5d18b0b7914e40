// The segments job: every customer's orders per local day are kept in customer_days (refreshed
// from the raw events for the days late events may still change, and kept for the whole history
// horizon, longer than the raw events live); from them each customer's RFM scores, tier and
// lifecycle stage, the counts per region × tier × stage, and the moves between tiers since the
// previous run — all replaced in one transaction, so a run killed half way leaves the last whole.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AppConfig } from '../../config/load.js';
import { DAY, floorTo } from '../../stream/buckets.js';
import { copyOutRows } from '../../stream/db/copy-out.js';
import { inTransaction } from '../../stream/db/transaction.js';
import { STAGES, TIERS } from '../../stream/segment-names.js';
import type { SegmentsView } from '../../stream/types.js';
import type { JobContext } from '../jobs/runner.js';
import { localDate } from './attribution-job.js';
import { segmentCustomers, type LifecycleThresholds } from './segments/rfm.js';

export interface SegmentSettings {
  historyMs: number;
  lifecycle: LifecycleThresholds;
}

/** The job's settings from jobs.yaml. */
export function segmentSettings(cfg: AppConfig): SegmentSettings {
  const { history, lifecycle } = cfg.jobs.segments;
  return {
    historyMs: history,
    lifecycle: { newWithinMs: lifecycle.newWithin, activeWithinMs: lifecycle.activeWithin, loyalOrders: lifecycle.loyalOrders, churnedAfterMs: lifecycle.churnedAfter },
  };
}

/** runs (with their counts and moves) are kept this long */
const RUNS_KEPT_DAYS = 90;

export async function migrateSegments(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS customer_days (
    user_id text NOT NULL, day date NOT NULL, orders bigint NOT NULL, value numeric(20,4) NOT NULL,
    first_ts timestamptz NOT NULL, last_ts timestamptz NOT NULL, region text, PRIMARY KEY (user_id, day))`);
  await pool.query(`CREATE INDEX IF NOT EXISTS customer_days_day ON customer_days (day)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS segment_runs (
    id bigserial PRIMARY KEY, computed_at timestamptz NOT NULL, customers bigint NOT NULL)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS customer_segments (
    user_id text PRIMARY KEY, region text, first_order timestamptz NOT NULL, last_order timestamptz NOT NULL,
    orders bigint NOT NULL, monetary numeric(20,4) NOT NULL, r smallint NOT NULL, f smallint NOT NULL, m smallint NOT NULL,
    tier text NOT NULL, stage text NOT NULL)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS segment_counts (
    run_id bigint NOT NULL REFERENCES segment_runs ON DELETE CASCADE, region text NOT NULL, tier text NOT NULL, stage text NOT NULL,
    customers bigint NOT NULL, value numeric(20,4) NOT NULL, PRIMARY KEY (run_id, region, tier, stage))`);
  await pool.query(`CREATE TABLE IF NOT EXISTS segment_moves (
    run_id bigint NOT NULL REFERENCES segment_runs ON DELETE CASCADE, region text NOT NULL, from_tier text NOT NULL, to_tier text NOT NULL,
    customers bigint NOT NULL, PRIMARY KEY (run_id, region, from_tier, to_tier))`);
}

/** A timestamp's local calendar date in SQL (days start at local midnight of the configured offset). */
const localDay = (column: string, cfg: AppConfig) => `((${column} AT TIME ZONE 'UTC') + interval '${cfg.dayOffsetMs / 1000} seconds')::date`;

/**
 * Rebuilds customer_days from the raw events for the days that may have changed since the last
 * run: late events are accepted up to `lateness` old, so from a day before (last run − lateness).
 * The first run rebuilds every day the raw events cover (older days, e.g. imported history, stay).
 */
async function refreshCustomerDays(client: PoolClient, cfg: AppConfig, historyStart: number): Promise<void> {
  await client.query(`DELETE FROM customer_days WHERE day < $1`, [localDate(historyStart, cfg.dayOffsetMs)]);
  const last = await client.query<{ at: Date | null }>(`SELECT max(computed_at) AS at FROM segment_runs`);
  const lastRun = last.rows[0]!.at?.getTime();
  let from: number;
  if (lastRun !== undefined) from = floorTo(lastRun - cfg.pipeline.events.lateness, DAY, cfg.dayOffsetMs) - DAY;
  else {
    const first = await client.query<{ at: Date | null }>(`SELECT min(ts) AS at FROM events WHERE type = 'conversion' AND user_id IS NOT NULL`);
    if (!first.rows[0]!.at) return;
    from = floorTo(first.rows[0]!.at.getTime(), DAY, cfg.dayOffsetMs);
  }
  await client.query(`DELETE FROM customer_days WHERE day >= $1`, [localDate(from, cfg.dayOffsetMs)]);
  await client.query(
    `INSERT INTO customer_days (user_id, day, orders, value, first_ts, last_ts, region)
     SELECT user_id, ${localDay('ts', cfg)}, sum(count), sum(value), min(ts), max(ts),
            (array_agg(region ORDER BY ts DESC) FILTER (WHERE region IS NOT NULL))[1]
     FROM events WHERE type = 'conversion' AND user_id IS NOT NULL AND ts >= $1
     GROUP BY 1, 2`,
    [new Date(from).toISOString()],
  );
}

export async function runSegments(pool: Pool, cfg: AppConfig, settings: SegmentSettings, ctx: JobContext, now = Date.now()): Promise<number> {
  const historyStart = floorTo(now - settings.historyMs, DAY, cfg.dayOffsetMs);
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string) => {
    phases[`${name}Ms`] = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
  };
  return inTransaction(pool, async (client) => {
    await refreshCustomerDays(client, cfg, historyStart);
    phase('customerDays');
    // the customers stay in the database; only the four numbers the scores need come over, by row number
    await client.query(`CREATE TEMP TABLE customers_now ON COMMIT DROP AS
      SELECT row_number() OVER ()::int AS n, user_id, region, first_order, last_order, orders, monetary FROM (
        SELECT user_id, (array_agg(region ORDER BY last_ts DESC) FILTER (WHERE region IS NOT NULL))[1] AS region,
               min(first_ts) AS first_order, max(last_ts) AS last_order, sum(orders)::bigint AS orders, sum(value) AS monetary
        FROM customer_days GROUP BY user_id) c`);
    const n = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM customers_now`)).rows[0]!.n);
    const columns = { firstOrderAt: new Float64Array(n), lastOrderAt: new Float64Array(n), orders: new Float64Array(n), monetary: new Float64Array(n) };
    for await (const [row, first, last, orders, monetary] of copyOutRows(client,
      `SELECT n, extract(epoch FROM first_order) * 1000, extract(epoch FROM last_order) * 1000, orders, monetary FROM customers_now`)) {
      const i = Number(row) - 1;
      columns.firstOrderAt[i] = Number(first);
      columns.lastOrderAt[i] = Number(last);
      columns.orders[i] = Number(orders);
      columns.monetary[i] = Number(monetary);
    }
    phase('read');
    const segments = segmentCustomers(columns, now, settings.lifecycle);
    phase('score');
    if (ctx.aborted()) throw new Error('aborted before writing');

    await client.query(`CREATE TEMP TABLE customer_scores (n int PRIMARY KEY, r smallint, f smallint, m smallint, tier text, stage text) ON COMMIT DROP`);
    function* lines() {
      for (let i = 0; i < n; i++) yield `${i + 1}\t${segments.r[i]}\t${segments.f[i]}\t${segments.m[i]}\t${segments.tier[i]}\t${segments.stage[i]}\n`;
    }
    await pipeline(Readable.from(batched(lines(), 5_000)), client.query(copyFrom('COPY customer_scores FROM STDIN')));
    await client.query(`CREATE TEMP TABLE segments_new ON COMMIT DROP AS
      SELECT c.user_id, c.region, c.first_order, c.last_order, c.orders, c.monetary, s.r, s.f, s.m, s.tier, s.stage
      FROM customers_now c JOIN customer_scores s USING (n)`);
    phase('copy');

    const run = await client.query<{ id: string }>(`INSERT INTO segment_runs (computed_at, customers) VALUES ($1, $2) RETURNING id`, [new Date(now).toISOString(), n]);
    const runId = run.rows[0]!.id;
    await client.query(
      `INSERT INTO segment_moves (run_id, region, from_tier, to_tier, customers)
       SELECT $1::bigint, coalesce(fresh.region, old.region, ''), coalesce(old.tier, ''), coalesce(fresh.tier, ''), count(*)
       FROM segments_new fresh FULL JOIN customer_segments old USING (user_id)
       WHERE old.tier IS DISTINCT FROM fresh.tier GROUP BY 1, 2, 3, 4`,
      [runId],
    );
    await client.query(
      `INSERT INTO segment_counts (run_id, region, tier, stage, customers, value)
       SELECT $1::bigint, coalesce(region, ''), tier, stage, count(*), sum(monetary) FROM segments_new GROUP BY 1, 2, 3, 4`,
      [runId],
    );
    phase('summaries');
    await client.query(`TRUNCATE customer_segments`);
    await client.query(`INSERT INTO customer_segments SELECT * FROM segments_new`);
    await client.query(`DELETE FROM segment_runs WHERE computed_at < $1`, [new Date(now - RUNS_KEPT_DAYS * DAY).toISOString()]);
    phase('replace');
    if (ctx.aborted()) throw new Error('the job lock was lost; nothing written');
    ctx.log.info({ customers: n, ...phases }, 'segments computed');
    return n;
  });
}

/** joins lines into chunks, so COPY gets a few large writes rather than a million small ones */
function* batched(lines: Iterable<string>, size: number) {
  let chunk: string[] = [];
  for (const line of lines) {
    chunk.push(line);
    if (chunk.length === size) {
      yield chunk.join('');
      chunk = [];
    }
  }
  if (chunk.length) yield chunk.join('');
}

/** The last run's segments (or the last by `asOf`, for replay) for `regions` (null: everything), compared with the run before it. */
export async function readSegments(pool: Pool, regions: string[] | null, asOf?: number): Promise<SegmentsView> {
  const runs = await pool.query<{ id: string; computed_at: Date }>(
    `SELECT id, computed_at FROM segment_runs WHERE $1::timestamptz IS NULL OR computed_at <= $1 ORDER BY computed_at DESC, id DESC LIMIT 2`,
    [asOf === undefined ? null : new Date(asOf).toISOString()],
  );
  const [latest, previous] = runs.rows;
  const view: SegmentsView = {
    runAt: latest?.computed_at.toISOString() ?? null, previousRunAt: previous?.computed_at.toISOString() ?? null, regions, customers: 0,
    tiers: TIERS.map((tier) => ({ tier, customers: 0, value: 0, change: previous ? 0 : null })),
    stages: STAGES.map((stage) => ({ stage, customers: 0, change: previous ? 0 : null })),
    byRegion: [], moves: [],
  };
  if (!latest) return view;
  const counts = await pool.query<{ run_id: string; region: string; tier: string; stage: string; customers: string; value: string }>(
    `SELECT run_id, region, tier, stage, customers::text, value::text FROM segment_counts
     WHERE run_id = ANY($1) AND ($2::text[] IS NULL OR region = ANY($2))`,
    [runs.rows.map((r) => r.id), regions],
  );
  const tierOf = new Map(view.tiers.map((t) => [t.tier, t]));
  const stageOf = new Map(view.stages.map((s) => [s.stage, s]));
  const regionsOf = new Map<string, SegmentsView['byRegion'][number]>();
  for (const row of counts.rows) {
    const customers = Number(row.customers);
    const tier = tierOf.get(row.tier);
    const stage = stageOf.get(row.stage);
    if (row.run_id !== latest.id) {
      if (tier) tier.change! -= customers;
      if (stage) stage.change! -= customers;
      continue;
    }
    view.customers += customers;
    if (tier) {
      tier.customers += customers;
      tier.value += Number(row.value);
      if (previous) tier.change! += customers;
    }
    if (stage) {
      stage.customers += customers;
      if (previous) stage.change! += customers;
    }
    if (!row.region) continue;
    let region = regionsOf.get(row.region);
    if (!region) regionsOf.set(row.region, (region = { region: row.region, customers: 0, tiers: Object.fromEntries(TIERS.map((t) => [t, 0])) }));
    region.customers += customers;
    region.tiers[row.tier] = (region.tiers[row.tier] ?? 0) + customers;
  }
  view.byRegion = [...regionsOf.values()].sort((a, b) => b.customers - a.customers);
  const moves = await pool.query<{ from_tier: string; to_tier: string; customers: string }>(
    `SELECT from_tier, to_tier, sum(customers)::text AS customers FROM segment_moves
     WHERE run_id = $1 AND ($2::text[] IS NULL OR region = ANY($2)) GROUP BY 1, 2 ORDER BY 3 DESC`,
    [latest.id, regions],
  );
  view.moves = moves.rows.map((m) => ({ from: m.from_tier, to: m.to_tier, customers: Number(m.customers) }));
  return view;
}
