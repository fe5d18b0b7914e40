import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveResponse, MetricsResponse } from '../stream/types.js';
import { migrate } from '../stream/db/migrate.js';
import { generateStream, postAll, type GeneratedStream } from './event-factory.js';
import { apiSums, truthSums, withoutUsers, type TruthEvent } from './ground-truth.js';
import { scanKeys, startTestApp, type TestApp } from './harness.js';

let app: TestApp;
let stream: GeneratedStream;
const now = Date.now();

beforeAll(async () => {
  app = await startTestApp('exact');
  stream = generateStream(app.cfg, 6000, 7, now);
  // half as JSON arrays, half as NDJSON, so both parsers feed the same numbers
  const half = Math.floor(stream.deliveries.length / 2);
  await postAll((events) => app.post(events), stream.deliveries.slice(0, half), 700);
  await postAll(
    (events) => app.post(null, { contentType: 'application/x-ndjson', raw: (events as unknown[]).map((e) => JSON.stringify(e)).join('\n') }),
    stream.deliveries.slice(half),
    900,
  );
  await app.drained();
});

afterAll(async () => app?.close());

const regionOf = (e: TruthEvent, app: TestApp) => e.region ?? (e.store ? app.cfg.storeById.get(e.store)!.region : undefined);

describe('exact numbers from a stream with duplicates, late and out-of-order events', () => {
  it('stores every unique event once', async () => {
    const { rows } = await app.db.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM events');
    expect(stream.deliveries.length).toBeGreaterThan(stream.unique.length * 1.5);
    expect(rows[0]).toEqual({ n: stream.unique.length, d: stream.unique.length });
  });

  it.each(['channel', 'region', 'store', 'campaign'] as const)('GET /metrics groupBy=%s at 1 h equals the ground truth in every bucket', async (groupBy) => {
    const from = now - 36 * 3_600_000;
    const response = await app.get(`/api/v1/metrics?from=${from}&to=${now + 60_000}&step=1h&groupBy=${groupBy}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as MetricsResponse;
    const dimension = (e: TruthEvent) => (groupBy === 'region' ? regionOf(e, app) : e[groupBy]) ?? null;
    const groups = new Set(stream.unique.map(dimension));
    expect(new Set(body.series.map((s) => s.key[groupBy] ?? null))).toEqual(groups);
    let checkedPoints = 0;
    for (const series of body.series) {
      for (const point of series.points) {
        const start = Date.parse(point.t);
        const truth = truthSums(stream.unique, (e) => dimension(e) === (series.key[groupBy] ?? null) && e.ts >= start && e.ts < start + 3_600_000);
        expect(apiSums(point)).toEqual(withoutUsers(truth));
        expect(point.uniqueUsers).toBe(truth.users.size);
        if (truth.exposure + truth.visits + truth.conversions) checkedPoints++;
      }
    }
    expect(checkedPoints).toBeGreaterThan(3);
  });

  it('GET /metrics with filters at 10 s equals the ground truth', async () => {
    const from = now - 3_600_000;
    const response = await app.get(`/api/v1/metrics?from=${from}&to=${now}&step=10s&region=east&channel=douyin`);
    const body = (await response.json()) as MetricsResponse;
    expect(body.series).toHaveLength(1);
    let total = 0;
    for (const point of body.series[0]!.points) {
      const start = Date.parse(point.t);
      const truth = truthSums(stream.unique, (e) => regionOf(e, app) === 'east' && e.channel === 'douyin' && e.ts >= start && e.ts < start + 10_000);
      expect(apiSums(point)).toEqual(withoutUsers(truth));
      total += truth.exposure;
    }
    expect(total).toBeGreaterThan(0);
  });

  const liveScopes: Array<[string, (e: TruthEvent) => boolean]> = [
    ['', () => true],
    ['region=south', (e) => regionOf(e, app) === 'south'],
    ['store=sh-jingan', (e) => e.store === 'sh-jingan'],
    ['channel=baidu', (e) => e.channel === 'baidu'],
    ['region=north&channel=jd', (e) => regionOf(e, app) === 'north' && e.channel === 'jd'],
    ['store=gz-tianhe&channel=store', (e) => e.store === 'gz-tianhe' && e.channel === 'store'],
  ];

  it.each(liveScopes)('GET /live?%s equals the ground truth in every window', async (query, match) => {
    const response = await app.get(`/api/v1/live?${query}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as LiveResponse;
    for (const window of Object.values(body.windows)) {
      const from = Date.parse(window.from);
      const to = Date.parse(window.to);
      const truth = truthSums(stream.unique, (e) => match(e) && e.ts >= from && e.ts < to);
      expect(apiSums(window)).toEqual(withoutUsers(truth));
      // unique users are a HyperLogLog estimate in the hot path (0.81 % standard error)
      expect(Math.abs(window.uniqueUsers - truth.users.size)).toBeLessThanOrEqual(Math.max(2, truth.users.size * 0.03));
    }
    expect(body.windows['24h'].exposure + body.windows['24h'].visits).toBeGreaterThan(0);
  });

  it('every hot bucket expires (hourly ones after 26 h, the others after 24 h, past their end)', async () => {
    let checked = 0;
    // every partition's buckets: `<prefix>h:…`, or `<prefix>{p<i>}h:…` when the stream is partitioned
    const hot = new RegExp(`^${app.stores.redisPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\{p\\d+\\})?[hu]:`);
    const keys = (await scanKeys(app.redis, `${app.stores.redisPrefix}*`)).filter((key) => hot.test(key));
    for (const key of keys) {
      const [, , levelMs, start] = key.slice(app.stores.redisPrefix.length - 1).split(':');
      const expiresAt = await app.redis.pexpiretime(key);
      const end = Number(start) + Number(levelMs);
      const keep = 24 * 3_600_000 + (levelMs === '3600000' ? 2 * 3_600_000 : 600_000);
      expect(Math.abs(expiresAt - (end + keep))).toBeLessThan(1000);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('a batch sent again changes nothing', async () => {
    const before = await (await app.get('/api/v1/live')).json() as LiveResponse;
    await postAll((events) => app.post(events), stream.deliveries.slice(0, 2000));
    await app.drained();
    const after = await (await app.get('/api/v1/live')).json() as LiveResponse;
    expect(apiSums(after.windows['24h'])).toEqual(apiSums(before.windows['24h']));
    const { rows } = await app.db.query('SELECT count(*)::int AS n FROM events');
    expect(rows[0].n).toBe(stream.unique.length);
  });
  it.each(['1m', '15m', '1d'] as const)('GET /metrics nationwide and by channel at %s (read from the rollups by channel) equal the ground truth', async (step) => {
    const stepMs = { '1m': 60_000, '15m': 900_000, '1d': 86_400_000 }[step];
    // minutes over 6 hours: 36 hours of them by channel would pass the points an answer may hold
    const from = now - (step === '1m' ? 6 : 36) * 3_600_000;
    let checkedPoints = 0;
    for (const groupBy of [null, 'channel'] as const) {
      const response = await app.get(`/api/v1/metrics?from=${from}&to=${now + 60_000}&step=${step}${groupBy ? `&groupBy=${groupBy}` : ''}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as MetricsResponse;
      if (groupBy) expect(new Set(body.series.map((s) => s.key.channel))).toEqual(new Set(stream.unique.map((e) => e.channel)));
      for (const series of body.series) {
        for (const point of series.points) {
          const start = Date.parse(point.t);
          const truth = truthSums(stream.unique, (e) => (!groupBy || e.channel === series.key.channel) && e.ts >= start && e.ts < start + stepMs);
          expect(apiSums(point)).toEqual(withoutUsers(truth));
          if (truth.exposure + truth.visits + truth.conversions) checkedPoints++;
        }
      }
    }
    expect(checkedPoints).toBeGreaterThan(step === '1d' ? 2 : 20);
  });

  it.each(['1h', '1d'] as const)('GET /metrics by region, a region by channel and a manager\'s by channel at %s (read from the rollups by region and channel) equal the ground truth', async (step) => {
    const stepMs = { '1h': 3_600_000, '1d': 86_400_000 }[step];
    const from = now - 36 * 3_600_000;
    const cuts: Array<{ query: string; user?: string; match: (e: TruthEvent, key: Record<string, string | null>) => boolean; keys: Set<string | null | undefined> }> = [
      // events without a region make a series of their own (key { region: null })
      { query: 'groupBy=region', match: (e, key) => (regionOf(e, app) ?? null) === key.region, keys: new Set(stream.unique.map((e) => regionOf(e, app) ?? null)) },
      { query: 'region=east&groupBy=channel', match: (e, key) => regionOf(e, app) === 'east' && e.channel === key.channel, keys: new Set(stream.unique.filter((e) => regionOf(e, app) === 'east').map((e) => e.channel)) },
      { query: 'region=east', match: (e) => regionOf(e, app) === 'east', keys: new Set([undefined]) },
      // a manager's nationwide view is its regions' alone
      { query: 'groupBy=channel', user: 'manager-east', match: (e, key) => regionOf(e, app) === 'east' && e.channel === key.channel, keys: new Set(stream.unique.filter((e) => regionOf(e, app) === 'east').map((e) => e.channel)) },
    ];
    let checkedPoints = 0;
    for (const cut of cuts) {
      const response = await app.get(`/api/v1/metrics?from=${from}&to=${now + 60_000}&step=${step}&${cut.query}`, cut.user);
      expect(response.status).toBe(200);
      const body = (await response.json()) as MetricsResponse;
      expect(new Set(body.series.map((s) => ('region' in s.key ? s.key.region : s.key.channel)))).toEqual(cut.keys);
      for (const series of body.series) {
        for (const point of series.points) {
          const start = Date.parse(point.t);
          const truth = truthSums(stream.unique, (e) => cut.match(e, series.key as Record<string, string | null>) && e.ts >= start && e.ts < start + stepMs);
          expect(apiSums(point)).toEqual(withoutUsers(truth));
          if (truth.exposure + truth.visits + truth.conversions) checkedPoints++;
        }
      }
    }
    expect(checkedPoints).toBeGreaterThan(step === '1d' ? 4 : 40);
  });

  /** each narrow rollup against its full rollup summed by its dimensions: rows that differ */
  const narrowRollupDrift = async () => {
    const levels: Array<[string, string, string, string]> = [
      ['channel_minutes', `date_bin('1 minute', bucket, 'epoch'::timestamptz)`, 'rollup_10s', 'channel'], ['channel_hours', 'bucket', 'rollup_1h', 'channel'],
      ['channel_days', 'bucket', 'rollup_1d', 'channel'], ['region_hours', 'bucket', 'rollup_1h', 'region, channel'], ['region_days', 'bucket', 'rollup_1d', 'region, channel'],
    ];
    const drift: Record<string, number> = {};
    for (const [table, bin, wide, dims] of levels) {
      const { rows } = await app.db.query(
        `SELECT count(*)::int AS n, (SELECT count(*)::int FROM ${table}) AS rows FROM (
           (SELECT bucket, ${dims}, exposure, clicks, visits, conversions, revenue, spend FROM ${table}
            EXCEPT SELECT ${bin}, ${dims}, sum(exposure), sum(clicks), sum(visits), sum(conversions), sum(revenue), sum(spend) FROM ${wide} GROUP BY 1, ${dims})
           UNION ALL
           (SELECT ${bin}, ${dims}, sum(exposure), sum(clicks), sum(visits), sum(conversions), sum(revenue), sum(spend) FROM ${wide} GROUP BY 1, ${dims}
            EXCEPT SELECT bucket, ${dims}, exposure, clicks, visits, conversions, revenue, spend FROM ${table})) AS differing`,
      );
      expect(rows[0].rows).toBeGreaterThan(0);
      drift[table] = rows[0].n;
    }
    return drift;
  };
  const NO_DRIFT = { channel_minutes: 0, channel_hours: 0, channel_days: 0, region_hours: 0, region_days: 0 };

  it('the narrow rollups equal the full rollups summed by their dimensions, at every level', async () => {
    expect(await narrowRollupDrift()).toEqual(NO_DRIFT);
  });

  it.each([['region_hours, region_days'], ['channel_minutes, channel_hours, channel_days, region_hours, region_days']])(
    'a schema made before the narrow rollups (%s) gets them filled from the full rollups when it is migrated', async (tables) => {
      const queries = ['step=1h&groupBy=channel', 'step=1d&groupBy=region', 'step=1h&region=north&groupBy=channel']
        .map((q) => `/api/v1/metrics?from=${now - 36 * 3_600_000}&to=${now + 60_000}&${q}`);
      const before = await Promise.all(queries.map(async (q) => (await app.get(q)).json()));
      await app.db.query(`DROP TABLE ${tables}`);
      await migrate(app.db, app.cfg, app.stores.dbSchema);
      expect(await narrowRollupDrift()).toEqual(NO_DRIFT);
      expect(await Promise.all(queries.map(async (q) => (await app.get(q)).json()))).toEqual(before);
    });

  it('a schema made before money was widened gets every money column widened when it is migrated, the narrow rollups too', async (context) => {
    // TimescaleDB's schemas were made with numeric(38,4); its hour and day rollups are views
    if (app.server.storage !== 'postgres') context.skip();
    const moneyColumns = async () => (await app.db.query<{ table_name: string; precision: number }>(
      `SELECT table_name, min(numeric_precision)::int AS precision FROM information_schema.columns
       WHERE table_schema = current_schema() AND column_name IN ('revenue', 'spend') AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = current_schema())
       GROUP BY 1 ORDER BY 1`,
    )).rows;
    const query = `/api/v1/metrics?from=${now - 36 * 3_600_000}&to=${now + 60_000}&step=1m&groupBy=channel`;
    const before = await (await app.get(query)).json();
    const tables = (await moneyColumns()).map((row) => row.table_name);
    expect(tables).toEqual(expect.arrayContaining(['rollup_10s', 'rollup_1h', 'rollup_1d', 'channel_minutes', 'channel_hours', 'channel_days', 'region_hours', 'region_days']));
    for (const table of tables) await app.db.query(`ALTER TABLE ${table} ALTER COLUMN revenue TYPE numeric(24,4), ALTER COLUMN spend TYPE numeric(24,4)`);
    await migrate(app.db, app.cfg, app.stores.dbSchema);
    expect(await moneyColumns()).toEqual(tables.map((table_name) => ({ table_name, precision: 38 })));
    expect(await (await app.get(query)).json()).toEqual(before);
  });
});
