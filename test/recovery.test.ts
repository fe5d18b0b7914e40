import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOUR, MINUTE } from '../stream/buckets.js';
import { reconcileHotBuckets } from '../stream/reconcile.js';
import { redisKeys } from '../stream/redis-keys.js';
import type { LiveResponse } from '../stream/types.js';
import { generateStream, postAll } from './event-factory.js';
import { apiSums, truthSums, withoutUsers } from './ground-truth.js';
import { deleteKeys, startTestApp, testConfig, type TestApp } from './harness.js';
import { defineReconcileScript } from '../stream/reconcile.js';
import { purgeExpired } from '../stream/db/retention.js';

let app: TestApp;
const now = Date.now();

beforeAll(async () => {
  // settle 0: buckets may be corrected as soon as the database has them (no writer is running then)
  app = await startTestApp('recovery', { cfg: testConfig((cfg) => (cfg.pipeline.reconcile.settle = 0)) });
  defineReconcileScript(app.redis);
});
afterAll(async () => app?.close());

describe('producers that XADD directly', () => {
  it('have their good events counted and their bad entries dead-lettered with the reason', async () => {
    const keys = redisKeys(app.stores.redisPrefix, app.cfg.pipeline);
    const goodEvent = { id: 'x-1', type: 'exposure', ts: now - 5000, channel: 'sms', count: 321 };
    await app.redis.xadd(keys.first.stream, '*', 'event', JSON.stringify(goodEvent));
    await app.redis.xadd(keys.first.stream, '*', 'event', '{broken');
    await app.redis.xadd(keys.first.stream, '*', 'events', JSON.stringify([{ ...goodEvent, id: 'x-2', count: 1 }, { ...goodEvent, id: 'x-3', channel: 'fax' }]));
    await app.redis.xadd(keys.first.stream, '*', 'something', 'else');
    await app.drained();
    const dead = (await app.redis.xrange(keys.first.deadLetter, '-', '+')).map(([, f]) => Object.fromEntries(f.reduce<string[][]>((acc, v, i) => (i % 2 ? acc[acc.length - 1]!.push(v) : acc.push([v]), acc), [])));
    expect(dead.map((d) => d.reason)).toEqual([
      expect.stringMatching(/^not JSON/),
      'channel: unknown channel "fax"',
      'entry has neither an "events" nor an "event" field',
    ]);
    expect(dead[1]!.index).toBe('1');
    const live = (await (await app.get('/api/v1/live?channel=sms')).json()) as LiveResponse;
    expect(live.windows['1h'].exposure).toBe(322);
  });
});

describe('reconciliation from the database', () => {
  it('rebuilds hot buckets that Redis lost or that drifted, at every level', async () => {
    const stream = generateStream(app.cfg, 3000, 23, now);
    await postAll((events) => app.post(events), stream.deliveries);
    await app.drained();
    const keys = redisKeys(app.stores.redisPrefix, app.cfg.pipeline);

    // Redis loses every hot bucket, and one that survives drifts
    await deleteKeys(app.redis, `${app.stores.redisPrefix}h:${HOUR}:`);
    await deleteKeys(app.redis, `${app.stores.redisPrefix}h:${MINUTE}:`);
    await deleteKeys(app.redis, `${app.stores.redisPrefix}u:`);
    const tenSecond = (await app.redis.keys(`${app.stores.redisPrefix}h:10000:*:all`))[0]!;
    await app.redis.hincrby(tenSecond, 'exposure', 999);
    const broken = (await (await app.get('/api/v1/live')).json()) as LiveResponse;
    const window = broken.windows['24h'];
    const truth = truthSums(stream.unique.concat(), (e) => e.ts >= Date.parse(window.from) && e.ts < Date.parse(window.to));
    expect(apiSums(window)).not.toEqual(withoutUsers(truth));

    const result = await reconcileHotBuckets(app.redis, app.db, keys, app.cfg);
    expect(result.corrected).toBeGreaterThan(0);
    const healed = (await (await app.get('/api/v1/live?channel=douyin')).json()) as LiveResponse;
    for (const w of Object.values(healed.windows)) {
      const t = truthSums(stream.unique, (e) => e.channel === 'douyin' && e.ts >= Date.parse(w.from) && e.ts < Date.parse(w.to));
      expect(apiSums(w)).toEqual(withoutUsers(t));
      expect(Math.abs(w.uniqueUsers - t.users.size)).toBeLessThanOrEqual(Math.max(2, t.users.size * 0.03));
    }
    const all = (await (await app.get('/api/v1/live')).json()) as LiveResponse;
    for (const w of Object.values(all.windows)) {
      const t = truthSums(stream.unique.concat([{ id: 'x-1', type: 'exposure', ts: now - 5000, channel: 'sms', count: 321 }, { id: 'x-2', type: 'exposure', ts: now - 5000, channel: 'sms', count: 1 }]),
        (e) => e.ts >= Date.parse(w.from) && e.ts < Date.parse(w.to));
      expect(apiSums(w)).toEqual(withoutUsers(t));
    }
    // a second run finds nothing left to correct
    expect((await reconcileHotBuckets(app.redis, app.db, keys, app.cfg)).corrected).toBe(0);
  });
});

describe('the first reconciliation after late events', () => {
  it('corrects nothing where the hot buckets are right (events older than the hot retention are not in them), and heals a real drift past the cut', async () => {
    const keys = redisKeys(app.stores.redisPrefix, app.cfg.pipeline);
    expect((await reconcileHotBuckets(app.redis, app.db, keys, app.cfg)).corrected).toBe(0);
    // a backfill, as a fresh demo posts one: 30 h ago up to an hour ago, a part of it older than the hot retention
    const start = Date.now() - 30 * HOUR;
    const late = Array.from({ length: 600 }, (_, i) => ({ id: `late-${i}`, type: 'exposure', ts: start + i * 29 * HOUR / 600, channel: 'wecom', count: 1 + (i % 7) }));
    for (let i = 0; i < late.length; i += 200) expect((await app.post(late.slice(i, i + 200))).status).toBe(202);
    await app.drained();
    const first = await reconcileHotBuckets(app.redis, app.db, keys, app.cfg);
    expect(first.checked).toBeGreaterThan(100);
    expect(first.corrected).toBe(0);

    // a delta lost after the cut (every level of one 10 s bucket loses it): a real drift, healed
    const cut = Date.now() - app.cfg.pipeline.windows.hotRetention;
    const event = late.find((e) => e.ts >= cut + 3 * MINUTE)!;
    const scope = 'c:wecom';
    for (const level of [10_000, MINUTE, HOUR]) {
      const key = keys.first.bucket(level, Math.floor(event.ts / level) * level, scope);
      expect(Number(await app.redis.hget(key, 'exposure'))).toBeGreaterThanOrEqual(event.count);
      await app.redis.hincrby(key, 'exposure', -event.count);
    }
    const straddling = Math.floor(event.ts / HOUR) * HOUR < cut;
    const healed = await reconcileHotBuckets(app.redis, app.db, keys, app.cfg);
    // the hour that straddles the cut is not compared whole: its minute and 10 s bucket are
    expect(healed.corrected).toBe(straddling ? 2 : 3);
    expect((await reconcileHotBuckets(app.redis, app.db, keys, app.cfg)).corrected).toBe(0);
  });
});

describe('the default alerts on the wall\'s own health', () => {
  it('name only metrics that /metrics serves, the reconciliation\'s corrections among them', async () => {
    const rules = parse(readFileSync('config/prometheus-alerts.yaml', 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const exprs = rules.groups.flatMap((g) => g.rules);
    expect(exprs.map((r) => r.alert)).toContain('WallHotBucketsDrifted');
    const served = await (await fetch(`${app.server.url}/metrics`)).text();
    for (const { expr } of exprs) for (const name of expr.match(/mw_[a-z_]+/g) ?? []) expect(served, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });
});

describe('retention', () => {
  it('purges what is past retention and keeps the rest', async () => {
    const old = new Date(now - 100 * 86_400_000);
    await app.db.query(`INSERT INTO event_ids (id, ts, stream_id) VALUES ('ancient', $1, '1-0')`, [old]);
    await app.db.query(`INSERT INTO events (ts, id, type, channel, count, value) VALUES ($1, 'ancient', 'click', 'jd', 1, 0)`, [old]);
    await app.db.query(
      `INSERT INTO rollup_10s (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend) VALUES ($1, 'jd', '', '', '', 0, 1, 0, 0, 0, 0)`,
      [old],
    );
    // alerts: one resolved long ago (goes), one still firing since then (stays)
    const ancient = new Date(now - 500 * 86_400_000);
    await app.db.query(
      `INSERT INTO alerts (id, rule_id, instance, labels, severity, state, active_since, summary, summary_en, updated_at) VALUES
       ('old-resolved', 'r', 'a', '{}', 'warning', 'resolved', $1, 's', 's', $1), ('old-firing', 'r', 'b', '{}', 'warning', 'firing', $1, 's', 's', $1)`,
      [ancient],
    );
    // an audit entry past its year, and one inside it
    await app.db.query(`INSERT INTO audit_log (at, action, actor) VALUES ($1, 'login', 'old'), ($2, 'login', 'recent')`, [new Date(now - 400 * 86_400_000), old]);
    // customers: one not seen for longer than the ledger's retention (forgotten), one seen inside it (kept)
    const forgotten = new Date(now - app.cfg.pipeline.retention.customers - 2 * 86_400_000);
    await app.db.query(
      `INSERT INTO first_seen (scope, user_id, first_ts, channel, region, store, last_ts) VALUES
       ('all', 'gone-customer', $1, 'jd', '', '', $1), ('all', 'loyal-customer', $1, 'jd', '', '', $2)`,
      [forgotten, old],
    );
    // unique-user sketches: an hour's past the hourly rollups' retention (goes), its day's and a recent hour's (stay)
    const pastHours = new Date(now - app.cfg.pipeline.retention.rollup1h - 86_400_000);
    await app.db.query(
      `INSERT INTO user_sketches (step, kind, bucket, channel, region, store, campaign, users, sketch) VALUES
       ('1h', 0, $1, '', '', '', '', 1, '\\x00'), ('1d', 0, $1, '', '', '', '', 1, '\\x00'), ('1h', 0, $2, '', '', '', '', 1, '\\x00')`,
      [pastHours, old],
    );
    // the narrow rollups, on both paths: each level's row past its retention goes, one inside it stays
    const pastMinutes = new Date(now - app.cfg.pipeline.retention.rollup10s - 60_000);
    const pastDaily = new Date(now - app.cfg.pipeline.retention.rollup1d - 86_400_000);
    const narrow = [['channel_minutes', pastMinutes], ['channel_hours', pastHours], ['channel_days', pastDaily], ['region_hours', pastHours], ['region_days', pastDaily]] as const;
    for (const [table, past] of narrow) {
      const [columns, values] = table.startsWith('region_') ? ['region, channel', `'old', 'old'`] : ['channel', `'old'`];
      await app.db.query(`INSERT INTO ${table} (bucket, ${columns}, exposure, clicks, visits, conversions, revenue, spend) VALUES ($1, ${values}, 1, 0, 0, 0, 0, 0), ($2, ${values}, 1, 0, 0, 0, 0, 0)`,
        [past, new Date(now - 60_000 - (table === 'channel_minutes' ? 0 : 3_600_000))]);
    }
    // annotations: a span and a moment over before the daily rollups' retention (go), a span from then until now (stays)
    const pastDays = new Date(now - app.cfg.pipeline.retention.rollup1d - 86_400_000);
    await app.db.query(
      `INSERT INTO annotations (starts_at, ends_at, text, kind, created_by) VALUES
       ($1, $1, 'old sale', 'campaign', 'old'), ($1, NULL, 'old moment', 'outage', 'old'), ($1, $2, 'long span', 'price', 'old')`,
      [pastDays, new Date(now)],
    );
    const before = (await app.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n;
    const deleted = await purgeExpired(app.db, app.cfg, app.server.storage, now);
    if (app.server.storage === 'postgres') {
      expect(deleted).toMatchObject({ event_ids: 1, events: 1, rollup_10s: 1, rollup_1h: 0, rollup_1d: 0, audit_log: 1, alerts: 1 });
      expect((await app.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(before - 1);
    } else {
      // TimescaleDB's retention policies drop old chunks; only the id ledger is ours to purge
      expect(deleted).toMatchObject({ event_ids: 1, audit_log: 1, alerts: 1 });
    }
    expect((await app.db.query(`SELECT count(*)::int AS n FROM event_ids WHERE id = 'ancient'`)).rows[0].n).toBe(0);
    expect((await app.db.query(`SELECT actor FROM audit_log WHERE actor IN ('old', 'recent')`)).rows).toEqual([{ actor: 'recent' }]);
    expect((await app.db.query(`SELECT id FROM alerts WHERE id LIKE 'old-%'`)).rows).toEqual([{ id: 'old-firing' }]);
    expect(deleted.first_seen).toBe(1);
    expect(deleted.annotations).toBe(2);
    expect((await app.db.query(`SELECT text FROM annotations WHERE created_by = 'old'`)).rows).toEqual([{ text: 'long span' }]);
    expect(deleted).toMatchObject({ channel_minutes: 1, channel_hours: 1, channel_days: 1, region_hours: 1, region_days: 1 });
    for (const [table] of narrow) {
      expect((await app.db.query(`SELECT count(*)::int AS n FROM ${table} WHERE channel = 'old'`)).rows[0].n).toBe(1);
    }
    expect(deleted.user_sketches).toBe(1);
    expect((await app.db.query(`SELECT step, bucket FROM user_sketches WHERE bucket IN ($1, $2) ORDER BY bucket, step`, [pastHours, old])).rows)
      .toEqual([{ step: '1d', bucket: pastHours }, { step: '1h', bucket: old }]);
    expect((await app.db.query(`SELECT user_id FROM first_seen WHERE user_id LIKE '%-customer'`)).rows).toEqual([{ user_id: 'loyal-customer' }]);
  });
});

describe('an event the database refuses', () => {
  it('goes to the dead-letter stream with the database\'s reason, and the events around it are counted', async () => {
    // the kind of refusal validation cannot foresee: here a trigger, as a DBA's new constraint would be
    await app.db.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id LIKE 'poison-%' THEN RAISE EXCEPTION 'poison event %', NEW.id; END IF; RETURN NEW; END $$`);
    await app.db.query(`CREATE TRIGGER refuse_poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_poison()`);
    try {
      const keys = redisKeys(app.stores.redisPrefix, app.cfg.pipeline);
      const deadBefore = await app.redis.xlen(keys.first.deadLetter);
      const batch = (n: number) => Array.from({ length: 50 }, (_, i) => ({ id: i === 17 ? `poison-${n}` : `pz-${n}-${i}`, type: 'exposure', ts: now - 2_000, channel: 'baidu', region: 'northwest', count: 2 }));
      const before = ((await (await app.get('/api/v1/live?region=northwest&channel=baidu')).json()) as LiveResponse).windows['1h'].exposure;
      for (const n of [1, 2, 3]) expect((await app.post(batch(n))).status).toBe(202);
      await app.drained(30_000);
      const live = ((await (await app.get('/api/v1/live?region=northwest&channel=baidu')).json()) as LiveResponse).windows['1h'].exposure;
      expect(live - before).toBe(3 * 49 * 2);
      expect((await app.db.query(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'pz-%'`)).rows[0].n).toBe(147);
      const dead = (await app.redis.xrange(keys.first.deadLetter, '-', '+')).slice(deadBefore).map(([, f]) => f.join(' '));
      expect(dead).toHaveLength(3);
      for (const n of [1, 2, 3]) expect(dead.some((d) => d.includes(`poison-${n}`) && d.includes(`the database refused it: poison event poison-${n}`))).toBe(true);
    } finally {
      await app.db.query(`DROP TRIGGER refuse_poison ON events; DROP FUNCTION refuse_poison()`);
    }
  });
});
