// The TimescaleDB path. Runs where TIMESCALE_DATABASE_URL names a PostgreSQL with the timescaledb
// extension preloaded (the docker compose stack, or a local build); the plain path is covered by
// every other suite, and CI machines have no TimescaleDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsResponse, PointField } from '../stream/types.js';
import { generateStream, postAll, type GeneratedStream } from './event-factory.js';
import { apiSums, truthSums, withoutUsers, type TruthEvent } from './ground-truth.js';
import { startTestApp, type TestApp } from './harness.js';
import { pickedFields } from './picked-fields.js';
import { pruneCurrentHours, refreshTouched } from '../stream/db/touched.js';
import { createPool } from '../stream/connect.js';
import { migrate } from '../stream/db/migrate.js';
import { localDate } from '../server/analytics/attribution-job.js';

const url = process.env.TIMESCALE_DATABASE_URL;

describe.skipIf(!url)('TimescaleDB storage path', () => {
  let app: TestApp;
  let stream: GeneratedStream;
  const now = Date.now();

  beforeAll(async () => {
    app = await startTestApp('tsdb', { databaseUrl: url });
    // nothing is written yet: as if current_hours had been kept since this hour began (a new
    // table waits for the next whole hour), so the hour in progress is read from it
    await app.db.query(`UPDATE pipeline_meta SET value = extract(epoch FROM date_bin('1 hour', now(), 'epoch'::timestamptz))::bigint::text WHERE key = 'current_hours_since'`);
    stream = generateStream(app.cfg, 4000, 31, now);
    await postAll((events) => app.post(events), stream.deliveries);
    await app.drained();
  });
  afterAll(async () => app?.close());

  it('is chosen automatically, with hypertables, continuous aggregates and policies', async () => {
    expect(app.server.storage).toBe('timescaledb');
    const extension = await app.db.query(`SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'timescaledb'`);
    expect(extension.rows).toEqual([{ schema: 'public' }]);
    const schema = app.stores.dbSchema;
    const hypertables = await app.db.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 ORDER BY 1`, [schema]);
    expect(hypertables.rows.map((r) => r.hypertable_name)).toEqual(['events', 'rollup_10s']);
    const caggs = await app.db.query(`SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates WHERE view_schema = $1 ORDER BY 1`, [schema]);
    expect(caggs.rows).toEqual([{ view_name: 'rollup_1d', materialized_only: false }, { view_name: 'rollup_1h', materialized_only: false }]);
    // the narrow rollups are ordinary tables here too (written by the batches, purged by purgeExpired)
    const narrowTables = await app.db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name ~ '^(channel|region)_' ORDER BY 1`, [schema]);
    expect(narrowTables.rows.map((r) => r.table_name)).toEqual(['channel_days', 'channel_hours', 'channel_minutes', 'region_days', 'region_hours']);
    const jobs = await app.db.query(
      `SELECT proc_name, count(*)::int AS n FROM timescaledb_information.jobs WHERE hypertable_schema = $1 OR hypertable_name IN (
         SELECT materialization_hypertable_name FROM timescaledb_information.continuous_aggregates WHERE view_schema = $1) GROUP BY 1 ORDER BY 1`,
      [schema],
    );
    expect(jobs.rows).toEqual([
      { proc_name: 'policy_compression', n: 2 },
      { proc_name: 'policy_refresh_continuous_aggregate', n: 2 },
      { proc_name: 'policy_retention', n: 4 },
    ]);
  });

  it("the app's connections plan without chunk-wise aggregation (a partial aggregate per chunk made a region's 30 days ~10× slower)", async () => {
    const pool = createPool(url!, app.stores.dbSchema, { max: 2 });
    try {
      const shown = await Promise.all([0, 1].map(() => pool.query<{ setting: string }>(`SELECT current_setting('timescaledb.enable_chunkwise_aggregation') AS setting`)));
      expect(shown.map((r) => r.rows[0]!.setting)).toEqual(['off', 'off']);
    } finally {
      await pool.end();
    }
  });

  const regionOf = (e: TruthEvent) => e.region ?? (e.store ? app.cfg.storeById.get(e.store)!.region : undefined);

  /** by channel and by region (read from the narrow rollups) and by store (from the continuous aggregates and the marked hours) */
  async function expectExact(step: '1h' | '1d' | '10s', stepMs: number, from: number) {
    // (an hour of 10 s buckets by store would pass the points an answer holds; 10 s reads no aggregate)
    for (const groupBy of step === '10s' ? (['channel', 'region'] as const) : (['channel', 'region', 'store'] as const)) {
      const body = (await (await app.get(`/api/v1/metrics?from=${from}&to=${now + 60_000}&step=${step}&groupBy=${groupBy}`)).json()) as MetricsResponse;
      const keyOf = (e: TruthEvent) => (groupBy === 'region' ? regionOf(e) : e[groupBy]) ?? null;
      let points = 0;
      for (const series of body.series) {
        for (const point of series.points) {
          const start = Date.parse(point.t);
          const truth = truthSums(stream.unique, (e) => keyOf(e) === (series.key[groupBy] ?? null) && e.ts >= start && e.ts < start + stepMs);
          expect(apiSums(point), `${step} ${groupBy} ${series.key[groupBy]} ${point.t}`).toEqual(withoutUsers(truth));
          expect(point.uniqueUsers).toBe(truth.users.size);
          points++;
        }
      }
      expect(points).toBeGreaterThan(0);
    }
  }

  /** Late events posted and counted while the processors' refresher is held off, so they wait behind the aggregates during `check`. */
  async function withLateEventsUnrefreshed(seed: number, check: () => Promise<void>) {
    const holder = await app.db.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('marketing-wall-touched_hours')), pg_advisory_lock(hashtext('marketing-wall-touched_days'))`);
      const late = generateStream(app.cfg, 300, seed, now);
      await postAll((events) => app.post(events), late.deliveries);
      await app.drained();
      stream.unique.push(...late.unique);
      await check();
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      holder.release();
    }
  }

  it('answers exactly like plain PostgreSQL at 10 s, 1 h and 1 d', async () => {
    await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
    await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
    await expectExact('10s', 10_000, now - 3_600_000);
  });

  it('shows late events at once, also after the aggregates were refreshed', async () => {
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)`);
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1d', NULL, NULL)`);
    const late = generateStream(app.cfg, 500, 37, now);
    await postAll((events) => app.post(events), late.deliveries);
    await app.drained();
    stream.unique.push(...late.unique);
    await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
    await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
  });

  it('answers fields= as the whole answer cut down, from the aggregates and from the hours waiting behind them', async () => {
    const cuts = ['step=1h&groupBy=store', 'step=1d&groupBy=store', 'step=1d&groupBy=channel', 'step=1h&region=east', 'step=1d', 'step=10s&groupBy=channel'];
    const fieldSets: PointField[][] = [['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'newUsers'], ['uniqueUsers'], ['roi', 'cvr'], ['visits', 'newUsers']];
    const range = (cut: string) => `/api/v1/metrics?from=${cut.startsWith('step=10s') ? now - 3_600_000 : now - 3 * 86_400_000}&to=${now + 60_000}&${cut}`;
    const expectCutDown = async () => {
      for (const cut of cuts) {
        const whole = (await (await app.get(range(cut))).json()) as MetricsResponse;
        expect(whole.series.length, cut).toBeGreaterThan(0);
        for (const fields of fieldSets) {
          const response = await app.get(`${range(cut)}&fields=${fields.join(',')}`);
          expect(response.status, `${cut} fields=${fields}`).toBe(200);
          expect(await response.json(), `${cut} fields=${fields}`).toEqual(pickedFields(whole, fields));
        }
      }
    };
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)`);
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1d', NULL, NULL)`);
    await expectCutDown();
    await withLateEventsUnrefreshed(59, expectCutDown);
  });

  it('re-aggregates only the hours written behind the aggregates, until a refresh covers them', async () => {
    // the hour and the day in progress stay marked until they are over
    const marks = async () => (await app.db.query<{ n: number }>(`SELECT (SELECT count(*) FROM touched_hours WHERE bucket + INTERVAL '1 hour' <= now())
      + (SELECT count(*) FROM touched_days WHERE bucket + INTERVAL '1 day' <= now()) AS n`)).rows[0]!.n;
    const clearAll = async () => {
      for (let i = 0; i < 100 && Number(await marks()) > 0; i++) {
        await refreshTouched(app.db, 'hours');
        await refreshTouched(app.db, 'days');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(Number(await marks())).toBe(0);
    };
    await clearAll();
    // nothing done waits: every hour and day before the current ones comes from the aggregates
    await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
    await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
    // the processors' refresher held off: late events wait in the marks, and still show at once
    await withLateEventsUnrefreshed(43, async () => {
      expect(Number(await marks())).toBeGreaterThan(0);
      await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
      await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
    });
    await clearAll();
    await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
    await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
  }, 120_000);

  it("counts late events in attribution's revenue at once, before a refresh covers their hours", async () => {
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)`);
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1d', NULL, NULL)`);
    const to = localDate(now, app.cfg.dayOffsetMs);
    const from = localDate(now - 3 * 86_400_000, app.cfg.dayOffsetMs);
    const fromMs = Date.parse(`${from}T00:00:00Z`) - app.cfg.dayOffsetMs;
    const toMs = Date.parse(`${to}T00:00:00Z`) - app.cfg.dayOffsetMs + 86_400_000;
    await withLateEventsUnrefreshed(47, async () => {
      const body = (await (await app.get(`/api/v1/attribution?from=${from}&to=${to}`)).json()) as { revenue: number };
      const truth = truthSums(stream.unique, (e) => e.ts >= fromMs && e.ts < toMs);
      expect(truth.revenueCents).toBeGreaterThan(0);
      expect(Math.round(body.revenue * 100)).toBe(truth.revenueCents);
    });
  });

  it('fills the narrow rollups a schema lacks exactly, late events still waiting behind the aggregates included', async () => {
    const marked = async () => Number((await app.db.query(`SELECT count(*) AS n FROM touched_hours WHERE bucket + INTERVAL '1 hour' <= now()`)).rows[0].n);
    // the aggregates materialised: the late events below land behind them
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)`);
    await app.db.query(`CALL refresh_continuous_aggregate('rollup_1d', NULL, NULL)`);
    await withLateEventsUnrefreshed(53, async () => {
      expect(await marked()).toBeGreaterThan(0);
      // a schema from before the narrow rollups
      await app.db.query(`DROP TABLE channel_minutes, channel_hours, channel_days, region_hours, region_days`);
    });
    // the migration (which holds the refreshes off itself) makes and fills them, at once: the
    // processors' next refresh is seconds away
    await migrate(app.db, app.cfg, app.stores.dbSchema);
    // by channel and by region the answers come from them
    await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
    await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
  });

  it('reads the hour in progress from the sums the batches kept of it, not from the 10 s rollup', async () => {
    const hour = async () => (await app.db.query<{ h: Date }>(`SELECT date_bin('1 hour', now(), 'epoch'::timestamptz) AS h`)).rows[0]!.h.getTime();
    const start = await hour();
    const truth = truthSums(stream.unique, (e) => e.ts >= start && e.ts < start + 3_600_000);
    expect(truth.exposure + truth.clicks, 'the stream has events in the hour in progress').toBeGreaterThan(0);
    const kept = (await app.db.query(`SELECT sum(exposure)::int AS exposure, sum(clicks)::int AS clicks, sum(conversions)::int AS conversions FROM current_hours WHERE bucket = $1`, [new Date(start).toISOString()])).rows[0];
    expect(kept).toEqual({ exposure: truth.exposure, clicks: truth.clicks, conversions: truth.conversions });
    // hours that no batch writes any more are pruned
    await app.db.query(`INSERT INTO current_hours SELECT date_bin('1 hour', now(), 'epoch'::timestamptz) - INTERVAL '3 hours', channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend FROM current_hours LIMIT 1`);
    await pruneCurrentHours(app.db);
    expect((await app.db.query(`SELECT count(*)::int AS n FROM current_hours WHERE bucket < $1`, [new Date(start - 3_600_000).toISOString()])).rows[0].n).toBe(0);
    // a mark on a row kept there shows in the answers, at 1 h and in the day holding the hour (by
    // store: cuts by channel or region read the narrow rollups)
    const exposureAt = async (step: '1h' | '1d') => {
      const body = (await (await app.get(`/api/v1/metrics?from=${start}&to=${start + 60_000}&step=${step}&groupBy=store`)).json()) as MetricsResponse;
      return body.series.reduce((total, series) => total + series.points.reduce((sum, p) => sum + p.exposure, 0), 0);
    };
    const before = { hour: await exposureAt('1h'), day: await exposureAt('1d') };
    expect(before.hour).toBe(truth.exposure);
    await app.db.query(`UPDATE current_hours SET exposure = exposure + 1000 WHERE ctid = (SELECT ctid FROM current_hours WHERE bucket = $1 LIMIT 1)`, [new Date(start).toISOString()]);
    try {
      const after = { hour: await exposureAt('1h'), day: await exposureAt('1d') };
      if ((await hour()) !== start) return; // the hour ended meanwhile: it is read from the 10 s rollup now
      expect(after).toEqual({ hour: before.hour + 1000, day: before.day + 1000 });
    } finally {
      await app.db.query(`UPDATE current_hours SET exposure = exposure - 1000 WHERE ctid = (SELECT ctid FROM current_hours WHERE bucket = $1 AND exposure >= 1000 LIMIT 1)`, [new Date(start).toISOString()]);
    }
  });
});
