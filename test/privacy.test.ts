// Phone numbers and e-mail addresses used as userIds are never stored in clear: through the
// HTTP ingest and through a producer's direct XADD they become one keyed hash per person,
// however the number or address was written, and the customer's events still join up.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer, personalIdOf, redactPersonal } from '../stream/pseudonymize.js';
import { redisKeys } from '../stream/redis-keys.js';
import { USER_ID_KEY, startTestApp, type TestApp } from './harness.js';

describe('which userIds are personal', () => {
  it('recognises mainland mobiles, international numbers and e-mail addresses in their usual spellings', () => {
    for (const spelling of ['13812345678', '+86 138 1234 5678', '0086-138-1234-5678', '86(138)12345678']) expect(personalIdOf(spelling)).toBe('phone:+8613812345678');
    expect(personalIdOf('+44 20 7946 0958')).toBe('phone:+442079460958');
    expect(personalIdOf(' Li.Lei@Example.COM ')).toBe('email:li.lei@example.com');
    for (const id of ['u000123', '12345', '1234567890123', 'device-7f3a', 'h_abc', '', '+12', 'not@an-address']) expect(personalIdOf(id)).toBeNull();
  });

  it('hashes them with the key: stable per person, different under another key, others untouched', () => {
    const hash = createPseudonymizer(USER_ID_KEY);
    expect(hash('+86 138 1234 5678')).toBe(hash('13812345678'));
    expect(hash('13812345678')).toBe(`h_${createHmac('sha256', USER_ID_KEY).update('phone:+8613812345678').digest('base64url').slice(0, 32)}`);
    expect(createPseudonymizer('another-key-another-key-another-key-0')('13812345678')).not.toBe(hash('13812345678'));
    expect(hash('u000123')).toBe('u000123');
    expect(hash(hash('13812345678'))).toBe(hash('13812345678')); // validating twice changes nothing
    expect(() => createPseudonymizer('short')).toThrow(/at least 32/);
  });
});

describe('text kept for people to read', () => {
  it('has e-mail addresses and phone numbers masked, and nothing else', () => {
    const entry = JSON.stringify({ id: 'x-1', ts: 1763900000000, channel: 'fax', userId: '+86 138-1234-5678', note: 'li.lei@example.com', other: '+44 20 7946 0958', count: 13812345678 });
    const redacted = redactPersonal(entry);
    expect(redacted).not.toMatch(/1381234|5678|example\.com|7946/);
    expect(redacted).toContain('"ts":1763900000000');
    expect(redacted).toContain('"channel":"fax"');
    expect(redactPersonal('u000123 ordered 3 items for 199.00')).toBe('u000123 ordered 3 items for 199.00');
  });
});

describe('stored events', () => {
  let app: TestApp;
  const now = Date.now();
  beforeAll(async () => {
    app = await startTestApp('privacy');
  }, 60_000);
  afterAll(async () => app?.close());

  it('hold no phone number or e-mail address, whichever way they came in, and one customer stays one customer', async () => {
    const order = (id: string, userId: string) => ({ id, type: 'conversion', ts: now - 60_000, channel: 'app', region: 'east', value: 100, userId });
    expect((await app.post([order('p1', '13812345678'), order('p2', 'Li.Lei@Example.com'), order('p3', 'u000123'), { id: 'p4', type: 'click', ts: now - 90_000, channel: 'douyin', userId: '+86 138-1234-5678' }])).status).toBe(202);
    const keys = redisKeys(app.stores.redisPrefix, app.cfg.pipeline);
    await app.redis.xadd(keys.first.stream, '*', 'event', JSON.stringify(order('p5', '0086 13812345678')));
    await app.redis.xadd(keys.first.stream, '*', 'events', JSON.stringify([order('p6', 'li.lei@example.com')]));
    await app.drained();

    const { rows } = await app.db.query<{ id: string; user_id: string; all: string }>(`SELECT id, user_id, row_to_json(e)::text AS all FROM events e ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    for (const row of rows) expect(row.all).not.toMatch(/1381234|example\.com/i);
    const user = Object.fromEntries(rows.map((r) => [r.id, r.user_id]));
    expect(user.p3).toBe('u000123');
    expect(user.p1).toMatch(/^h_[\w-]{32}$/);
    expect(new Set([user.p1, user.p4, user.p5]).size).toBe(1);
    expect(user.p6).toBe(user.p2);
    expect(user.p2).not.toBe(user.p1);
    // an entry that fails validation keeps its content for people to read — without the phone number
    const deadBefore = await app.redis.xlen(keys.first.deadLetter);
    await app.redis.xadd(keys.first.stream, '*', 'event', JSON.stringify({ ...order('p7', '+86 139 0000 1111'), channel: 'fax' }));
    await app.drained();
    const dead = (await app.redis.xrange(keys.first.deadLetter, '-', '+')).slice(deadBefore).map(([, f]) => f.join(' '));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toContain('p7');
    expect(dead[0]).toContain('unknown channel');
    expect(dead[0]).not.toMatch(/139 ?0000|1111/);
  });
});
