// Unique users from the per-hour / per-day sketches: exact up to 2 048 customers a point, within
// 2 % above (the API docs' promise), for every cut the wall asks — against a ground truth counted
// here over 30 000 customers, events posted through ingest twice over to two processors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../server/simulator/generator.js';
import { DAY, HOUR, floorTo } from '../stream/buckets.js';
import { migrate } from '../stream/db/migrate.js';
import { queryContextOf, queryMetrics, type MetricsQuery } from '../stream/db/queries.js';
import { compactSketches, sketchKindFor } from '../stream/db/user-sketches.js';
import { IntegerSet } from '../stream/integer-set.js';
import { EXACT_LIMIT, UserSketch, hash52 } from '../stream/user-sketch.js';
import { POINT_FIELDS, type MetricsResponse, type PointField } from '../stream/types.js';
import { postAll } from './event-factory.js';
import type { TruthEvent } from './ground-truth.js';
import { sleep, startTestApp, testConfig, type TestApp } from './harness.js';
import { pickedFields } from './picked-fields.js';
import type { RunningProcessor } from '../stream/run-processor.js';

describe('the sketch itself', () => {
  it('is exact up to its limit, then within 2 % of the truth, and merges as a union', () => {
    const small = UserSketch.of(Array.from({ length: EXACT_LIMIT }, (_, i) => hash52(`a${i}`)));
    expect(small.isExact).toBe(true);
    expect(small.estimate()).toBe(EXACT_LIMIT);
    const big = UserSketch.of(Array.from({ length: 150_000 }, (_, i) => hash52(`b${i}`)));
    expect(big.isExact).toBe(false);
    expect(Math.abs(big.estimate() / 150_000 - 1)).toBeLessThan(0.02);
    // overlapping halves: the union counts each customer once
    const left = UserSketch.of(Array.from({ length: 60_000 }, (_, i) => hash52(`c${i}`)));
    const right = UserSketch.of(Array.from({ length: 60_000 }, (_, i) => hash52(`c${i + 30_000}`)));
    expect(Math.abs(left.merge(right).estimate() / 90_000 - 1)).toBeLessThan(0.02);
    // the same customers again change nothing; the bytes round-trip
    const again = UserSketch.decode(big.encode());
    const before = again.estimate();
    for (let i = 0; i < 150_000; i += 7) again.add(hash52(`b${i}`));
    expect(again.estimate()).toBe(before);
    expect(again.wouldChange(hash52('b5'))).toBe(false);
    const past = UserSketch.decode(small.encode()).merge(UserSketch.of([hash52('new')]));
    expect(past.isExact).toBe(false);
    expect(Math.abs(past.estimate() / (EXACT_LIMIT + 1) - 1)).toBeLessThan(0.02);
    expect(() => UserSketch.decode(Buffer.from([7, 1, 2]))).toThrow(/not a user sketch/);
  });

  it("keeps a sketch's exact hashes as a set of integers: each once, 0 and 2^53 − 1 too, through growth", () => {
    const set = new IntegerSet();
    const values = [0, Number.MAX_SAFE_INTEGER, ...Array.from({ length: 5_000 }, (_, i) => hash52(`s${i}`)), 2 ** 32, 2 * 2 ** 32];
    for (const value of values) expect(set.add(value)).toBe(true);
    for (const value of values) expect(set.add(value)).toBe(false);
    expect(set.size).toBe(values.length);
    expect([...set].sort((a, b) => a - b)).toEqual([...values].sort((a, b) => a - b));
    const each: number[] = [];
    set.forEach((value) => each.push(value));
    expect(each.sort((a, b) => a - b)).toEqual([...values].sort((a, b) => a - b));
    expect(Array.from(set.values()).sort((a, b) => a - b)).toEqual([...values].sort((a, b) => a - b));
    const small = new IntegerSet(); // 8 slots: 8 lands in the first, 3 in the fourth
    small.add(8);
    small.add(3);
    expect(Array.from(small.values()).sort((a, b) => a - b)).toEqual([3, 8]);
    for (const value of values) expect(set.has(value)).toBe(true);
    // same low 32 bits, another value: the probe must go on past it
    expect(set.has(3 * 2 ** 32)).toBe(false);
    expect(set.has(1)).toBe(false);
    expect(set.memoryBytes).toBeLessThanOrEqual(values.length * 8 * 4);
    for (const bad of [-1, 0.5, 2 ** 53, Number.NaN]) expect(() => set.add(bad)).toThrow(RangeError);
  });

  it('tells whether a merge changed it, in either form', () => {
    const exact = UserSketch.of([hash52('x1'), hash52('x2')]);
    expect(exact.mergeChanged(UserSketch.of([hash52('x2')]))).toBe(false);
    expect(exact.mergeChanged(UserSketch.of([hash52('x2'), hash52('x3')]))).toBe(true);
    expect(exact.estimate()).toBe(3);
    const dense = UserSketch.of(Array.from({ length: 10_000 }, (_, i) => hash52(`d${i}`)));
    expect(UserSketch.decode(dense.encode()).mergeChanged(UserSketch.of(Array.from({ length: 5_000 }, (_, i) => hash52(`d${i}`))))).toBe(false);
    expect(UserSketch.decode(dense.encode()).mergeChanged(dense)).toBe(false);
    // an exact sketch merged into a dense one only changes it if a register rises; the other way round always
    expect(UserSketch.of([hash52('d1')]).mergeChanged(dense)).toBe(true);
    const grown = UserSketch.decode(dense.encode());
    expect(grown.mergeChanged(UserSketch.of(Array.from({ length: 10_000 }, (_, i) => hash52(`e${i}`))))).toBe(true);
  });

  it('answers a cut only where one keeps the dimensions together', () => {
    expect(sketchKindFor([])).toBe(0);
    expect(sketchKindFor(['store', 'channel'])).toBe(5);
    expect(sketchKindFor(['region', 'store'])).toBe(4);
    expect(sketchKindFor(['store'])).toBe(7);
    expect(sketchKindFor(['campaign'])).toBe(6);
    expect(sketchKindFor(['campaign', 'channel'])).toBeNull();
  });
});

describe('unique users through the pipeline', () => {
  let app: TestApp;
  const cfg = testConfig((c) => {
    c.pipeline.events.lateness = 3 * DAY;
  });
  const now = Date.now();
  const unique: TruthEvent[] = [];
  const regionOf = (e: TruthEvent) => e.region ?? (e.store ? cfg.storeById.get(e.store)!.region : undefined);
  const hour = floorTo(now, HOUR) - 2 * HOUR;

  let first: RunningProcessor | null = null;
  beforeAll(async () => {
    app = await startTestApp('sketches', { cfg });
    first = app.processor;
    await app.startProcessor('sketches-proc-2');
    const random = seededRandom(7);
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
    const channels = cfg.channels.map((c) => c.id).filter((c) => c !== 'store');
    const stores = [...cfg.storeById.values()];
    // 30 000 customers: most in one hour (nation, channels and regions past the exact limit,
    // stores below it), the rest over the two days before
    for (let i = 0; i < 42_000; i++) {
      const userId = `cust-${Math.floor(random() * 30_000)}`;
      const ts = random() < 0.8 ? hour + Math.floor(random() * HOUR) : Math.floor(now - 2 * DAY + random() * (2 * DAY - 3 * HOUR));
      const id = `sk-${i}`;
      if (random() < 0.25) {
        unique.push({ id, type: 'visit', ts, channel: 'store', store: pick(stores).id, userId, count: 1 });
      } else {
        const region = random() < 0.9 ? pick(cfg.regions).id : undefined;
        const campaign = random() < 0.5 ? `camp-${Math.floor(random() * 4)}` : undefined;
        unique.push({ id, type: pick(['click', 'exposure'] as const), ts, channel: pick(channels), region, campaign, userId, count: 1 });
      }
    }
    // every event twice, shuffled
    const deliveries = [...unique, ...unique];
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    await postAll((events) => app.post(events), deliveries);
    await app.drained();
  }, 240_000);
  afterAll(async () => {
    await first?.stop();
    await app?.close();
  });

  const truthUsers = (match: (e: TruthEvent) => boolean) => new Set(unique.filter((e) => e.userId && match(e)).map((e) => e.userId)).size;
  /** the customers in [start, end) that match, from events sorted by time (the grouped checks ask thousands of points) */
  let byTime: TruthEvent[] = [];
  const firstAtOrAfter = (ts: number) => {
    let lo = 0;
    let hi = byTime.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byTime[mid]!.ts < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const truthUsersIn = (start: number, end: number, match: (e: TruthEvent) => boolean) => {
    if (byTime.length !== unique.length) byTime = [...unique].sort((a, b) => a.ts - b.ts);
    const users = new Set<string>();
    for (let i = firstAtOrAfter(start); i < byTime.length && byTime[i]!.ts < end; i++) {
      const e = byTime[i]!;
      if (e.userId && match(e)) users.add(e.userId);
    }
    return users.size;
  };
  const group = (e: TruthEvent, by: string) => (by === 'region' ? regionOf(e) : (e as unknown as Record<string, string | undefined>)[by]) ?? null;

  /** every point of every series against the truth: exact up to the limit, within 2 % above */
  function expectUsers(body: MetricsResponse, stepMs: number, match: (e: TruthEvent, key: Record<string, string | null | undefined>, other: boolean) => boolean) {
    let estimated = 0;
    let exact = 0;
    for (const series of body.series) {
      for (const point of series.points) {
        const start = Date.parse(point.t);
        const truth = truthUsersIn(start, start + stepMs, (e) => match(e, series.key, series.other === true));
        if (truth <= EXACT_LIMIT) {
          expect(point.uniqueUsers, `${JSON.stringify(series.key)} ${point.t}`).toBe(truth);
          if (truth) exact++;
        } else {
          expect(Math.abs(point.uniqueUsers / truth - 1), `${JSON.stringify(series.key)} ${point.t}: ${point.uniqueUsers} vs ${truth}`).toBeLessThanOrEqual(0.02);
          estimated++;
        }
      }
    }
    return { estimated, exact };
  }

  it.each(['', 'channel', 'region', 'store', 'campaign'])('hourly points grouped by %s: exact ≤ 2 048, within 2 % above', async (by) => {
    const body = (await (await app.get(`/api/v1/metrics?from=${now - 2 * DAY}&to=${now}&step=1h${by ? `&groupBy=${by}` : ''}`)).json()) as MetricsResponse;
    const counts = expectUsers(body, HOUR, (e, key) => !by || group(e, by) === (key[by] ?? null));
    expect(counts.exact).toBeGreaterThan(20);
    if (by !== 'store') expect(counts.estimated).toBeGreaterThan(0);
  });

  it('daily points, filters, a region\'s stores and a manager\'s region', async () => {
    const daily = (await (await app.get(`/api/v1/metrics?from=${now - 3 * DAY}&to=${now}&step=1d&groupBy=channel`)).json()) as MetricsResponse;
    expect(expectUsers(daily, DAY, (e, key) => e.channel === key.channel).estimated).toBeGreaterThan(0);
    const regionStores = (await (await app.get(`/api/v1/metrics?from=${now - 3 * DAY}&to=${now}&step=1d&region=east&groupBy=store`)).json()) as MetricsResponse;
    expectUsers(regionStores, DAY, (e, key) => regionOf(e) === 'east' && (e.store ?? null) === (key.store ?? null));
    const douyinEast = (await (await app.get(`/api/v1/metrics?from=${hour}&to=${hour + HOUR}&step=1h&region=east&channel=douyin`)).json()) as MetricsResponse;
    expect(expectUsers(douyinEast, HOUR, (e) => regionOf(e) === 'east' && e.channel === 'douyin').exact).toBe(1);
    const manager = (await (await app.get(`/api/v1/metrics?from=${now - 3 * DAY}&to=${now}&step=1d`, 'manager-east')).json()) as MetricsResponse;
    const managerCounts = expectUsers(manager, DAY, (e) => regionOf(e) === 'east');
    expect(managerCounts.estimated + managerCounts.exact).toBeGreaterThan(1);
  });

  it('merges where a query spans several sketches: two regions, "other" groups; and counts campaigns × channel from the raw events', async () => {
    const ctx = queryContextOf(cfg, app.server.storage);
    const twoRegions: MetricsQuery = { from: hour, to: hour + HOUR, step: '1h', filter: {}, regionsAllowed: ['east', 'north'], groupBy: 'channel' };
    expectUsers(await queryMetrics(app.db, twoRegions, ctx), HOUR, (e, key) => ['east', 'north'].includes(regionOf(e) ?? '') && e.channel === key.channel);
    const nationTwo = await queryMetrics(app.db, { ...twoRegions, groupBy: undefined }, ctx);
    expect(expectUsers(nationTwo, HOUR, (e) => ['east', 'north'].includes(regionOf(e) ?? '')).estimated).toBe(1);
    const withOther = await queryMetrics(app.db, { from: hour, to: hour + HOUR, step: '1h', filter: {}, groupBy: 'store', groupLimit: 5 }, ctx);
    const shown = new Set(withOther.series.filter((s) => !s.other).map((s) => s.key.store ?? null));
    expect(withOther.series.some((s) => s.other)).toBe(true);
    expectUsers(withOther, HOUR, (e, key, other) => (other ? !shown.has(e.store ?? null) : (e.store ?? null) === (key.store ?? null)));
    const campaignChannel = (await (await app.get(`/api/v1/metrics?from=${hour}&to=${hour + HOUR}&step=1h&campaign=camp-1&channel=douyin`)).json()) as MetricsResponse;
    expect(campaignChannel.series[0]!.points[0]!.uniqueUsers).toBe(truthUsers((e) => e.ts >= hour && e.ts < hour + HOUR && e.campaign === 'camp-1' && e.channel === 'douyin'));
  });

  it('ranks groups only where the configuration cannot bound them, or stored data holds more than it names', async () => {
    const ctx = queryContextOf(cfg, app.server.storage);
    const query: MetricsQuery = { from: hour, to: hour + HOUR, step: '1h', filter: {}, groupBy: 'channel', groupLimit: cfg.channels.length + 1 };
    const fits = await queryMetrics(app.db, query, ctx);
    expect(fits.series.some((s) => s.other)).toBe(false);
    expect(fits.groups).toEqual({ total: fits.series.length, shown: fits.series.length, limit: cfg.channels.length + 1 });
    // two channels since removed from the configuration, still in the hour's rollups (a cut by channel reads channel_hours)
    // (on TimescaleDB the hour's rollup is a continuous aggregate of rollup_10s: the rows go there, the hour is refreshed)
    const onTimescale = app.server.storage === 'timescaledb';
    const refreshHour = () => app.db.query(`CALL refresh_continuous_aggregate('rollup_1h', $1::timestamptz, $2::timestamptz)`, [new Date(hour).toISOString(), new Date(hour + HOUR).toISOString()]);
    await app.db.query(`INSERT INTO ${onTimescale ? 'rollup_10s' : 'rollup_1h'} (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend)
      VALUES ($1, 'retired-a', '', '', '', 5, 0, 0, 0, 0, 0), ($1, 'retired-b', '', '', '', 3, 0, 0, 0, 0, 0)`, [new Date(hour).toISOString()]);
    if (onTimescale) await refreshHour();
    await app.db.query(`INSERT INTO channel_hours (bucket, channel, exposure, clicks, visits, conversions, revenue, spend)
      VALUES ($1, 'retired-a', 5, 0, 0, 0, 0, 0), ($1, 'retired-b', 3, 0, 0, 0, 0, 0)`, [new Date(hour).toISOString()]);
    try {
      const more = await queryMetrics(app.db, query, ctx);
      expect(more.groups!.total).toBe(fits.series.length + 2);
      expect(more.series.filter((s) => !s.other)).toHaveLength(cfg.channels.length + 1);
      expect(more.series.some((s) => s.other)).toBe(true);
      const sum = (r: MetricsResponse) => r.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.exposure, 0), 0);
      expect(sum(more)).toBe(sum(fits) + 8);
    } finally {
      await app.db.query(`DELETE FROM ${onTimescale ? 'rollup_10s' : 'rollup_1h'} WHERE channel LIKE 'retired-%'`);
      if (onTimescale) await refreshHour();
      await app.db.query(`DELETE FROM channel_hours WHERE channel LIKE 'retired-%'`);
    }
  });

  it('answers only the fields asked for, as the whole answer has them, and reads only what they need', async () => {
    const cuts = ['step=1h&groupBy=channel', 'step=1d&groupBy=store', 'step=1d&region=east', 'step=1h&campaign=camp-1', 'step=1m'];
    const range = (cut: string) => `/api/v1/metrics?from=${cut === 'step=1m' ? hour : now - 2 * DAY}&to=${cut === 'step=1m' ? hour + HOUR : now}&${cut}`;
    const fieldSets: PointField[][] = [
      ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'newUsers'],
      ['uniqueUsers'],
      ['roi', 'cvr', 'newUsers'],
      ['revenue'],
    ];
    const whole = new Map<string, MetricsResponse>();
    for (const cut of cuts) whole.set(cut, (await (await app.get(range(cut))).json()) as MetricsResponse);
    const askFor = async (cut: string, fields: string) => {
      const response = await app.get(`${range(cut)}&fields=${fields}`);
      expect(response.status, `${cut} fields=${fields}`).toBe(200);
      return (await response.json()) as MetricsResponse;
    };
    for (const cut of cuts) {
      for (const fields of fieldSets) {
        const answer = await askFor(cut, fields.join(','));
        expect(answer, `${cut} fields=${fields}`).toEqual(pickedFields(whole.get(cut)!, fields));
        // each point its time and the fields asked for, in the answer's usual order
        expect(Object.keys(answer.series[0]!.points[0]!)).toEqual(['t', ...POINT_FIELDS.filter((f) => fields.includes(f))]);
      }
    }
    // asked twice, or out of order: the same answer
    expect(await askFor('step=1h&groupBy=channel', 'newUsers,revenue,revenue')).toEqual(pickedFields(whole.get('step=1h&groupBy=channel')!, ['revenue', 'newUsers']));

    // without the sketches or the new-user counts, the answers that do not ask for them still come
    const aside = async (tables: string[], check: () => Promise<void>) => {
      for (const table of tables) await app.db.query(`ALTER TABLE ${table} RENAME TO ${table}_aside`);
      try {
        await check();
      } finally {
        for (const table of tables) await app.db.query(`ALTER TABLE ${table}_aside RENAME TO ${table}`);
      }
    };
    await aside(['user_sketches', 'events'], async () => {
      expect((await app.get(range('step=1h&groupBy=channel'))).status).not.toBe(200);
      expect((await app.get(range('step=1m'))).status).not.toBe(200);
      expect(await askFor('step=1h&groupBy=channel', fieldSets[0]!.join(','))).toEqual(pickedFields(whole.get('step=1h&groupBy=channel')!, fieldSets[0]!));
      expect(await askFor('step=1m', 'clicks,ctr')).toEqual(pickedFields(whole.get('step=1m')!, ['clicks', 'ctr']));
    });
    await aside(['new_users_hourly', 'new_users_daily', 'first_seen'], async () => {
      expect((await app.get(range('step=1d&groupBy=store'))).status).not.toBe(200);
      expect(await askFor('step=1d&groupBy=store', 'exposure,visits,uniqueUsers')).toEqual(pickedFields(whole.get('step=1d&groupBy=store')!, ['exposure', 'visits', 'uniqueUsers']));
    });
    // (a region's days are read from region_days, an ordinary table on both storage paths)
    await aside(['region_days'], async () => {
      expect((await app.get(range('step=1d&region=east'))).status).not.toBe(200);
      expect(await askFor('step=1d&region=east', 'uniqueUsers,newUsers')).toEqual(pickedFields(whole.get('step=1d&region=east')!, ['uniqueUsers', 'newUsers']));
    });

    // a field that is none, or none at all: 400 naming it
    for (const [fields, named] of [['revenue,bogus', /fields: "bogus" is not a point field/], ['', /fields: name at least one field/], ['revenue,', /fields: name at least one field/], ['x'.repeat(500), /fields/]] as const) {
      const response = await app.get(`${range('step=1h&groupBy=channel')}&fields=${fields}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(named);
    }
  });

  it('compaction folds the deltas without changing an answer, and a schema made before the sketches gets them from the raw events', async () => {
    const queries = ['step=1h&groupBy=region', 'step=1d&groupBy=store', 'step=1h&channel=wechat'].map((q) => `/api/v1/metrics?from=${now - 2 * DAY}&to=${now}&${q}`);
    const answers = async () => Promise.all(queries.map(async (q) => (await app.get(q)).json()));
    const before = await answers();
    // a processor's own pass may hold the compaction lock (this call then skips): until none is left
    const pendingDeltas = async () => (await app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM user_sketch_deltas')).rows[0]!.n;
    const compactAll = async () => {
      for (let tries = 0; tries < 100; tries++) {
        await compactSketches(app.db, cfg.dayOffsetMs);
        if ((await pendingDeltas()) === 0) return;
        await sleep(100);
      }
    };
    await compactAll();
    expect(await pendingDeltas()).toBe(0);
    const { rows: [sketches] } = await app.db.query<{ n: number; dense: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE get_byte(sketch, 0) = 1)::int AS dense FROM user_sketches`);
    expect(sketches!.dense).toBeGreaterThan(0);
    expect(await answers()).toEqual(before);

    // deltas that bring a sketch nothing new leave its row as it was; one with a new customer rewrites it
    // (a customer new to an exact sketch always changes it; to a dense one, only if it raises a register)
    const { rows: [same, other] } = await app.db.query<{ step: string; kind: number; bucket: Date; channel: string; region: string; store: string; campaign: string; sketch: Buffer; xmin: string }>(
      `(SELECT step, kind, bucket, channel, region, store, campaign, sketch, xmin::text FROM user_sketches WHERE step = '1h' ORDER BY users DESC LIMIT 1)
       UNION ALL
       (SELECT step, kind, bucket, channel, region, store, campaign, sketch, xmin::text FROM user_sketches WHERE step = '1h' AND get_byte(sketch, 0) = 0 ORDER BY users DESC LIMIT 1)`,
    );
    const addDelta = (row: typeof same, delta: Buffer) => app.db.query(
      `INSERT INTO user_sketch_deltas (step, kind, bucket, channel, region, store, campaign, delta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [row!.step, row!.kind, row!.bucket, row!.channel, row!.region, row!.store, row!.campaign, delta],
    );
    await addDelta(same, same!.sketch);
    await addDelta(other, UserSketch.of([hash52('a customer never seen')]).encode());
    await compactAll();
    const xminOf = async (row: typeof same) => (await app.db.query<{ xmin: string }>(
      `SELECT xmin::text FROM user_sketches WHERE step = $1 AND kind = $2 AND bucket = $3 AND channel = $4 AND region = $5 AND store = $6 AND campaign = $7`,
      [row!.step, row!.kind, row!.bucket, row!.channel, row!.region, row!.store, row!.campaign],
    )).rows[0]!.xmin;
    expect(await xminOf(same)).toBe(same!.xmin);
    expect(await xminOf(other)).not.toBe(other!.xmin);

    await app.db.query('DROP TABLE user_sketches, user_sketch_deltas');
    await migrate(app.db, cfg, app.stores.dbSchema);
    expect(await answers()).toEqual(before);
    await compactAll();
    expect(await answers()).toEqual(before);
  }, 120_000);
});
