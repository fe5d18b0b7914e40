// Annotations through the real API and socket: a producer's ingest key and ops create them, bad
// input is named, managers see only their regions' and the nationwide ones (HTTP and socket),
// edits and deletions are audited and pushed, and one author cannot flood the table.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Annotation, AnnotationChange } from '../stream/types.js';
import { API_KEY, sleep, startTestApp, type TestApp } from './harness.js';

let app: TestApp;
const HOUR = 3_600_000;
beforeAll(async () => {
  app = await startTestApp('annotations');
});
afterAll(async () => {
  await app?.close();
});

const url = (path: string) => `${app.server.url}${path}`;
async function send(method: string, path: string, body: unknown, auth: { user?: string; apiKey?: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.user) headers.authorization = `Bearer ${await app.token(auth.user)}`;
  if (auth.apiKey) headers['x-api-key'] = auth.apiKey;
  const response = await fetch(url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { annotation?: Annotation; annotations?: Annotation[]; error?: string; deleted?: string } };
}
const list = async (query: string, user = 'ops') => ((await (await app.get(`/api/v1/annotations${query}`, user)).json()) as { annotations: Annotation[] }).annotations;
const texts = (annotations: Annotation[]) => annotations.map((a) => a.text);

async function socketOf(user: string): Promise<{ socket: Socket; changes: AnnotationChange[] }> {
  const socket = io(`${app.server.url}/screen`, { auth: { token: await app.token(user) }, transports: ['websocket'], reconnection: false });
  const changes: AnnotationChange[] = [];
  socket.on('annotation', (change: AnnotationChange) => changes.push(change));
  await new Promise<void>((resolve, reject) => {
    socket.on('connect', () => resolve());
    socket.on('connect_error', reject);
  });
  return { socket, changes };
}

describe('annotations', () => {
  const now = Date.now();
  const east = { text: '华东 双12预热开始', kind: 'campaign', startsAt: new Date(now - HOUR).toISOString(), endsAt: new Date(now + HOUR).toISOString(), region: 'east' };
  const nationwide = { text: '全场满减券发放', kind: 'coupon', startsAt: new Date(now - 30 * 60_000).toISOString(), channel: 'app' };
  const northStore = { text: '王府井店装修停业', kind: 'closure', startsAt: new Date(now - 20 * 60_000).toISOString(), store: 'bj-wangfujing' };

  it('are created by a producer with an ingest key or by ops, pushed to the walls that may see them, and audited', async () => {
    const ops = await socketOf('ops');
    const manager = await socketOf('manager-east');
    try {
      const made = await send('POST', '/api/v1/annotations', east, { apiKey: API_KEY });
      expect(made.status).toBe(201);
      expect(made.body.annotation).toMatchObject({ text: east.text, kind: 'campaign', region: 'east', store: null, endsAt: east.endsAt });
      expect(made.body.annotation!.createdBy).toMatch(/^producer:[0-9a-f]{10}$/);
      expect((await send('POST', '/api/v1/annotations', nationwide, { user: 'ops' })).status).toBe(201);
      const store = await send('POST', '/api/v1/annotations', northStore, { user: 'admin' });
      expect(store.body.annotation).toMatchObject({ store: 'bj-wangfujing', region: 'north', createdBy: 'admin' });
      await sleep(500);
      const textsOf = (changes: AnnotationChange[]) => changes.map((c) => ('annotation' in c ? c.annotation.text : c.deleted));
      expect(textsOf(ops.changes)).toEqual([east.text, nationwide.text, northStore.text]);
      expect(textsOf(manager.changes)).toEqual([east.text, nationwide.text]);
    } finally {
      ops.socket.close();
      manager.socket.close();
    }
    const { rows } = await app.db.query(`SELECT actor, target, detail->>'text' AS text FROM audit_log WHERE action = 'annotation.create' ORDER BY id`);
    expect(rows.map((r) => [r.actor.replace(/:.*/, ''), r.text])).toEqual([['producer', east.text], ['ops', nationwide.text], ['admin', northStore.text]]);
  });

  it('refuses the wrong callers and names what is wrong in a bad one', async () => {
    expect((await send('POST', '/api/v1/annotations', east, {})).status).toBe(401);
    expect((await send('POST', '/api/v1/annotations', east, { apiKey: 'not-a-key' })).status).toBe(401);
    expect((await send('POST', '/api/v1/annotations', east, { user: 'manager-east' })).status).toBe(403);
    expect((await send('POST', '/api/v1/annotations', east, { user: 'oncall' })).status).toBe(403);
    const bad: Array<[object, RegExp]> = [
      [{ ...east, region: 'atlantis' }, /^region: unknown region "atlantis"/],
      [{ ...northStore, region: 'east' }, /^store: "bj-wangfujing" is in region "north", not "east"/],
      [{ ...nationwide, channel: 'fax' }, /^channel: unknown channel "fax"/],
      [{ ...east, endsAt: east.startsAt }, /^endsAt: must be after startsAt/],
      [{ ...east, endsAt: new Date(now + 91 * 86_400_000).toISOString() }, /^endsAt: an annotation spans at most 90 days/],
      [{ ...east, startsAt: '2026-02-30T10:00:00+08:00' }, /^startsAt: /],
      [{ ...east, text: 'x'.repeat(281) }, /^text: /],
      [{ ...east, text: 'two\nlines' }, /^text: must be one line/],
      [{ ...east, text: '   ' }, /^text: /],
      [{ ...east, kind: 'party' }, /^kind: /],
      [{ ...east, colour: 'red' }, /colour/],
      [{ text: 'no time' }, /^startsAt: /],
    ];
    for (const [body, message] of bad) {
      const answer = await send('POST', '/api/v1/annotations', body, { user: 'ops' });
      expect([answer.status, answer.body.error], JSON.stringify(body)).toEqual([400, expect.stringMatching(message)]);
    }
  });

  it('are read by view and role: a manager its regions\' and the nationwide ones, never another region\'s', async () => {
    expect(texts(await list(''))).toEqual([east.text, nationwide.text, northStore.text]);
    expect(texts(await list('', 'manager-east'))).toEqual([east.text, nationwide.text]);
    expect(texts(await list('?region=east', 'manager-east'))).toEqual([east.text, nationwide.text]);
    expect((await app.get('/api/v1/annotations?region=north', 'manager-east')).status).toBe(403);
    expect((await app.get('/api/v1/annotations?store=bj-wangfujing', 'manager-east')).status).toBe(403);
    // a store's view: its own, its region's and the nationwide ones
    expect(texts(await list('?store=bj-wangfujing'))).toEqual([nationwide.text, northStore.text]);
    expect(texts(await list('?store=sh-jingan'))).toEqual([east.text, nationwide.text]);
    // a channel's view leaves out other channels' moments
    expect(texts(await list('?channel=douyin'))).toEqual([east.text, northStore.text]);
    // the time range: what overlaps it
    expect(texts(await list(`?from=${now + 10 * 60_000}&to=${now + 20 * 60_000}`))).toEqual([east.text]);
    expect(texts(await list(`?from=${now - 3 * HOUR}&to=${now - 2 * HOUR}`))).toEqual([]);
    for (const [query, message] of [['?from=2026-13-01', /^from: /], [`?from=${now}&to=${now - 1}`, /^from: must be before to/], [`?from=0&to=${now}`, /^to: a read covers at most 400 days/], ['?limit=0', /^limit: /], ['?region=atlantis', /unknown region/]] as const) {
      const response = await app.get(`/api/v1/annotations${query}`);
      expect([response.status === 400 || response.status === 404, ((await response.json()) as { error: string }).error], query).toEqual([true, expect.stringMatching(message)]);
    }
  });

  it('are edited and deleted by ops or admin, audited and pushed; others are refused', async () => {
    const [first] = await list('?region=east');
    const edited = await send('PUT', `/api/v1/annotations/${first!.id}`, { ...east, text: '华东 双12预热（延长）', endsAt: new Date(now + 2 * HOUR).toISOString() }, { user: 'ops' });
    expect(edited.status).toBe(200);
    expect(edited.body.annotation).toMatchObject({ id: first!.id, text: '华东 双12预热（延长）', createdBy: first!.createdBy });
    expect((await send('PUT', `/api/v1/annotations/${first!.id}`, east, { user: 'manager-east' })).status).toBe(403);
    expect((await send('PUT', `/api/v1/annotations/${first!.id}`, east, { apiKey: API_KEY })).status).toBe(401);
    expect((await send('PUT', '/api/v1/annotations/999999', east, { user: 'ops' })).status).toBe(404);
    expect((await send('DELETE', '/api/v1/annotations/not-a-number', undefined, { user: 'ops' })).status).toBe(404);
    const manager = await socketOf('manager-east');
    try {
      expect((await send('DELETE', `/api/v1/annotations/${first!.id}`, undefined, { user: 'oncall' })).status).toBe(403);
      const deleted = await send('DELETE', `/api/v1/annotations/${first!.id}`, undefined, { user: 'admin' });
      expect(deleted.body).toEqual({ deleted: first!.id });
      await sleep(500);
      expect(manager.changes).toEqual([{ deleted: first!.id, region: 'east' }]);
    } finally {
      manager.socket.close();
    }
    expect(texts(await list(''))).toEqual([nationwide.text, northStore.text]);
    const { rows } = await app.db.query(`SELECT action, actor FROM audit_log WHERE action IN ('annotation.update', 'annotation.delete') ORDER BY id`);
    expect(rows).toEqual([{ action: 'annotation.update', actor: 'ops' }, { action: 'annotation.delete', actor: 'admin' }]);
  });

  it('lets one author create at most 1 000 in 24 hours, without stopping the others', async () => {
    const { rows } = await app.db.query(`SELECT count(*)::int AS n FROM annotations WHERE created_by = 'ops'`);
    await app.db.query(`INSERT INTO annotations (starts_at, text, kind, created_by) SELECT now(), 'bulk ' || i, 'other', 'ops' FROM generate_series(1, $1::int) i`, [999 - rows[0].n]);
    expect((await send('POST', '/api/v1/annotations', nationwide, { user: 'ops' })).status).toBe(201);
    const refused = await send('POST', '/api/v1/annotations', nationwide, { user: 'ops' });
    expect([refused.status, refused.body.error]).toEqual([429, 'at most 1000 annotations in 24 hours from one author']);
    expect((await send('POST', '/api/v1/annotations', nationwide, { user: 'admin' })).status).toBe(201);
    // a read answers the newest 1 000, oldest first
    const read = await list('?limit=1000');
    expect(read).toHaveLength(1000);
    expect(Date.parse(read[0]!.startsAt)).toBeLessThanOrEqual(Date.parse(read.at(-1)!.startsAt));
  });
});
