// New users (用户新增): customers seen for the first time in a scope, exact against a ground truth
// computed here over three days with returning customers, late first events that arrive after
// the customer's later ones, duplicates, and two processors taking batches at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../server/simulator/generator.js';
import { DAY, HOUR, floorTo } from '../stream/buckets.js';
import type { LiveResponse, MetricsResponse, ScreenSubscribeAck } from '../stream/types.js';
import { migrate } from '../stream/db/migrate.js';
import { int8Array, textArray } from '../stream/db/binary-array.js';
import { firstSeenCandidates, firstSeenParams, firstSeenUpsert } from '../stream/db/first-seen.js';
import { postAll } from './event-factory.js';
import type { TruthEvent } from './ground-truth.js';
import { startTestApp, testConfig, type TestApp } from './harness.js';
import type { RunningProcessor } from '../stream/run-processor.js';
import { connectScreen } from './screen-client.js';

let app: TestApp;
let second: RunningProcessor;
const now = Date.now();
const unique: TruthEvent[] = [];

const cfg = testConfig((c) => {
  // three days of history go in through ingest
  c.pipeline.events.lateness = 4 * DAY;
});
const regionOf = (e: TruthEvent) => e.region ?? (e.store ? cfg.storeById.get(e.store)!.region : undefined);

/** Each (scope, user)'s first event: earliest ts, ties to the smallest (channel, region, store), as the ledger keeps it. */
function firstSeen(events: TruthEvent[]) {
  const first = new Map<string, { scope: string; ts: number; channel: string; region: string; store: string }>();
  for (const e of events) {
    if (!e.userId) continue;
    const seen = { ts: e.ts, channel: e.channel, region: regionOf(e) ?? '', store: e.store ?? '' };
    const scopes = ['all', ...(seen.region ? [`r:${seen.region}`] : []), ...(seen.store ? [`s:${seen.store}`] : [])];
    for (const scope of scopes) {
      const key = `${scope}|${e.userId}`;
      const had = first.get(key);
      const earlier = !had || seen.ts < had.ts || (seen.ts === had.ts && [seen.channel, seen.region, seen.store].join('\u0000') < [had.channel, had.region, had.store].join('\u0000'));
      if (earlier) first.set(key, { scope, ...seen });
    }
  }
  return [...first.values()];
}

let firsts: ReturnType<typeof firstSeen> = [];
function truthNew(match: (f: ReturnType<typeof firstSeen>[number]) => boolean, from: number, to: number): number {
  return firsts.filter((f) => f.ts >= from && f.ts < to && match(f)).length;
}

beforeAll(async () => {
  app = await startTestApp('newusers', { cfg });
  second = await app.startProcessor('newusers-proc-2');
  const random = seededRandom(41);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const channels = cfg.channels.map((c) => c.id).filter((c) => c !== 'store');
  const stores = [...cfg.storeById.values()];
  // 2 000 customers, most back several times over three days, online and in stores
  for (let i = 0; i < 9000; i++) {
    const ts = Math.floor(now - 60_000 - random() * 3 * DAY);
    const userId = random() < 0.9 ? `cust-${Math.floor(random() ** 1.3 * 2000)}` : undefined;
    const id = `nu-${i}`;
    if (random() < 0.3) {
      const store = pick(stores);
      unique.push({ id, type: 'conversion', ts, channel: 'store', store: store.id, value: 88, userId });
    } else {
      const region = random() < 0.9 ? pick(cfg.regions).id : undefined;
      const store = region && random() < 0.2 ? pick(stores.filter((s) => s.region === region)).id : undefined;
      const type = pick(['click', 'exposure', 'conversion'] as const);
      unique.push({ id, type, ts, channel: pick(channels), region, store, userId, count: 1, ...(type === 'conversion' && { value: 10 }) });
    }
  }
  // same-instant ties across channels for a few customers
  for (let i = 0; i < 30; i++) unique.push({ ...unique[i]!, id: `nu-tie-${i}`, channel: channels[(i * 7) % channels.length]! });
  // the newest two days first, then the oldest day's events (each customer's earliest, arriving
  // after the later ones), every event once more and a third of them again, shuffled
  const cut = now - 2 * DAY;
  const shuffled = (events: TruthEvent[]) => {
    const copy = [...events];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  };
  await postAll((events) => app.post(events), shuffled(unique.filter((e) => e.ts >= cut)), 300);
  await app.drained();
  await postAll((events) => app.post(events), shuffled([...unique.filter((e) => e.ts < cut), ...unique, ...unique.filter((_, i) => i % 3 === 0)]), 300);
  await app.drained();
  firsts = firstSeen(unique);
}, 120_000);

afterAll(async () => {
  await second?.stop();
  await app?.close();
});

describe('new users: first seen in the scope, exact', () => {
  it('the ground truth has returning customers and late first events', () => {
    const users = new Set(unique.map((e) => e.userId).filter(Boolean));
    const visits = unique.filter((e) => e.userId).length;
    expect(visits / users.size).toBeGreaterThan(3);
    const lateFirsts = firsts.filter((f) => f.scope === 'all' && f.ts < now - 2 * DAY).length;
    expect(lateFirsts).toBeGreaterThan(100);
  });

  it('the ledger rewrites a returning customer only a day on: every last_ts is within a day before their last event', async () => {
    const lastOf = new Map<string, number>();
    for (const e of unique) {
      if (!e.userId) continue;
      const region = regionOf(e);
      for (const scope of ['all', ...(region ? [`r:${region}`] : []), ...(e.store ? [`s:${e.store}`] : [])]) {
        const key = `${scope}|${e.userId}`;
        lastOf.set(key, Math.max(lastOf.get(key) ?? -Infinity, e.ts));
      }
    }
    const { rows } = await app.db.query<{ key: string; last: string }>(
      `SELECT scope || '|' || user_id AS key, (extract(epoch FROM last_ts) * 1000)::bigint AS last FROM first_seen WHERE user_id ~ '^cust-[0-9]+$'`);
    expect(rows.length).toBe(lastOf.size);
    let lagging = 0;
    for (const row of rows) {
      const truth = lastOf.get(row.key)!;
      expect(Number(row.last)).toBeLessThanOrEqual(truth);
      expect(Number(row.last)).toBeGreaterThanOrEqual(truth - DAY);
      if (Number(row.last) < truth) lagging++;
    }
    expect(lagging).toBeGreaterThan(0); // rows are not rewritten at every visit
  });

  it('the upsert writes a known customer\'s row only when their event is earlier, or a day past last_ts, and answers the last_ts of a row it left', async () => {
    const upsert = firstSeenUpsert(new Date(-cfg.dayOffsetMs).toISOString());
    // in a transaction rolled back at the end: the ledger and its counts stay those of the ground truth
    const db = await app.db.connect();
    await db.query('BEGIN');
    const send = async (ts: number, channel = 'jd') =>
      (await db.query<{ scope: string; user_id: string; stored_last_ms: number | null }>(upsert, firstSeenParams(firstSeenCandidates([{ ts, channel, userId: 'cust-rewrite' }])))).rows;
    const lastTs = async () => (await db.query<{ last_ts: Date }>(`SELECT last_ts FROM first_seen WHERE user_id = 'cust-rewrite'`)).rows[0]!.last_ts.getTime();
    const t0 = now - 3 * DAY;
    const wrote = [{ scope: 'all', user_id: 'cust-rewrite', stored_last_ms: null }];
    expect(await send(t0)).toEqual(wrote); // new
    // another processor's later event within the day: left as it is, answered with the stored last_ts
    expect(await send(t0 + HOUR)).toEqual([{ scope: 'all', user_id: 'cust-rewrite', stored_last_ms: t0 }]);
    expect(await send(t0 + DAY)).toEqual([{ scope: 'all', user_id: 'cust-rewrite', stored_last_ms: t0 }]);
    expect(await lastTs()).toBe(t0);
    expect(await send(t0 + DAY + 1)).toEqual(wrote);
    expect(await lastTs()).toBe(t0 + DAY + 1);
    expect(await send(t0 - 1, 'wechat')).toEqual(wrote); // earlier: takes the row over
    await db.query('ROLLBACK');
    db.release();
  });

  it('the upsert\'s binary array parameters carry what pg\'s own text arrays carry, byte for byte', async () => {
    const ids = ['', ' ', 'NULL', 'null', '"', '\\', 'a,b', '{x}', '\'', '客户-一', '😀', 'lone-\uD800', 'x'.repeat(128), '户'.repeat(4000),
      ...Array.from({ length: 2000 }, (_, i) => `${'户'.repeat(100)}-${i}`)]; // far past the writer's first guess of 24 bytes each
    const ms = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, now];
    const { rows: [row] } = await app.db.query<{ same_text: boolean; same_ms: boolean; texts: string[]; ms: string[] }>(
      `SELECT $1::text[] = $2::text[] AS same_text, $3::bigint[] = $4::bigint[] AS same_ms, $1::text[] AS texts, $3::bigint[] AS ms`,
      [textArray(ids, (s) => s), ids, int8Array(ms, (n) => n), ms]);
    expect(row!.same_text).toBe(true);
    expect(row!.same_ms).toBe(true);
    expect(row!.texts).toEqual(ids.map((s) => s.replace('\uD800', '\uFFFD')));
    expect(row!.ms.map(Number)).toEqual(ms);
    expect(() => int8Array([1.5], (n) => n)).toThrow(/not a safe integer/);
  });

  it('a row the upsert leaves is read, not locked: a batch is not held behind another holding that customer', async () => {
    const upsert = firstSeenUpsert(new Date(-cfg.dayOffsetMs).toISOString());
    const { rows: [row] } = await app.db.query<{ user_id: string; last_ms: string }>(
      `SELECT user_id, (extract(epoch FROM last_ts) * 1000)::bigint AS last_ms FROM first_seen WHERE scope = 'all' AND user_id LIKE 'cust-%' LIMIT 1`);
    const holder = await app.db.connect();
    const other = await app.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM first_seen WHERE scope = 'all' AND user_id = $1 FOR UPDATE`, [row!.user_id]);
      await other.query('BEGIN');
      await other.query(`SET LOCAL lock_timeout = '2s'`);
      const later = Number(row!.last_ms) + HOUR; // later, within the day: covered
      const { rows } = await other.query<{ stored_last_ms: number | null }>(upsert, firstSeenParams(firstSeenCandidates([{ ts: later, channel: 'zz-last', userId: row!.user_id }])));
      expect(rows).toEqual([{ scope: 'all', user_id: row!.user_id, stored_last_ms: Number(row!.last_ms) }]);
    } finally {
      await other.query('ROLLBACK');
      await holder.query('ROLLBACK');
      other.release();
      holder.release();
    }
  });

  it('GET /live: today and the same span yesterday, nation, region, store, channel', async () => {
    const todayFrom = floorTo(now, DAY, cfg.dayOffsetMs);
    const store = [...cfg.storeById.values()].find((s) => truthNew((f) => f.scope === `s:${s.id}`, todayFrom - DAY, now) > 0)!;
    const cases: Array<[string, (f: ReturnType<typeof firstSeen>[number]) => boolean]> = [
      ['', (f) => f.scope === 'all'],
      ['region=east', (f) => f.scope === 'r:east'],
      [`store=${store.id}`, (f) => f.scope === `s:${store.id}`],
      ['channel=douyin', (f) => f.scope === 'all' && f.channel === 'douyin'],
      ['region=north&channel=wechat', (f) => f.scope === 'r:north' && f.channel === 'wechat'],
    ];
    let nonZero = 0;
    for (const [query, match] of cases) {
      const body = (await (await app.get(`/api/v1/live?${query}`)).json()) as LiveResponse;
      const asOf = Date.parse(body.asOf);
      const today = floorTo(asOf, DAY, cfg.dayOffsetMs);
      expect(body.newUsers, query).toEqual({ today: truthNew(match, today, asOf), yesterday: truthNew(match, today - DAY, asOf - DAY) });
      if (body.newUsers!.today + body.newUsers!.yesterday > 0) nonZero++;
    }
    // just after midnight today's span (and yesterday's same span) may hold no one yet
    if (now - todayFrom > 30 * 60_000) expect(nonZero).toBeGreaterThanOrEqual(4);
  });

  it('GET /metrics: every hourly point, grouped by channel, region and store', async () => {
    const from = now - 3 * DAY - 3_600_000;
    const get = async (query: string, username = 'ops') => {
      const response = await app.get(`/api/v1/metrics?from=${from}&to=${now}&step=1h&${query}`, username);
      expect(response.status, query).toBe(200);
      return (await response.json()) as MetricsResponse;
    };
    const check = async (query: string, match: (f: ReturnType<typeof firstSeen>[number], key: MetricsResponse['series'][number]['key']) => boolean, username?: string) => {
      const body = await get(query, username);
      let total = 0;
      for (const series of body.series) {
        for (const point of series.points) {
          const t = Date.parse(point.t);
          expect(point.newUsers, `${query} ${JSON.stringify(series.key)} ${point.t}`).toBe(truthNew((f) => match(f, series.key), t, t + 3_600_000));
          total += point.newUsers!;
        }
      }
      expect(total, query).toBeGreaterThan(0);
      return total;
    };
    const nation = await check('', (f) => f.scope === 'all');
    expect(nation).toBe(new Set(unique.map((e) => e.userId).filter(Boolean)).size);
    // every customer has one first channel: the channels' new users add up to the nation's
    expect(await check('groupBy=channel', (f, key) => f.scope === 'all' && f.channel === key.channel)).toBe(nation);
    await check('groupBy=region', (f, key) => f.scope === `r:${key.region}`);
    await check('region=east&groupBy=store', (f, key) => f.scope === `s:${key.store}` && f.region === 'east');
    await check('region=south&channel=jd', (f) => f.scope === 'r:south' && f.channel === 'jd');
    // a manager without a region filter: its regions' rows
    await check('', (f) => f.scope === 'r:east', 'manager-east');
    const campaigns = await get('groupBy=campaign');
    expect(campaigns.series.every((s) => s.points.every((p) => p.newUsers === null))).toBe(true);
  });

  it('the wall\'s snapshot carries today\'s new users and yesterday\'s', async () => {
    const client = connectScreen(app.server.url, await app.token('manager-east'), { region: 'east' });
    try {
      const ack = (await client.subscribed) as Extract<ScreenSubscribeAck, { snapshot: unknown }>;
      const asOf = Date.parse(ack.snapshot.asOf);
      const today = floorTo(asOf, DAY, cfg.dayOffsetMs);
      const match = (f: ReturnType<typeof firstSeen>[number]) => f.scope === 'r:east';
      expect(ack.snapshot.today.newUsers).toEqual({ today: truthNew(match, today, asOf), yesterday: truthNew(match, today - DAY, asOf - DAY) });
    } finally {
      client.close();
    }
  });

  it('a repeated id never makes anyone new: its copy may carry another customer or an earlier time than the event kept', async () => {
    const yesterdayNoon = floorTo(now, DAY, cfg.dayOffsetMs) - DAY / 2;
    const daily = async () => ((await (await app.get(`/api/v1/metrics?from=${yesterdayNoon - DAY}&to=${now}&step=1d`)).json()) as MetricsResponse).series[0]!.points.map((p) => p.newUsers);
    await postAll((events) => app.post(events), [{ id: 'dup-kept', type: 'click', ts: now - 90_000, channel: 'jd', region: 'east', count: 1, userId: 'cust-dup-kept' }]);
    await app.drained();
    const before = await daily();
    // the same id again: another customer, and the first customer a day earlier
    await postAll((events) => app.post(events), [{ id: 'dup-kept', type: 'click', ts: now - 90_000, channel: 'jd', region: 'east', count: 1, userId: 'cust-dup-other' }]);
    await postAll((events) => app.post(events), [{ id: 'dup-kept', type: 'click', ts: yesterdayNoon, channel: 'jd', region: 'east', count: 1, userId: 'cust-dup-kept' }]);
    await app.drained();
    expect(await daily()).toEqual(before);
  });

  it('a schema made before the ledger existed gets it built from the stored events, the same', async () => {
    const ledger = () => app.db.query('SELECT scope, user_id, first_ts, channel, region, store FROM first_seen ORDER BY scope, user_id').then((r) => r.rows);
    const before = await ledger();
    expect(before.length).toBeGreaterThan(2000);
    await app.db.query('DROP TABLE first_seen');
    await migrate(app.db, app.cfg, app.stores.dbSchema);
    expect(await ledger()).toEqual(before);
  });

  it('a customer\'s later event changes nothing; an earlier one (late) makes them new on its own day', async () => {
    const user = 'cust-late-move';
    const yesterdayNoon = floorTo(now, DAY, cfg.dayOffsetMs) - DAY / 2;
    const daily = async (query = '') => ((await (await app.get(`/api/v1/metrics?from=${yesterdayNoon - DAY}&to=${now}&step=1d${query}`)).json()) as MetricsResponse).series[0]!.points.map((p) => p.newUsers);
    const [before, wechatBefore] = [await daily(), await daily('&channel=wechat')];
    await postAll((events) => app.post(events), [{ id: 'move-1', type: 'click', ts: now - 120_000, channel: 'baidu', region: 'northwest', count: 1, userId: user }]);
    await app.drained();
    expect((await daily()).at(-1)).toBe(before.at(-1)! + 1);
    await postAll((events) => app.post(events), [
      { id: 'move-2', type: 'click', ts: now - 60_000, channel: 'jd', region: 'northwest', count: 1, userId: user },
      { id: 'move-3', type: 'click', ts: yesterdayNoon, channel: 'wechat', region: 'northwest', count: 1, userId: user },
    ]);
    await app.drained();
    const after = await daily();
    expect(after.at(-1)).toBe(before.at(-1));
    expect(after.at(-2)).toBe(before.at(-2)! + 1);
    // the first event's channel moved with it
    expect((await daily('&channel=wechat')).at(-2)).toBe(wechatBefore.at(-2)! + 1);
  });

  it('the hourly and daily counts equal the ledger counted per hour, day, scope and channel, after every move; a schema made before them, or with finer ones, gets them from the ledger', async () => {
    const origin = new Date(-cfg.dayOffsetMs).toISOString();
    const counts = (table: string) => app.db.query(`SELECT bucket, scope, channel, region, store, n::int FROM ${table} WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5`).then((r) => r.rows);
    // a count row keeps the place its scope fixes: a store's its region and store, a region's its region, the nation's none
    const ledger = (bin: string) => app.db.query(`SELECT ${bin} AS bucket, scope, channel,
        CASE WHEN scope = 'all' THEN '' ELSE region END AS region, CASE WHEN scope LIKE 's:%' THEN store ELSE '' END AS store, count(*)::int AS n
      FROM first_seen GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`).then((r) => r.rows);
    const bins = { new_users_hourly: `date_bin('1 hour', first_ts, 'epoch'::timestamptz)`, new_users_daily: `date_bin('1 day', first_ts, '${origin}'::timestamptz)` };
    const hourly = await ledger(bins.new_users_hourly);
    const daily = await ledger(bins.new_users_daily);
    const { rows: [moved] } = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM new_users_hourly WHERE n = 0`);
    expect(hourly.length).toBeGreaterThan(1000);
    expect(moved!.n).toBeGreaterThan(0); // hours customers moved out of entirely
    expect(await counts('new_users_hourly')).toEqual(hourly);
    expect(await counts('new_users_daily')).toEqual(daily);
    await app.db.query('DROP TABLE new_users_daily');
    await migrate(app.db, app.cfg, app.stores.dbSchema);
    expect(await counts('new_users_hourly')).toEqual(hourly);
    expect(await counts('new_users_daily')).toEqual(daily);
    // counts kept by store under every scope, as an earlier version did: made again at this grain
    for (const [table, bin] of Object.entries(bins)) {
      await app.db.query(`TRUNCATE ${table}`);
      await app.db.query(`INSERT INTO ${table} (bucket, scope, channel, region, store, n)
        SELECT ${bin}, scope, channel, region, store, count(*) FROM first_seen GROUP BY 1, 2, 3, 4, 5`);
    }
    await app.db.query(`DELETE FROM pipeline_meta WHERE key = 'new_user_counts'`);
    expect((await counts('new_users_hourly')).length).toBeGreaterThan(hourly.length);
    await migrate(app.db, app.cfg, app.stores.dbSchema);
    expect(await counts('new_users_hourly')).toEqual(hourly);
    expect(await counts('new_users_daily')).toEqual(daily);
  });
});
