// The TimescaleDB path. Runs where TIMESCALE_DATABASE_URL names a PostgreSQL with the timescaledb
// extension preloaded (the docker compose stack, or a local build); the plain path is covered by
// every other suite, and CI machines have no TimescaleDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsResponse } from '../stream/types.js';
import { generateStream, postAll, type GeneratedStream } from './event-factory.js';
import { apiSums, truthSums, withoutUsers } from './ground-truth.js';
import { startTestApp, type TestApp } from './harness.js';
import { refreshTouched } from '../stream/db/touched.js';

const url = process.env.TIMESCALE_DATABASE_URL;

describe.skipIf(!url)('TimescaleDB storage path', () => {
  let app: TestApp;
  let stream: GeneratedStream;
  const now = Date.now();

  beforeAll(async () => {
    app = await startTestApp('tsdb', { databaseUrl: url });
    stream = generateStream(app.cfg, 4000, 31, now);
    await postAll((events) => app.post(events), stream.deliveries);
    await app.drained();
  });
  afterAll(async () => app?.close());

  it('is chosen automatically, with hypertables, continuous aggregates and policies', async () => {
    expect(app.server.storage).toBe('timescaledb');
    const schema = app.stores.dbSchema;
    const hypertables = await app.db.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 ORDER BY 1`, [schema]);
    expect(hypertables.rows.map((r) => r.hypertable_name)).toEqual(['events', 'rollup_10s']);
    const caggs = await app.db.query(`SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates WHERE view_schema = $1 ORDER BY 1`, [schema]);
    expect(caggs.rows).toEqual([{ view_name: 'rollup_1d', materialized_only: false }, { view_name: 'rollup_1h', materialized_only: false }]);
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

  async function expectExact(step: '1h' | '1d' | '10s', stepMs: number, from: number) {
    const body = (await (await app.get(`/api/v1/metrics?from=${from}&to=${now + 60_000}&step=${step}&groupBy=channel`)).json()) as MetricsResponse;
    let points = 0;
    for (const series of body.series) {
      for (const point of series.points) {
        const start = Date.parse(point.t);
        const truth = truthSums(stream.unique, (e) => e.channel === series.key.channel && e.ts >= start && e.ts < start + stepMs);
        expect(apiSums(point), `${step} ${series.key.channel} ${point.t}`).toEqual(withoutUsers(truth));
        expect(point.uniqueUsers).toBe(truth.users.size);
        points++;
      }
    }
    expect(points).toBeGreaterThan(0);
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
    const holder = await app.db.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('marketing-wall-touched_hours')), pg_advisory_lock(hashtext('marketing-wall-touched_days'))`);
      const late = generateStream(app.cfg, 300, 43, now);
      await postAll((events) => app.post(events), late.deliveries);
      await app.drained();
      stream.unique.push(...late.unique);
      expect(Number(await marks())).toBeGreaterThan(0);
      await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
      await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      holder.release();
    }
    await clearAll();
    await expectExact('1h', 3_600_000, now - 36 * 3_600_000);
    await expectExact('1d', 86_400_000, now - 3 * 86_400_000);
  }, 120_000);
});
