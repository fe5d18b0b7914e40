// Random and hostile input at ingest and login (fast-check): no 5xx and no crash; every answer
// accounts for every event; nothing that breaks the rules is stored; the good events that came
// alongside are all counted — checked against the database at the end.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createEventValidator } from '../stream/event-validate.js';
import { entryJson } from '../server/ingest/entry-json.js';
import { API_KEY, startTestApp, type TestApp } from './harness.js';

let app: TestApp;
const now = Date.now();
const goodIds = new Set<string>();
let goodRevenue = 0;

beforeAll(async () => {
  app = await startTestApp('fuzz');
  // signed in before the login fuzz, whose wrong passwords for ops and admin may reach their login limit
  for (const username of ['ops', 'admin', 'oncall', 'manager-east']) await app.token(username);
}, 60_000);
afterAll(async () => app?.close());

const channels = ['douyin', 'wechat', 'app', 'sms', 'store'];
let serial = 0;
/** a valid event with a unique id: it must be accepted whatever comes with it */
const goodEvent = fc.record({
  type: fc.constantFrom('exposure', 'click', 'conversion', 'spend'),
  channel: fc.constantFrom(...channels),
  ageMs: fc.integer({ min: 0, max: 47 * 3_600_000 }),
  count: fc.integer({ min: 1, max: 1_000_000 }),
  cents: fc.integer({ min: 0, max: 10_000_000 }),
  userId: fc.option(fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\u0000')), { nil: undefined }),
}).map((e) => ({
  kind: 'good' as const,
  event: { id: `good-${process.pid}-${serial++}`, type: e.type, channel: e.channel, ts: now - e.ageMs, count: e.count, value: e.cents / 100, ...(e.userId ? { userId: e.userId } : {}) },
}));

const cfg = loadConfig();
const knownIds = new Set<unknown>([...cfg.channels.map((c) => c.id), ...cfg.regions.map((r) => r.id), ...cfg.storeById.keys(), 'exposure', 'click', 'visit', 'conversion', 'spend']);
const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.anything(), { maxLength: 3 }), fc.object({ maxDepth: 2 }), fc.constant({ __proto__: { admin: true } }));
const badText = fc.oneof(notAString, fc.constant(''), fc.constant('x'.repeat(10_000)), fc.constant('a\u0000b'));
/** for each field, values that certainly break its rule */
const breakers: Record<string, fc.Arbitrary<unknown>> = {
  id: badText,
  campaign: badText,
  userId: badText,
  type: fc.oneof(notAString, fc.string({ unit: 'grapheme' }).filter((v) => !knownIds.has(v))),
  channel: fc.oneof(notAString, fc.string({ unit: 'grapheme' }).filter((v) => !knownIds.has(v))),
  region: fc.oneof(notAString, fc.string({ unit: 'grapheme', minLength: 1 }).filter((v) => !knownIds.has(v))),
  store: fc.oneof(notAString, fc.string({ unit: 'grapheme', minLength: 1 }).filter((v) => !knownIds.has(v))),
  ts: fc.oneof(fc.constant(null), fc.boolean(), fc.object({ maxDepth: 1 }), fc.string(), fc.constant(-1), fc.constant(1.5), fc.constant(now + 3_600_000), fc.constant(now - 49 * 3_600_000), fc.constant('2026-11-23 08:00')),
  count: fc.oneof(fc.constant(0), fc.constant(-3), fc.constant(1.5), fc.constant(1e7), fc.string(), fc.constant(null), fc.boolean()),
  value: fc.oneof(fc.constant(-0.01), fc.constant(1e11), fc.string(), fc.constant(null), fc.object({ maxDepth: 1 })),
};
/** an event that breaks a rule: one field wrong, a rule across fields, or not an object at all */
const badEvent = fc.oneof(
  fc.constantFrom(...Object.keys(breakers)).chain((field) => breakers[field]!.map((value) => ({
    kind: 'bad' as const,
    event: { id: `bad-${serial++}`, type: 'conversion', channel: 'app', ts: now, value: 10, [field]: value } as unknown,
  }))),
  fc.constantFrom<unknown>(
    { id: 'bad-visit', type: 'visit', channel: 'store', ts: now },
    { id: 'bad-store', type: 'click', channel: 'app', ts: now, store: 'sh-jingan', region: 'north' },
    { id: 'bad-value', type: 'spend', channel: 'app', ts: now },
    { type: 'click', channel: 'app', ts: now },
  ).map((event) => ({ kind: 'bad' as const, event })),
  fc.anything().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)).map((event) => ({ kind: 'bad' as const, event: event as unknown })),
);

describe('ingest under random and hostile input', () => {
  it('accounts for every event, stores only good ones, and never answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(goodEvent, badEvent), { minLength: 1, maxLength: 40 }), async (items) => {
        const response = await app.post(items.map((i) => i.event));
        expect(response.status).toBe(202);
        const body = (await response.json()) as { accepted: number; duplicates: number; rejected: Array<{ index: number; error: string }> };
        expect(body.accepted + body.duplicates + body.rejected.length).toBe(items.length);
        const rejected = new Set(body.rejected.map((r) => r.index));
        items.forEach((item, index) => {
          if (item.kind === 'good') expect(rejected.has(index), `good event ${JSON.stringify(item.event)} was rejected`).toBe(false);
        });
        for (const r of body.rejected) expect(r.error).toMatch(/^[\w.[\]]+: /); // names the field
        for (const item of items) {
          if (item.kind !== 'good') continue;
          goodIds.add(item.event.id);
          if (item.event.type === 'conversion') goodRevenue += item.event.value;
        }
      }),
      { numRuns: 80 },
    );
  }, 120_000);

  it('answers hostile bodies and headers with a 4xx naming the problem', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.json(), fc.constant('{"id":'), fc.constant('[' + '['.repeat(5000)), fc.constant('\uFEFF[]'), fc.constant('null')),
        fc.constantFrom('application/json', 'application/x-ndjson', 'text/plain', 'application/json; charset=utf-16', ''),
        fc.constantFrom(API_KEY, '', 'wrong', 'x'.repeat(5000), `${API_KEY}\u00e9`),
        async (raw, contentType, apiKey) => {
          const response = await app.post(undefined, { raw, contentType, apiKey });
          expect(response.status, `${contentType} ${JSON.stringify(raw).slice(0, 80)}`).toBeLessThan(500);
          if (response.status !== 202) expect(((await response.json()) as { error: string }).error.length).toBeGreaterThan(5);
          else await response.arrayBuffer();
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);

  it('stored exactly the good events, each within the rules', async () => {
    await app.drained();
    const { rows } = await app.db.query<{ id: string; channel: string; count: number; value: string; ts: Date }>(`SELECT id, channel, count, value::text, ts FROM events`);
    const stored = rows.filter((r) => !r.id.startsWith('good-') || goodIds.has(r.id));
    expect(stored.length).toBe(rows.length);
    expect(new Set(rows.map((r) => r.id))).toEqual(goodIds);
    for (const row of rows) {
      expect(channels).toContain(row.channel);
      expect(row.count).toBeGreaterThanOrEqual(1);
      expect(Number(row.value)).toBeGreaterThanOrEqual(0);
      expect(row.ts.getTime()).toBeLessThanOrEqual(now + 5 * 60_000);
    }
    const revenue = await app.db.query<{ revenue: string }>(`SELECT coalesce(sum(value), 0)::text AS revenue FROM events WHERE type = 'conversion'`);
    expect(Number(revenue.rows[0]!.revenue)).toBeCloseTo(goodRevenue, 2);
  });
});

describe('the ingest check by hand', () => {
  it('takes exactly what zod takes, and every refusal carries zod\'s reason', () => {
    const pseudonymize = (userId: string) => `h:${userId}`;
    const byHand = createEventValidator(cfg, pseudonymize);
    const byZod = createEventValidator(cfg, pseudonymize, { byHand: false });
    const field = fc.oneof(fc.anything(), fc.double(), fc.integer(), fc.string({ maxLength: 140 }), fc.constant(Number.MAX_SAFE_INTEGER + 2), fc.constant(-0),
      fc.constantFrom(...[0, 1, 40, 41, 64, 65, 128, 129].map((n) => 'x'.repeat(n))), fc.constantFrom(1_000_000, 1_000_001, 1e10, 1e10 + 1));
    /** an event with any of its fields replaced by anything (absent, null, NaN-like, too long, another type) */
    const mangled = fc.tuple(goodEvent, fc.dictionary(fc.constantFrom('id', 'type', 'ts', 'channel', 'count', 'value', 'region', 'store', 'campaign', 'userId', 'extra'), field))
      .map(([good, changes]) => ({ ...good.event, ...changes }));
    fc.assert(fc.property(fc.oneof(goodEvent.map((g) => g.event as unknown), badEvent.map((b) => b.event), mangled), (event) => {
      expect(byHand(event, now)).toEqual(byZod(event, now));
    }), { numRuns: 20_000 });
  });

  it('writes what it accepted into a stream entry as exactly the bytes of JSON.stringify', () => {
    const validate = createEventValidator(cfg, (userId: string) => userId); // ids kept as sent: any text reaches the writer
    const anyText = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), fc.constantFrom('a"b', 'a\\b', '\u007f', '\u0001', 'é', '\uD800', '😀', '户'));
    const accepted = fc.tuple(goodEvent, fc.record({ id: anyText, userId: anyText, campaign: anyText }, { requiredKeys: [] }))
      .map(([good, text]) => validate({ ...good.event, ...text }, now))
      .filter((r): r is Extract<typeof r, { ok: true }> => r.ok)
      .map((r) => r.event);
    let odd = 0;
    fc.assert(fc.property(fc.array(accepted, { minLength: 1, maxLength: 30 }), (events) => {
      const json = JSON.stringify(events);
      if (/\\|[^\x20-\x7e]/.test(json)) odd++;
      expect(entryJson(events).equals(Buffer.from(json))).toBe(true);
      expect(entryJson(events, 1).equals(Buffer.from(json))).toBe(true); // growing at every turn
    }), { numRuns: 2000 });
    expect(odd).toBeGreaterThan(500); // escapes and non-ASCII went through, not only plain ids
    // an entry larger than the writer's first guess
    const many = Array.from({ length: 3000 }, (_, i) => validate({ id: `户-${'x'.repeat(100)}-${i}`, type: 'click', ts: now, channel: 'app', userId: '😀'.repeat(40) }, now))
      .map((r) => (r.ok ? r.event : expect.fail(r.error)));
    expect(entryJson(many).equals(Buffer.from(JSON.stringify(many)))).toBe(true);
  });
});

describe('login under random and hostile input', () => {
  it('answers 400, 401, 413, 415 or 429 — never 5xx, never a token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ username: fc.oneof(badText, fc.string({ unit: 'grapheme' })), password: fc.oneof(badText, fc.string()) }).map((b) => JSON.stringify(b)),
          fc.record({ username: fc.constantFrom('ops', 'admin', 'ops\u0000', 'OPS', ' ops', 'admin\' OR 1=1 --'), password: fc.string() }).map((b) => JSON.stringify(b)),
          fc.json(), fc.string(), fc.constant('{"username":"ops","password":"demo","role":"admin"}'),
        ),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        async (body, contentType) => {
          const response = await fetch(`${app.server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': contentType }, body });
          expect([400, 401, 413, 415, 429], `${contentType} ${body.slice(0, 80)}`).toContain(response.status);
          const answer = (await response.json()) as { token?: string; error?: string };
          expect(answer.token).toBeUndefined();
          expect(answer.error).toBeTruthy();
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});

describe('stream entries forged by anyone who can XADD', () => {
  it('are validated in full whatever they claim: src=ingest without our signature, or with one taken from another payload', async () => {
    const stream = `${app.stores.redisPrefix}${app.cfg.pipeline.stream.name}`;
    const deadLetters = `${app.stores.redisPrefix}${app.cfg.pipeline.stream.deadLetter}`;
    const deadBefore = await app.redis.xlen(deadLetters);
    const forged = [
      { id: 'forged-negative', type: 'exposure', ts: now, channel: 'app', count: -500, value: 0 },
      { id: 'forged-channel', type: 'exposure', ts: now, channel: 'fax', count: 1, value: 0 },
      { id: 'forged-store', type: 'visit', ts: now, channel: 'store', store: 'bj-sanlitun', region: 'east', count: 3, value: 0 },
      { id: 'forged-1970', type: 'click', ts: 1000, channel: 'app', count: 1, value: 0 },
      { id: 'forged-value', type: 'conversion', ts: now, channel: 'app', count: 1, value: -1e12 },
    ];
    const good = { id: 'forged-but-good', type: 'click', ts: now - 1000, channel: 'app', count: 2, value: 0 };
    await app.redis.xadd(stream, '*', 'src', 'ingest', 'events', JSON.stringify([...forged, good]));
    // a real signature, lifted from a real entry, on another payload
    const real = (await app.post([{ id: 'signed-real', type: 'click', ts: now - 1000, channel: 'sms' }])).status;
    expect(real).toBe(202);
    await app.drained();
    const { rows: signed } = await app.db.query(`SELECT id FROM events WHERE id = 'signed-real'`);
    expect(signed).toHaveLength(1);
    await app.redis.xadd(stream, '*', 'src', 'ingest', 'events', JSON.stringify([{ ...forged[0], id: 'forged-replayed' }]), 'sig', 'AAAA');
    await app.drained();

    const dead = (await app.redis.xrange(deadLetters, '-', '+')).slice(deadBefore).map(([, f]) => f[f.indexOf('reason') + 1]);
    expect(dead).toEqual([
      expect.stringMatching(/^count:/),
      'channel: unknown channel "fax"',
      'region: "east" does not match store "bj-sanlitun", which is in "north"',
      'ts: older than the allowed lateness of 48 hours',
      expect.stringMatching(/^value:/),
      expect.stringMatching(/^count:/),
    ]);
    const { rows } = await app.db.query(`SELECT id, count FROM events WHERE id LIKE 'forged-%'`);
    expect(rows).toEqual([{ id: 'forged-but-good', count: 2 }]);
  });
});

describe('query, path and body parameters under hostile input', () => {
  const hostileValue = fc.oneof(
    fc.constantFrom(
      '99999999999999999999', '8640000000000001', '-1', '1e400', '0000-00-00', '2026-02-30', '2026-13-01', '2026-02-29T10:00:00+08:00',
      '2026-11-30T24:00:00Z', '2026-11-30T10:00:00+25:00', '+275760-09-13T00:00:00.000Z', 'a\u0000b', '%00', '\u0000', 'x'.repeat(5000),
      '2026-11-23T08:00:00+08:00', '', ' ', '1d', 'campaign', 'NaN', 'Infinity', '__proto__', '[object Object]',
    ),
    fc.string({ maxLength: 30 }),
    fc.integer().map(String),
  );
  const routes: Array<{ path: string; params: string[]; who: string }> = [
    { path: '/api/v1/metrics', params: ['from', 'to', 'step', 'groupBy', 'region', 'store', 'channel', 'campaign', 'limit'], who: 'ops' },
    { path: '/api/v1/metrics', params: ['from', 'to', 'region', 'store'], who: 'manager-east' },
    { path: '/api/v1/live', params: ['region', 'store', 'channel'], who: 'ops' },
    { path: '/api/v1/geo', params: ['window'], who: 'ops' },
    { path: '/api/v1/alerts', params: ['state', 'limit'], who: 'ops' },
    { path: '/api/v1/audit', params: ['from', 'to', 'action', 'actor', 'limit'], who: 'admin' },
    { path: '/api/v1/attribution', params: ['from', 'to', 'model', 'region'], who: 'ops' },
    { path: '/api/v1/attribution', params: ['model', 'region'], who: 'manager-east' },
    { path: '/api/v1/segments', params: ['region'], who: 'ops' },
    { path: '/api/v1/audiences/export', params: ['tier', 'stage', 'region'], who: 'manager-east' },
    { path: '/api/v1/explain', params: ['metric', 'from', 'to', 'vs', 'region', 'store', 'channel', 'campaign'], who: 'ops' },
    { path: '/api/v1/explain', params: ['metric', 'from', 'region', 'store'], who: 'manager-east' },
    { path: '/api/v1/replay', params: ['at', 'region', 'store', 'channel'], who: 'ops' },
    { path: '/api/v1/replay', params: ['at', 'store'], who: 'manager-east' },
  ];

  it('answers 4xx naming the parameter, never 5xx, on every read route', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.array(fc.tuple(fc.nat(20), hostileValue), { minLength: 1, maxLength: 3 }), async (route, pairs) => {
        const query = new URLSearchParams(pairs.map(([i, value]) => [route.params[i % route.params.length]!, value])).toString();
        const response = await app.get(`${route.path}?${query}`, route.who);
        const body = (await response.json()) as { error?: string };
        expect(response.status, `${route.path}?${query}`).toBeLessThan(500);
        if (response.status === 400) expect(body.error, `${route.path}?${query}`).toMatch(/^[\w.]+: /);
      }),
      { numRuns: 200 },
    );
  }, 120_000);

  it('refuses the times and ids of the review by name', async () => {
    const status = async (path: string, who = 'ops') => {
      const response = await app.get(path, who);
      return [response.status, ((await response.json()) as { error?: string }).error?.split(':')[0]];
    };
    expect(await status('/api/v1/metrics?from=99999999999999999999')).toEqual([400, 'from']);
    expect(await status('/api/v1/metrics?to=8640000000000001')).toEqual([400, 'to']);
    expect(await status('/api/v1/metrics?from=0000-00-00')).toEqual([400, 'from']);
    expect(await status('/api/v1/metrics?from=2026-02-30T00:00:00Z')).toEqual([400, 'from']);
    expect(await status('/api/v1/audit?from=2026-02-30', 'admin')).toEqual([400, 'from']);
    expect(await status('/api/v1/attribution?from=2026-02-30')).toEqual([400, 'from']);
    expect(await status('/api/v1/metrics?campaign=a%00b')).toEqual([400, 'query']);
    expect(await status('/api/v1/alerts/a%00b')).toEqual([400, 'path']);
    expect(await status('/api/v1/alerts/%E0%A4%A')).toEqual([400, 'path']);
    expect(await status('/api/v1/audit?actor=a%00', 'admin')).toEqual([400, 'query']);
    // in JSON bodies too: a silence starting past the end of time
    const silence = await fetch(`${app.server.url}/api/v1/silences`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('oncall')}` },
      body: JSON.stringify({ matchers: [{ name: 'rule', value: 'x' }], startsAt: 1e20, duration: '1h', comment: 'x' }),
    });
    expect(silence.status).toBe(400);
    expect(((await silence.json()) as { error: string }).error).toMatch(/^startsAt: /);
    // and events: calendar dates that do not exist are rejected, not rolled over
    const events = await app.post([
      { id: 'feb-30', type: 'click', channel: 'app', ts: '2026-02-30T10:00:00+08:00' },
      { id: 'hour-24', type: 'click', channel: 'app', ts: '2026-11-30T24:00:00+08:00' },
      { id: 'past-date-range', type: 'click', channel: 'app', ts: 8.64e15 + 1 },
    ]);
    const answer = (await events.json()) as { accepted: number; rejected: Array<{ error: string }> };
    expect(answer.accepted).toBe(0);
    expect(answer.rejected.map((r) => r.error.split(':')[0])).toEqual(['ts', 'ts', 'ts']);
  });
});
