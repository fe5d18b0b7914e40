import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './harness.js';

let app: TestApp;
beforeAll(async () => (app = await startTestApp('access', { processor: false })));
afterAll(async () => app?.close());

describe('login and roles', () => {
  it('issues a token with role and regions, and refuses a wrong password', async () => {
    const ok = await fetch(`${app.server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'manager-east', password: 'demo' }) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ role: 'manager', regions: ['east'], token: expect.any(String) });
    const bad = await fetch(`${app.server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: 'nope' }) });
    expect(bad.status).toBe(401);
  });

  it('401 without a token or with a tampered one', async () => {
    expect((await fetch(`${app.server.url}/api/v1/live`)).status).toBe(401);
    const token = await app.token('ops');
    const tampered = `${token.slice(0, -4)}AAAA`;
    expect((await fetch(`${app.server.url}/api/v1/live`, { headers: { authorization: `Bearer ${tampered}` } })).status).toBe(401);
  });

  it.each([
    ['/api/v1/live?region=east', 200],
    ['/api/v1/live?region=north', 403],
    ['/api/v1/live?store=sh-jingan', 200],
    ['/api/v1/live?store=bj-sanlitun', 403],
    ['/api/v1/live?store=bj-sanlitun&channel=store', 403],
    ['/api/v1/metrics?region=south&step=1h', 403],
    ['/api/v1/metrics?store=gz-tianhe&step=1h', 403],
    ['/api/v1/metrics?region=east&step=1h', 200],
  ])('manager-east: GET %s → %i', async (path, status) => {
    expect((await app.get(path, 'manager-east')).status).toBe(status);
  });

  it('a manager sees only its regions in /geo and in grouped metrics', async () => {
    const geo = await (await app.get('/api/v1/geo', 'manager-east')).json();
    expect(geo.regions.map((r: { id: string }) => r.id)).toEqual(['east']);
    const all = await (await app.get('/api/v1/geo', 'ops')).json();
    expect(all.regions).toHaveLength(7);
    expect(all.regions.flatMap((r: { stores: unknown[] }) => r.stores).length).toBeGreaterThanOrEqual(60);
  });

  it('answers bad query parameters with 400 naming the parameter', async () => {
    const response = await app.get('/api/v1/metrics?step=2m');
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/^step:/);
    const tooMany = await app.get(`/api/v1/metrics?step=10s&from=${Date.now() - 30 * 86_400_000}`);
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).error).toMatch(/larger step/);
  });

  it('/healthz and /readyz answer; /metrics exposes the pipeline', async () => {
    expect((await fetch(`${app.server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${app.server.url}/readyz`)).json()).toMatchObject({ redis: 'ok', database: 'ok' });
    const text = await (await fetch(`${app.server.url}/metrics`)).text();
    expect(text).toMatch(/mw_stream_backlog_entries \d+/);
    expect(text).toMatch(/mw_ingest_events_accepted_total/);
  });
});
