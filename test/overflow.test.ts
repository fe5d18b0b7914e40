// Hostile quantities: a flood of maximum-value events (past what 64-bit integers hold in one bucket),
// then ordinary events; and a hot apply that fails part-way. Every number must stay exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR } from '../stream/buckets.js';
import { moneyOfUnits, readHotWindows } from '../stream/hot-read.js';
import { MAX_APPLY_ATTEMPTS } from '../stream/processor.js';
import { defineReconcileScript, reconcileHotBuckets } from '../stream/reconcile.js';
import { HOT_FIELDS, redisKeys, sumsOfHotFields } from '../stream/redis-keys.js';
import { packStrings } from '../stream/msgpack-strings.js';
import type { LiveResponse } from '../stream/types.js';
import { startTestApp, testConfig, type TestApp } from './harness.js';

let app: TestApp;
const now = Date.now();
const FLOOD = 100_000;
const MAX_VALUE = 1e10;
const SCALE = 10_000n;

beforeAll(async () => {
  app = await startTestApp('overflow', { cfg: testConfig((cfg) => (cfg.pipeline.reconcile.settle = 0)) });
  defineReconcileScript(app.redis);
});
afterAll(async () => app?.close());

const keys = () => redisKeys(app.stores.redisPrefix, app.cfg.pipeline);
const live = async (query = '') => (await (await app.get(`/api/v1/live${query}`)).json()) as LiveResponse;

async function hotUnits(levelMs: number, start: number, scope: string): Promise<bigint[]> {
  return sumsOfHotFields(await app.redis.hmget(keys().first.bucket(levelMs, start, scope), ...HOT_FIELDS));
}

async function post(events: object[]): Promise<void> {
  for (let i = 0; i < events.length; i += 10_000) {
    const response = await app.post(events.slice(i, i + 10_000));
    expect(response.status).toBe(202);
    expect(((await response.json()) as { accepted: number }).accepted).toBe(Math.min(10_000, events.length - i));
  }
}

describe('a flood of maximum-value events', () => {
  // within one minute, so the nation's hourly revenue reaches 10^15 yuan = 10^19 units > 2^63
  // (if an hour begins inside that minute, both hours' buckets are added up)
  const base = now - 3 * 60_000;
  const ts = (i: number) => base + (i % 60_000);
  const hours = [...new Set([Math.floor(base / HOUR) * HOUR, Math.floor((base + 59_999) / HOUR) * HOUR])];
  const hourStart = hours[0]!;
  const hourlyUnits = async (scope: string) => {
    const parts = await Promise.all(hours.map((h) => hotUnits(HOUR, h, scope)));
    return parts.reduce((sum, part) => sum.map((v, f) => v + part[f]!));
  };
  let ordinaryRevenueUnits = 0n;
  let ordinaryExposure = 0;

  it('is counted exactly at every level, and the ordinary events after it too', async () => {
    const flood = Array.from({ length: FLOOD }, (_, i) => ({
      id: `max-${i}`, type: 'conversion', ts: ts(i), channel: 'douyin', store: 'sh-jingan', value: MAX_VALUE, count: 1_000_000,
    }));
    await post(flood);
    const ordinary = Array.from({ length: 600 }, (_, i) => {
      if (i % 2) {
        ordinaryExposure += 37 + i;
        return { id: `ord-${i}`, type: 'exposure', ts: ts(i), channel: 'douyin', region: 'east', count: 37 + i };
      }
      const value = Math.round(i * 12.3457 * 10_000) / 10_000;
      ordinaryRevenueUnits += BigInt(Math.round(value * 10_000));
      return { id: `ord-${i}`, type: 'conversion', ts: ts(i), channel: 'douyin', store: 'sh-jingan', value };
    });
    await post(ordinary);
    await app.drained(120_000);

    const revenueUnits = BigInt(FLOOD) * BigInt(MAX_VALUE) * SCALE + ordinaryRevenueUnits;
    expect(revenueUnits > 2n ** 63n).toBe(true);
    const conversions = FLOOD * 1_000_000 + 300;

    // Redis: the nation's, the region's and the store's hourly buckets hold the exact sums
    for (const scope of ['all', 'r:east', 's:sh-jingan', 'c:douyin']) {
      const [exposure, , , conv, revenue] = await hourlyUnits(scope);
      expect({ scope, revenue, conv }).toEqual({ scope, revenue: revenueUnits, conv: BigInt(conversions) });
      if (scope !== 's:sh-jingan') expect(exposure).toBe(BigInt(ordinaryExposure));
    }
    // PostgreSQL: every rollup level, and the narrow rollups, exact
    for (const table of ['rollup_10s', 'rollup_1h', 'rollup_1d', 'channel_minutes', 'channel_hours', 'channel_days', 'region_hours', 'region_days']) {
      const { rows } = await app.db.query(`SELECT sum(revenue)::text AS revenue, sum(conversions)::text AS conversions, sum(exposure)::text AS exposure FROM ${table}`);
      expect(rows[0]).toEqual({ revenue: `${revenueUnits / SCALE}.${String(revenueUnits % SCALE).padStart(4, '0')}`, conversions: String(conversions), exposure: String(ordinaryExposure) });
    }
    // the API: counts exact, money the double nearest the exact sum
    for (const query of ['', '?region=east', '?store=sh-jingan', '?channel=douyin']) {
      const body = await live(query);
      for (const window of ['15m', '1h', '24h'] as const) {
        expect(body.windows[window].conversions).toBe(conversions);
        expect(body.windows[window].revenue).toBe(moneyOfUnits(revenueUnits, 10_000));
        if (query !== '?store=sh-jingan') expect(body.windows[window].exposure).toBe(ordinaryExposure);
      }
    }
  });

  it('keeps reconciliation succeeding, finding no drift, and healing a drifted bucket exactly', async () => {
    const first = await reconcileHotBuckets(app.redis, app.db, keys(), app.cfg);
    expect(first).toMatchObject({ corrected: 0 });
    expect(first.skipped).toBeUndefined();
    expect(first.checked).toBeGreaterThan(0);

    const before = await hotUnits(HOUR, hourStart, 'r:east');
    await app.redis.hset(keys().first.bucket(HOUR, hourStart, 'r:east'), 'revenue', '5', 'revenue:hi', '1');
    const healed = await reconcileHotBuckets(app.redis, app.db, keys(), app.cfg);
    expect(healed.corrected).toBeGreaterThan(0);
    expect(await hotUnits(HOUR, hourStart, 'r:east')).toEqual(before);
  });
});

describe('a hot apply that fails part-way', () => {
  it('applies nothing of the entry, retries it, then dead-letters it with the reason; reconciliation restores the numbers', async () => {
    const at = now - 2 * 60_000;
    const minuteStart = Math.floor(at / 60_000) * 60_000;
    const hourStart = Math.floor(at / HOUR) * HOUR;
    const before = await hotUnits(HOUR, hourStart, 'all');
    // a key of the wrong type where one of the entry's region-level buckets lives: its HINCRBY fails
    // after the nation's and the channel's buckets have been incremented in the same script
    const poisoned = keys().first.bucket(60_000, minuteStart, 'r:north');
    await app.redis.set(poisoned, 'not a hash');

    const response = await app.post([
      { id: 'poison-1', type: 'exposure', ts: at, channel: 'baidu', region: 'north', count: 1234 },
      { id: 'poison-2', type: 'conversion', ts: at, channel: 'baidu', region: 'north', value: 99.5 },
    ]);
    expect(response.status).toBe(202);

    const deadline = Date.now() + 30_000;
    let dead: string[][] = [];
    while (Date.now() < deadline) {
      dead = (await app.redis.xrange(keys().first.deadLetter, '-', '+')).map(([, fields]) => fields);
      if (dead.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(dead).toHaveLength(1);
    const reason = dead[0]![dead[0]!.indexOf('reason') + 1]!;
    expect(reason).toContain(`refused it ${MAX_APPLY_ATTEMPTS} times`);
    expect(reason).toContain('WRONGTYPE');
    await app.drained();

    // nothing of the entry reached any hot bucket: not the nation's, not the channel's
    expect(await hotUnits(HOUR, hourStart, 'all')).toEqual(before);
    // the database has the events all the same
    const { rows } = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE id LIKE 'poison-%'`);
    expect(rows[0].n).toBe(2);

    await app.redis.del(poisoned);
    const result = await reconcileHotBuckets(app.redis, app.db, keys(), app.cfg);
    expect(result.corrected).toBeGreaterThan(0);
    const after = await hotUnits(HOUR, hourStart, 'all');
    expect(after[0]! - before[0]!).toBe(1234n);
    expect(after[4]! - before[4]!).toBe(995_000n);
    const north = await live('?region=north&channel=baidu');
    expect(north.windows['1h'].exposure).toBe(1234);
    expect(north.windows['1h'].revenue).toBe(99.5);
  });
});

describe('range sums in Redis (sum-ranges.lua)', () => {
  it('add buckets exactly past 2^53 and 2^63, negative parts included, across partitions', async () => {
    // two partitions' parts of the same buckets, as reconciliation may leave them (a negative part in the first)
    const cfg = testConfig((c) => (c.pipeline.stream.partitions = 2));
    const split = redisKeys(`${app.stores.redisPrefix}sum:`, cfg.pipeline);
    const start = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
    const values = [
      ['9223372036854775807', '-9223372036854775807', '123456789012345678', '999999999', '999999999999999', '-5', '9223372036854775807', '1'],
      ['9223372036854775807', '9223372036854775806', '-1', '1000000000', '999999999999999', '7', '9223372036854775807', '-3'],
    ];
    const expected = HOT_FIELDS.map(() => 0n);
    for (let hour = 0; hour < 3; hour++) {
      for (const [p, partition] of split.partitions.entries()) {
        const fields = values[(hour + p) % 2]!;
        await app.redis.hset(partition.bucket(HOUR, start + hour * HOUR, 'all'), Object.fromEntries(HOT_FIELDS.map((f, i) => [f, fields[i]!])));
        fields.forEach((v, i) => { expected[i]! += BigInt(v); });
      }
    }
    const [read] = await readHotWindows(app.redis, split, [{ scope: 'all', from: start, to: start + 3 * HOUR, users: false }], 10_000);
    const units = sumsOfHotFields(expected.map(String));
    expect(read!.exposure).toBe(Number(units[0]));
    expect(read!.clicks).toBe(Number(units[1]));
    expect(read!.visits).toBe(Number(units[2]));
    expect(read!.conversions).toBe(Number(units[3]));
    expect(read!.revenue).toBe(moneyOfUnits(units[4]!, 10_000));
    expect(read!.spend).toBe(moneyOfUnits(units[5]!, 10_000));
    // the exactness that matters below the JSON number: a field whose sum a double cannot hold
    expect(units[2]).toBe(3n * (123456789012345678n - 1n));
    expect(read!.visits).toBe(Number(3n * (123456789012345678n - 1n)));
  });
});

describe('an entry\'s hot delta, one MessagePack argument', () => {
  it('reaches Redis\'s Lua as the same strings, at every length and count, in the bytes ioredis sends', async () => {
    const long = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + (i % 500))).join('');
    const tree = [
      [],
      ['', 'a', 'all', '東京 🎉', long(85), long(86), long(21_845), long(21_846), 'x'.repeat(70_000)],
      Array.from({ length: 70_000 }, (_, i) => `u${i}`),
      [['nested', ['deeper']], 'lone \ud800 surrogate'],
    ];
    const back = await app.redis.eval('return cmsgpack.unpack(ARGV[1])', 0, packStrings(tree));
    // ioredis sends a lone surrogate as U+FFFD, as pg does: the same customer is the same bytes everywhere
    const asSent = JSON.parse(JSON.stringify(tree).replace('\\ud800', '\ufffd'));
    expect(back).toEqual(asSent);
  });
});
