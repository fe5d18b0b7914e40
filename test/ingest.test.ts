import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestResponse } from '../stream/types.js';
import { FAIR_SHARE_FROM } from '../server/ingest/ingest-fairness.js';
import { startTestApp, testConfig, type TestApp } from './harness.js';

let app: TestApp;
const now = Date.now();
const good = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'click', ts: now - 1000, channel: 'douyin', region: 'east', ...extra });

beforeAll(async () => {
  app = await startTestApp('ingest', { cfg: testConfig((cfg) => (cfg.pipeline.ingest.maxBacklogEntries = 40)), processor: false });
});
afterAll(async () => app?.close());

const streamLength = () => app.redis.xlen(`${app.stores.redisPrefix}${app.cfg.pipeline.stream.name}`);

describe('POST /api/v1/events rejects each bad event with its index and reason', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing id', { id: undefined }, /^id: required/],
    ['empty id', { id: '' }, /^id:/],
    ['id over 128 characters', { id: 'x'.repeat(129) }, /^id:/],
    ['numeric id', { id: 42 }, /^id: .*string/],
    ['unknown type', { type: 'purchase' }, /^type:/],
    ['missing ts', { ts: undefined }, /^ts: required/],
    ['ts without a zone', { ts: '2026-11-23T08:00:00' }, /^ts: .*zone/],
    ['ts far in the future', { ts: now + 10 * 60_000 }, /^ts: more than 5 minutes in the future/],
    ['ts older than the lateness', { ts: now - 49 * 3_600_000 }, /^ts: older than the allowed lateness of 48 hours/],
    ['unknown channel', { channel: 'myspace' }, /^channel: unknown channel "myspace"/],
    ['count of zero', { count: 0 }, /^count:/],
    ['count above 1e6', { count: 1_000_001 }, /^count:/],
    ['fractional count', { count: 1.5 }, /^count:/],
    ['negative value', { value: -1 }, /^value:/],
    ['conversion without value', { type: 'conversion' }, /^value: required for conversion/],
    ['spend without value', { type: 'spend' }, /^value: required for spend/],
    ['unknown store', { store: 'nowhere' }, /^store: unknown store "nowhere"/],
    ['store in another region', { store: 'bj-sanlitun', region: 'east' }, /^region: "east" does not match store "bj-sanlitun"/],
    ['visit without store', { type: 'visit' }, /^store: required for visit events/],
    ['unknown region', { region: 'atlantis' }, /^region: unknown region "atlantis"/],
    ['value as a string', { type: 'conversion', value: '12' }, /^value:/],
    ['NUL in the id', { id: 'a\u0000b' }, /^id: must not contain NUL/],
    ['NUL in the user id', { userId: 'u\u0000' }, /^userId: must not contain NUL/],
  ];

  it.each(cases)('%s', async (_name, change, reason) => {
    const bad = JSON.parse(JSON.stringify({ ...good('bad-1'), ...change }));
    const response = await app.post([good(`ok-${_name}`), bad]);
    expect(response.status).toBe(202);
    const body = (await response.json()) as IngestResponse;
    expect(body.accepted).toBe(1);
    expect(body.rejected).toHaveLength(1);
    expect(body.rejected[0]!.index).toBe(1);
    expect(body.rejected[0]!.error).toMatch(reason);
  });

  it('keeps every good event of a mixed batch and reports repeats within it', async () => {
    const before = await streamLength();
    const batch = [good('m-1'), { nonsense: true }, good('m-2'), 'a string', good('m-1'), null, good('m-3', { ts: new Date(now).toISOString() })];
    const response = await app.post(batch);
    const body = (await response.json()) as IngestResponse;
    expect(body).toMatchObject({ accepted: 3, duplicates: 1 });
    expect(body.rejected.map((r) => r.index)).toEqual([1, 3, 5]);
    expect(await streamLength()).toBe(before + 1);
    const [[, fields]] = (await app.redis.xrevrange(`${app.stores.redisPrefix}${app.cfg.pipeline.stream.name}`, '+', '-', 'COUNT', 1)) as [[string, string[]]];
    const stored = JSON.parse(fields[fields.indexOf('events') + 1]!) as Array<{ id: string; ts: number; region?: string }>;
    expect(stored.map((e) => e.id)).toEqual(['m-1', 'm-2', 'm-3']);
    expect(stored[2]!.ts).toBe(now);
  });

  it('reads NDJSON and rejects only the unparseable lines', async () => {
    const raw = [JSON.stringify(good('n-1')), '{not json', '', JSON.stringify(good('n-2'))].join('\n');
    const response = await app.post(null, { contentType: 'application/x-ndjson', raw });
    const body = (await response.json()) as IngestResponse;
    expect(response.status).toBe(202);
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual([{ index: 1, error: expect.stringMatching(/^line is not valid JSON/) }]);
  });
});

describe('POST /api/v1/events refuses whole requests clearly', () => {
  it('401 without or with a wrong API key, and stores nothing', async () => {
    const before = await streamLength();
    const missing = await app.post([good('k-1')], { apiKey: null });
    expect(missing.status).toBe(401);
    expect((await missing.json()).error).toMatch(/X-Api-Key/);
    expect((await app.post([good('k-2')], { apiKey: 'guess' })).status).toBe(401);
    expect(await streamLength()).toBe(before);
  });

  it('415 for other content types', async () => {
    const response = await app.post(null, { contentType: 'text/plain', raw: JSON.stringify([good('t-1')]) });
    expect(response.status).toBe(415);
    expect((await response.json()).error).toMatch(/application\/json/);
  });

  it('400 for a garbage body or a body that is not an array', async () => {
    const garbage = await app.post(null, { raw: '\u0000\u0001garbage{[' });
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).error).toMatch(/not valid JSON/);
    const object = await app.post(good('o-1'));
    expect(object.status).toBe(400);
    expect((await object.json()).error).toMatch(/JSON array/);
  });

  it('413 above 10 000 events or 5 MB', async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => good(`big-${i}`));
    const tooMany = await app.post(many);
    expect(tooMany.status).toBe(413);
    expect((await tooMany.json()).error).toMatch(/10000 events/);
    const huge = await app.post(null, { raw: JSON.stringify([good('h-1', { campaign: 'x'.repeat(6 * 1024 * 1024) })]) });
    expect(huge.status).toBe(413);
  });

  it('429 with Retry-After once the backlog bound is reached, then accepts again when it drains', async () => {
    // one producer alone fills three quarters of the bound; the last quarter is kept for others
    const soleShare = Math.ceil(app.cfg.pipeline.ingest.maxBacklogEntries * FAIR_SHARE_FROM);
    while ((await streamLength()) < soleShare) {
      expect((await app.post([good(`fill-${await streamLength()}`)])).status).toBe(202);
    }
    const refused = await app.post([good('late-1')]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toMatch(/fair share/);
    await app.startProcessor();
    await app.drained();
    expect((await app.post([good('after-drain')])).status).toBe(202);
  });
});
