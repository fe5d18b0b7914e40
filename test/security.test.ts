// Roles that hold: every API route and the socket subscription × every role; tokens expired,
// tampered, signed with another algorithm or key, or missing; failed logins limited per user +
// IP and per IP with the counters in Redis (two servers agree); security headers and CORS.
import { SignJWT } from 'jose';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server/start-server.js';
import pino from 'pino';
import { DEFAULT_MAX_SESSION_SECONDS, credentialVersion } from '../server/auth/auth.js';
import { SUBSCRIBE_LIMIT } from '../server/push/socket.js';
import { API_KEY, AUTH_SECRET, USER_ID_KEY, sleep, startTestApp, type TestApp } from './harness.js';

let app: TestApp;
let second: RunningServer;
/** everything the second server logs */
const secondLog: string[] = [];
const ALLOWED_ORIGIN = 'https://ops.example.cn';
const ROLES = ['ops', 'oncall', 'admin', 'manager-east', 'anonymous'] as const;
type Who = (typeof ROLES)[number];

beforeAll(async () => {
  const env = { ...process.env, TRUST_PROXY: 'loopback', CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://other.example.cn` };
  app = await startTestApp('security', { env });
  // a second server on the same Redis and database: login limits must hold across both
  second = await startServer({
    cfg: app.cfg, stores: app.stores, port: 0, host: '127.0.0.1', demoMode: true, authSecret: AUTH_SECRET, userIdKey: USER_ID_KEY, apiKeys: () => [API_KEY],
    log: pino({ level: 'debug' }, { write: (line: string) => void secondLog.push(line) }), jobs: false, alerts: false, env,
  });
}, 60_000);

let secondClosed = false;

afterAll(async () => {
  if (!secondClosed) await second?.close();
  await app?.close();
});

async function call(method: string, path: string, who: Who, body?: unknown): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who !== 'anonymous') headers.authorization = `Bearer ${await app.token(who)}`;
  const response = await fetch(`${app.server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

describe('the role matrix', () => {
  // expected status per role: [ops, oncall, admin, manager-east, anonymous]
  const matrix: Array<[string, string, number[], unknown?]> = [
    ['GET', '/api/v1/live', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/live?region=east', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/live?region=north', [200, 200, 200, 403, 401]],
    ['GET', '/api/v1/live?store=bj-sanlitun', [200, 200, 200, 403, 401]],
    ['GET', '/api/v1/metrics', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/metrics?region=north', [200, 200, 200, 403, 401]],
    ['GET', '/api/v1/metrics?store=bj-sanlitun', [200, 200, 200, 403, 401]],
    ['GET', '/api/v1/metrics?groupBy=channel&region=north', [200, 200, 200, 403, 401]],
    ['GET', '/api/v1/metrics?groupBy=store&region=east', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/geo', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/geo?window=5m', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/alerts', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/alerts/999999', [404, 404, 404, 404, 401]],
    ['POST', '/api/v1/alerts/999999/ack', [403, 404, 404, 403, 401]],
    ['GET', '/api/v1/alerts/999999/series', [404, 404, 404, 404, 401]],
    ['POST', '/api/v1/silences/preview', [403, 400, 400, 403, 401], {}],
    ['GET', '/api/v1/silences', [200, 200, 200, 403, 401]],
    ['POST', '/api/v1/silences', [403, 400, 400, 403, 401], {}],
    ['DELETE', '/api/v1/silences/999999', [403, 404, 404, 403, 401]],
    ['GET', '/api/v1/alert-rules', [200, 200, 200, 200, 401]],
    ['POST', '/api/v1/alert-rules/preview', [403, 403, 400, 403, 401], {}],
    ['PUT', '/api/v1/alert-rules/no-such-rule', [403, 403, 400, 403, 401], {}],
    ['DELETE', '/api/v1/alert-rules/no-such-rule', [403, 403, 404, 403, 401]],
    ['PATCH', '/api/v1/alert-rules/no-such-rule', [403, 403, 404, 403, 401], { enabled: false }],
    ['POST', '/api/v1/alert-rules/no-such-rule/preview', [404, 404, 404, 403, 401], {}],
    ['GET', '/api/v1/jobs', [200, 200, 200, 403, 401]],
    ['POST', '/api/v1/jobs/no-such-job/run', [403, 403, 404, 403, 401]],
    ['GET', '/api/v1/attribution', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/attribution?region=north', [200, 200, 200, 403, 401]],
    ['GET', '/api/v1/segments', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/audiences/export?tier=vip', [400, 403, 400, 400, 401]],
    ['GET', '/api/v1/audiences/export?region=north', [200, 403, 200, 403, 401]],
    ['GET', '/api/v1/segments?region=east', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/segments?region=north', [200, 200, 200, 403, 401]],
    ['POST', '/api/v1/auth/refresh', [200, 200, 200, 200, 401]],
    ['GET', '/api/v1/audit', [403, 403, 200, 403, 401]],
    ['GET', '/api/v1/audit?action=teleport', [403, 403, 400, 403, 401]],
    ['GET', '/api/v1/ingest-keys', [403, 403, 200, 403, 401]],
    ['POST', '/api/v1/ingest-keys', [403, 403, 400, 403, 401], {}],
    ['DELETE', '/api/v1/ingest-keys/999999', [403, 403, 404, 403, 401]],
  ];

  it('answers every route for every role as the rules say', async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const [method, path, expected, body] of matrix) {
      for (const [i, who] of ROLES.entries()) {
        got.push(`${method} ${path} as ${who}: ${await call(method, path, who, body)}`);
        want.push(`${method} ${path} as ${who}: ${expected[i]}`);
      }
    }
    expect(got).toEqual(want);

    // where a manager is answered, the answer holds its region only
    const asManager = async (path: string) => (await app.get(path, 'manager-east')).json();
    const geo = (await asManager('/api/v1/geo')) as { regions: Array<{ id: string }> };
    expect(geo.regions.map((r) => r.id)).toEqual(['east']);
    expect(((await asManager('/api/v1/segments')) as { regions: string[] }).regions).toEqual(['east']);
    const grouped = (await asManager('/api/v1/metrics?groupBy=region')) as { series: Array<{ key: { region: string } }> };
    expect(grouped.series.every((s) => s.key.region === 'east')).toBe(true);
  });

  it('refuses the socket without a valid token and a manager\'s subscription to another region', async () => {
    const subscribe = async (who: Who, scope: Record<string, string>) => {
      const socket = io(`${app.server.url}/screen`, { auth: who === 'anonymous' ? {} : { token: await app.token(who) }, transports: ['websocket'], reconnection: false });
      try {
        const connected = await new Promise<boolean>((resolve) => { socket.once('connect', () => resolve(true)); socket.once('connect_error', () => resolve(false)); });
        if (!connected) return 'refused';
        const ack = (await socket.timeout(10_000).emitWithAck('subscribe', scope)) as { error?: string };
        return ack.error ? 'error' : 'snapshot';
      } finally {
        socket.disconnect();
      }
    };
    const outcomes: Record<string, string[]> = {};
    const scopes: Array<Record<string, string>> = [{}, { region: 'east' }, { region: 'north' }, { store: 'bj-sanlitun' }];
    for (const scope of scopes) {
      outcomes[JSON.stringify(scope)] = await Promise.all(ROLES.map((who) => subscribe(who, scope)));
    }
    expect(outcomes).toEqual({
      '{}': ['snapshot', 'snapshot', 'snapshot', 'snapshot', 'refused'],
      '{"region":"east"}': ['snapshot', 'snapshot', 'snapshot', 'snapshot', 'refused'],
      '{"region":"north"}': ['snapshot', 'snapshot', 'snapshot', 'error', 'refused'],
      '{"store":"bj-sanlitun"}': ['snapshot', 'snapshot', 'snapshot', 'error', 'refused'],
    });
  });
});

describe('tokens', () => {
  const key = new TextEncoder().encode(AUTH_SECRET);
  const status = async (token: string | null) => {
    const response = await fetch(`${app.server.url}/api/v1/live`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return response.status;
  };
  const userOf = (name: string) => app.cfg.users.find((u) => u.username === name)!;
  const signed = (claims: { exp?: number; iss?: string; sub?: string; cv?: string; sat?: number }, alg = 'HS256', secret = key) => {
    const sub = claims.sub ?? 'ops';
    const cv = claims.cv ?? (userOf(sub) ? credentialVersion(userOf(sub)) : 'none');
    const jwt = new SignJWT({ role: 'ops', regions: null, cv, sat: claims.sat ?? Date.now() }).setProtectedHeader({ alg }).setSubject(sub).setIssuer(claims.iss ?? 'marketing-wall').setIssuedAt();
    return jwt.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600).sign(secret);
  };
  const refresh = (token: string) => fetch(`${app.server.url}/api/v1/auth/refresh`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('accepts a well-formed token and refuses expired, tampered, foreign, unsigned and missing ones', async () => {
    expect(await status(await signed({}))).toBe(200);
    expect(await status(await signed({ exp: Math.floor(Date.now() / 1000) - 5 }))).toBe(401);
    const good = await app.token('manager-east');
    // the payload rewritten to claim the ops role, the signature kept
    const [header, , signature] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'ops', role: 'ops', regions: null, iss: 'marketing-wall', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
    expect(await status(`${header}.${forged}.${signature}`)).toBe(401);
    expect(await status(`${good.slice(0, -3)}${good.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}`)).toBe(401);
    expect(await status(await signed({}, 'HS512'))).toBe(401); // right key, another algorithm
    expect(await status(await signed({}, 'HS256', new TextEncoder().encode('another-secret-another-secret-0000')))).toBe(401);
    expect(await status(await signed({ iss: 'someone-else' }))).toBe(401);
    expect(await status(await signed({ sub: 'nobody' }))).toBe(401);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'ops', iss: 'marketing-wall', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`;
    expect(await status(none)).toBe(401);
    expect(await status(null)).toBe(401);
    expect(await status('')).toBe(401);
    expect(await status('not.a.token')).toBe(401);
  });

  it('checks a token it accepted before on every use: a tampered copy and its expiry are refused', async () => {
    // accepted once, the token's checked signature is kept (no HMAC check per request); the copy
    // with one character of the signature changed is another token, and expiry still applies
    const shortLived = await signed({ exp: Math.floor(Date.now() / 1000) + 2 });
    expect(await status(shortLived)).toBe(200);
    expect(await status(shortLived)).toBe(200);
    const [header, payload, signature] = shortLived.split('.');
    const flipped = `${signature!.slice(0, 10)}${signature![10] === 'A' ? 'B' : 'A'}${signature!.slice(11)}`;
    expect(await status(`${header}.${payload}.${flipped}`)).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, (Number(JSON.parse(Buffer.from(payload!, 'base64url').toString()).exp) * 1000) - Date.now() + 50));
    expect(await status(shortLived)).toBe(401);
  });

  it('refuses, refresh included, a token issued before the user\'s password, role or regions changed', async () => {
    const stale = await signed({ cv: credentialVersion({ ...userOf('ops'), passwordHash: 'an older hash' }) });
    expect(await status(stale)).toBe(401);
    expect((await refresh(stale)).status).toBe(401);
    const moved = await signed({ sub: 'manager-east', cv: credentialVersion({ ...userOf('manager-east'), regions: ['east', 'north'] }) });
    expect(await status(moved)).toBe(401);
    expect(await status(await signed({}))).toBe(200);
  });

  it('refreshes a session up to its maximum age after the password sign-in, and never past it', async () => {
    const maxMs = DEFAULT_MAX_SESSION_SECONDS * 1000;
    const nearlyOld = await signed({ sat: Date.now() - maxMs + 5_000 });
    const renewed = await refresh(nearlyOld);
    expect(renewed.status).toBe(200);
    const body = (await renewed.json()) as { token: string; expiresIn: number };
    expect(body.expiresIn).toBeLessThanOrEqual(5);
    expect(await status(body.token)).toBe(200);
    const tooOld = await signed({ sat: Date.now() - maxMs - 1_000 });
    expect(await status(tooOld)).toBe(401);
    expect((await refresh(tooOld)).status).toBe(401);
    // a normal session keeps its start through refreshes: the refreshed token is refused once the start is too old
    expect(await status(await signed({ sat: undefined }))).toBe(200);
  });

  it('signs a user out everywhere: tokens and refresh refused on both servers, sockets closed, audited; a new sign-in works', async () => {
    const token = await app.token('manager-north');
    const socket = io(`${app.server.url}/screen`, { auth: { token }, transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => { socket.on('connect', () => resolve()); socket.on('connect_error', reject); });
    const closed = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
    expect((await call('POST', '/api/v1/users/manager-north/sign-out', 'manager-east'))).toBe(403);
    expect((await call('POST', '/api/v1/users/nobody/sign-out', 'admin'))).toBe(404);
    expect((await call('POST', '/api/v1/users/manager-north/sign-out', 'admin'))).toBe(200);
    expect(await closed).toBe('io server disconnect');
    expect(await status(token)).toBe(401);
    expect((await fetch(`${second.url}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await refresh(token)).status).toBe(401);
    const again = io(`${second.url}/screen`, { auth: { token }, transports: ['websocket'], reconnection: false });
    expect(await new Promise<string>((resolve) => again.on('connect_error', (err) => resolve(err.message)))).toMatch(/token/);
    again.close();
    const { rows } = await app.db.query(`SELECT actor, target FROM audit_log WHERE action = 'user.sign-out'`);
    expect(rows).toEqual([{ actor: 'admin', target: 'manager-north' }]);
    const login = await fetch(`${app.server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'manager-north', password: 'demo' }) });
    expect(await status(((await login.json()) as { token: string }).token)).toBe(200);
  });

  it('closes a socket when its token expires', async () => {
    const shortLived = await signed({ exp: Math.floor(Date.now() / 1000) + 2 });
    const socket = io(`${app.server.url}/screen`, { auth: { token: shortLived }, transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => { socket.on('connect', () => resolve()); socket.on('connect_error', reject); });
    const ack = (await socket.timeout(5000).emitWithAck('subscribe', {})) as { snapshot?: unknown };
    expect(ack.snapshot).toBeDefined();
    const reason = await new Promise<string>((resolve) => socket.on('disconnect', (r) => resolve(r)));
    expect(reason).toBe('io server disconnect');
  });
});

describe('socket subscribes', () => {
  it('are limited per socket, handled in order (the last accepted one is the view joined), and do not slow the server', async () => {
    const token = await app.token('manager-east');
    const socket = io(`${app.server.url}/screen`, { auth: { token }, transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => { socket.on('connect', () => resolve()); socket.on('connect_error', reject); });
    const stores = [...app.cfg.storeById.values()].filter((s) => s.region === 'east').map((s) => s.id);
    const asked = Array.from({ length: 3000 }, (_, i) => ({ store: stores[i % stores.length]! }));
    const health: number[] = [];
    const probing = (async () => {
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        await fetch(`${app.server.url}/healthz`);
        health.push(performance.now() - started);
        await sleep(50);
      }
    })();
    const answers = (await Promise.all(asked.map((payload) => socket.timeout(20_000).emitWithAck('subscribe', payload)))) as Array<{ snapshot?: { scope: { store?: string } }; error?: string }>;
    await probing;
    const accepted = answers.map((a, i) => (a.snapshot ? i : -1)).filter((i) => i >= 0);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThanOrEqual(SUBSCRIBE_LIMIT.burst + 2);
    expect(answers.filter((a) => a.error).every((a) => /too many subscribes/.test(a.error!))).toBe(true);
    for (const i of accepted) expect(answers[i]!.snapshot!.scope.store).toBe(asked[i]!.store);
    // the socket is in exactly one view room: that of the last accepted subscribe
    const server = app.server.screen.nsp.sockets.get(socket.id!)!;
    const views = [...server.rooms].filter((r) => r.startsWith('view:'));
    expect(views).toHaveLength(1);
    expect(views[0]).toContain(asked[accepted.at(-1)!]!.store);
    expect(Math.max(...health)).toBeLessThan(500);
    socket.close();
  });
});

describe('failed logins', () => {
  const login = (server: { url: string }, username: string, password: string, ip: string) =>
    fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ username, password }) });

  it('are limited per user and IP across servers, with Retry-After; other users and addresses are not affected', async () => {
    for (let i = 0; i < 5; i++) expect((await login(i % 2 ? second : app.server, 'oncall', 'guess', '10.1.1.1')).status).toBe(401);
    for (const server of [app.server, second]) {
      const blocked = await login(server, 'oncall', 'demo', '10.1.1.1'); // even the right password
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(800);
      expect(((await blocked.json()) as { error: string }).error).toMatch(/too many failed logins/);
    }
    expect((await login(app.server, 'oncall', 'demo', '10.1.1.2')).status).toBe(200);
    expect((await login(app.server, 'admin', 'demo', '10.1.1.1')).status).toBe(200);
  });

  it('a success clears the count, and one address guessing many usernames is stopped too', async () => {
    for (let i = 0; i < 4; i++) expect((await login(app.server, 'ops', 'guess', '10.2.2.2')).status).toBe(401);
    expect((await login(app.server, 'ops', 'demo', '10.2.2.2')).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(app.server, 'ops', 'guess', '10.2.2.2')).status).toBe(401);
    expect((await login(app.server, 'ops', 'demo', '10.2.2.2')).status).toBe(200);

    // someone who signed in from that address before (one of many behind the same proxy)
    expect((await login(app.server, 'admin', 'demo', '10.3.3.3')).status).toBe(200);
    let status = 0;
    let attempts = 0;
    while (status !== 429 && attempts < 60) {
      status = (await login(attempts % 2 ? second : app.server, `user-${attempts}`, 'guess', '10.3.3.3')).status;
      attempts++;
    }
    expect(status).toBe(429);
    expect(attempts).toBe(51); // 50 failures, then refused
    expect((await login(app.server, 'ops', 'demo', '10.3.3.3')).status).toBe(429);
    // the guessing does not lock out those who are known to sign in from there, on either server
    expect((await login(app.server, 'admin', 'demo', '10.3.3.3')).status).toBe(200);
    expect((await login(second, 'admin', 'demo', '10.3.3.3')).status).toBe(200);
  }, 60_000);
});

describe('alert rules for a manager', () => {
  it('lists only the rules that can fire in its regions, counted over its regions', async () => {
    const insert = (id: string, rule: string, region: string) => app.db.query(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at, summary, summary_en)
       VALUES ($1, $2, $1, '{}', $3, 'warning', 'firing', now(), now(), 's', 's')`, [id, rule, region]);
    await insert('mgr-1', 'store-traffic-collapse', 'east');
    await insert('mgr-2', 'store-traffic-collapse', 'north');
    await insert('mgr-3', 'store-traffic-collapse', 'north');
    type Rules = { rules: Array<{ id: string; firing: number; groupBy?: string }> };
    const ops = (await (await app.get('/api/v1/alert-rules', 'ops')).json()) as Rules;
    const manager = (await (await app.get('/api/v1/alert-rules', 'manager-east')).json()) as Rules;
    expect(ops.rules.find((r) => r.id === 'store-traffic-collapse')!.firing).toBe(3);
    expect(manager.rules.find((r) => r.id === 'store-traffic-collapse')!.firing).toBe(1);
    // nationwide rules (per channel, the whole business) have no alerts a manager may see
    expect(ops.rules.some((r) => r.id === 'channel-cvr-drop')).toBe(true);
    expect(manager.rules.map((r) => r.id)).not.toContain('channel-cvr-drop');
    expect(manager.rules.every((r) => r.groupBy === 'store' || r.groupBy === 'region')).toBe(true);
    await app.db.query(`DELETE FROM alerts WHERE id LIKE 'mgr-%'`);
  });

  it("offers the form's lists of its own regions and their stores only, and no notifier's address", async () => {
    type Choices = { choices: { channels: Array<{ id: string }>; regions: Array<{ id: string; stores: Array<{ id: string }> }>; notifiers: Array<Record<string, unknown>> } };
    const ops = (await (await app.get('/api/v1/alert-rules', 'ops')).json()) as Choices;
    const manager = (await (await app.get('/api/v1/alert-rules', 'manager-east')).json()) as Choices;
    expect(ops.choices.regions.map((r) => r.id)).toEqual(app.cfg.regions.map((r) => r.id));
    expect(manager.choices.regions.map((r) => r.id)).toEqual(['east']);
    expect(manager.choices.regions[0]!.stores.map((st) => st.id)).toEqual(app.cfg.regions.find((r) => r.id === 'east')!.stores.map((st) => st.id));
    expect(manager.choices.channels.map((c) => c.id)).toEqual(app.cfg.channels.map((c) => c.id));
    expect(ops.choices.notifiers).toEqual(app.cfg.notifiers.map((n) => ({ id: n.id, kind: n.kind })));
  });
});

describe('the audit log', () => {
  interface Entry { action: string; actor: string | null; target: string | null; ip: string | null; detail: Record<string, unknown> | null }
  const entries = async (query: string) => ((await (await app.get(`/api/v1/audit${query}`, 'admin')).json()) as { entries: Entry[] }).entries;
  const send = async (method: string, path: string, who: string, body?: unknown) =>
    fetch(`${app.server.url}${path}`, { method, headers: { authorization: `Bearer ${await app.token(who)}`, 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' }, body: body === undefined ? undefined : JSON.stringify(body) });

  it('records logins, failed and blocked ones (without unknown usernames), silences, rule edits and job runs', async () => {
    const failed = await entries('?action=login.failed&limit=1000');
    expect(failed.filter((e) => e.actor === 'oncall' && e.ip === '10.1.1.1')).toHaveLength(5);
    expect(failed.some((e) => e.actor?.startsWith('user-'))).toBe(false); // unknown usernames are not kept
    expect(failed.filter((e) => e.actor === null && e.ip === '10.3.3.3')).toHaveLength(50);
    expect((await entries('?action=login.blocked')).some((e) => e.actor === 'oncall' && e.ip === '10.1.1.1')).toBe(true);
    expect((await entries('?action=login&actor=admin')).length).toBeGreaterThan(0);
    expect(JSON.stringify(await entries('?limit=1000'))).not.toContain('guess'); // no password is ever recorded

    const silence = await send('POST', '/api/v1/silences', 'oncall', { matchers: [{ name: 'channel', value: 'sms' }], duration: '1h', comment: 'SMS vendor maintenance' });
    expect(silence.status).toBe(201);
    const { silence: created } = (await silence.json()) as { silence: { id: string } };
    expect((await send('DELETE', `/api/v1/silences/${created.id}`, 'admin')).status).toBe(200);
    const rule = { name: '审计测试', nameEn: 'Audit test', metric: 'roi', groupBy: 'channel', window: '15m', when: { below: 1.2 }, for: '5m', severity: 'warning', notify: ['oncall-webhook'] };
    expect((await send('PUT', '/api/v1/alert-rules/audit-test-rule', 'admin', rule)).status).toBe(200);
    expect((await send('DELETE', '/api/v1/alert-rules/audit-test-rule', 'admin')).status).toBe(204);
    expect((await send('POST', '/api/v1/jobs/segments/run', 'admin')).status).toBe(200);

    const recent = (await entries('?limit=5')).reverse().map((e) => [e.action, e.actor, e.target, e.ip]);
    expect(recent).toEqual([
      ['silence.create', 'oncall', created.id, '10.9.9.9'],
      ['silence.expire', 'admin', created.id, '10.9.9.9'],
      ['rule.update', 'admin', 'audit-test-rule', '10.9.9.9'],
      ['rule.delete', 'admin', 'audit-test-rule', '10.9.9.9'],
      ['job.run', 'admin', 'segments', '10.9.9.9'],
    ]);
    expect((await entries('?action=silence.create&limit=1'))[0]!.detail).toMatchObject({ comment: 'SMS vendor maintenance' });

    // and Prometheus counts them
    const metrics = await (await fetch(`${app.server.url}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1] ?? NaN);
    // this server's share of the failures above: 3 of the 5 alternating, the 8 'ops' guesses, 25 of the 50 alternating
    expect(value(/mw_logins_total\{result="failed"\} (\d+)/)).toBe(36);
    expect(value(/mw_logins_total\{result="blocked"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/mw_job_runs_total\{job="segments",status="succeeded"\} (\d+)/)).toBe(1);
    expect(value(/^mw_stream_lag_seconds (\S+)$/m)).toBeGreaterThanOrEqual(0);
  });
});

describe('ingest keys', () => {
  const ingest = (server: { url: string }, key: string) =>
    fetch(`${server.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify([{ id: `k-${Math.random()}`, type: 'click', ts: Date.now(), channel: 'sms' }]) }).then((r) => r.status);
  const admin = async (method: string, path: string, body?: unknown) =>
    fetch(`${app.server.url}${path}`, { method, headers: { authorization: `Bearer ${await app.token('admin')}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const within = async (ms: number, check: () => Promise<boolean>) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  };

  it('are created and revoked by an admin at run time, on every server, without a restart', async () => {
    const created = await admin('POST', '/api/v1/ingest-keys', { name: 'Douyin ads connector' });
    expect(created.status).toBe(201);
    const { key, id, hint } = (await created.json()) as { key: string; id: string; hint: string };
    expect(key).toMatch(/^mwk_[\w-]{32}$/);
    expect(await ingest(app.server, key)).toBe(202);
    expect(await within(6_000, async () => (await ingest(second, key)) === 202)).toBe(true);
    const listed = JSON.stringify(await (await admin('GET', '/api/v1/ingest-keys')).json());
    expect(listed).toContain(hint);
    expect(listed).not.toContain(key); // only a hash is kept

    expect((await admin('DELETE', `/api/v1/ingest-keys/${id}`)).status).toBe(200);
    expect(await ingest(app.server, key)).toBe(401);
    expect(await within(6_000, async () => (await ingest(second, key)) === 401)).toBe(true);
    expect((await admin('DELETE', `/api/v1/ingest-keys/${id}`)).status).toBe(404);
    expect(await ingest(second, API_KEY)).toBe(202); // the configured key is untouched
    const audit = ((await (await app.get('/api/v1/audit?limit=2', 'admin')).json()) as { entries: Array<{ action: string; target: string }> }).entries;
    expect(audit.map((e) => [e.action, e.target])).toEqual([['ingest-key.revoke', id], ['ingest-key.create', id]]);
  });
});

describe('request ids and logs', () => {
  it('give every answer a request id, keep a caller\'s sane one, and never log credentials, passwords or bodies', async () => {
    const plain = await fetch(`${second.url}/api/v1/live`);
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await fetch(`${second.url}/api/v1/live`, { headers: { 'x-request-id': 'wall-7.retry-2' } });
    expect(kept.headers.get('x-request-id')).toBe('wall-7.retry-2');
    const hostile = await fetch(`${second.url}/api/v1/live`, { headers: { 'x-request-id': 'a b"\\' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const token = await app.token('ops');
    await fetch(`${second.url}/api/v1/live?region=north`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${second.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: 'Secret-Password-9' }) });
    await fetch(`${second.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify([{ id: 'log-1', type: 'conversion', channel: 'app', ts: Date.now(), value: 5, userId: '13900001111' }]) });
    const logged = secondLog.join('\n');
    expect(logged).toContain('wall-7.retry-2');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(API_KEY);
    expect(logged).not.toContain('Secret-Password-9');
    expect(logged).not.toContain('13900001111');
  });
});

describe('headers', () => {
  it('sends security headers and a CSP that keeps the wall on plain http', async () => {
    const response = await fetch(`${app.server.url}/api/v1/live`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers CORS only for configured origins', async () => {
    const preflight = (origin: string) => fetch(`${app.server.url}/api/v1/live`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    const other = await preflight('https://evil.example.com');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('shutdown', () => {
  it('answers the requests in flight before the server goes, and takes no new ones', async () => {
    const inFlight = fetch(`${second.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'demo' }) });
    await new Promise((resolve) => setTimeout(resolve, 15)); // the password check (bcrypt) is running
    const closing = second.close();
    secondClosed = true;
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { token?: string }).token).toBeTruthy();
    await closing;
    await expect(fetch(`${second.url}/healthz`)).rejects.toThrow();
  });
});
