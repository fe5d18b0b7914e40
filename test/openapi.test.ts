// The API's description against the API itself: every route the server answers is described
// (and nothing else), and a tour of real requests — every route, as every role, right and wrong —
// answers only statuses the description lists, with JSON bodies valid against it.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS, openApiDocument } from '../server/http/openapi.js';
import { API_KEY, startTestApp, type TestApp } from './harness.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp('openapi');
}, 60_000);
afterAll(async () => app?.close());

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
/** The routes the Express app answers, as "METHOD /path/{param}". */
function servedRoutes(): string[] {
  const express = app.server.app as unknown as { router: { stack: Layer[] } };
  const routes: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) routes.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(express.router.stack);
  // the screen's own addresses (/alerts/<id>, /rules) are the Vue app's, not the API's
  return [...new Set(routes)].filter((r) => !r.endsWith(' /{*path}')).sort();
}

const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, unknown> } };
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');

function validate(schema: unknown, body: unknown): string | null {
  const resolved = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'));
  const check = ajv.compile(resolved as object);
  return check(body) ? null : ajv.errorsText(check.errors);
}

describe('the API description', () => {
  it('describes every route the server answers, and only those', () => {
    const described = OPERATIONS.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
    expect(described).toEqual(servedRoutes());
  });

  it('is served as OpenAPI 3.1 and as a page that names every route and the socket events', async () => {
    const json = await fetch(`${app.server.url}/api/docs/openapi.json`);
    expect(json.status).toBe(200);
    const served = (await json.json()) as { openapi: string; paths: Record<string, unknown>; 'x-socket-events': { events: Array<{ event: string }> } };
    expect(served.openapi).toBe('3.1.0');
    expect(Object.keys(served.paths).length).toBe(new Set(OPERATIONS.map((op) => op.path)).size);
    expect(served['x-socket-events'].events.map((e) => e.event)).toEqual(['subscribe', 'metrics', 'alert', 'annotation', 'attribution', 'segments']);
    const page = await fetch(`${app.server.url}/api/docs`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    for (const op of OPERATIONS) expect(html).toContain(`<code>${op.path}</code>`);
    expect(html).toContain('<code>subscribe</code>');
  });

  it('answers, on a tour of every route as every role, only documented statuses with bodies valid against the description', async () => {
    const token = async (who: string) => (who === 'anonymous' ? null : app.token(who));
    const hit = new Set<string>();
    const problems: string[] = [];
    const visit = async (method: string, path: string, who: string, body?: unknown, headers: Record<string, string> = {}) => {
      const bearer = await token(who);
      const response = await fetch(`${app.server.url}${path}`, {
        method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const route = OPERATIONS.find((op) => op.method === method.toLowerCase() && new RegExp(`^${op.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path.split('?')[0]!));
      if (!route) return void problems.push(`${method} ${path}: not described`);
      hit.add(`${route.method} ${route.path}`);
      const answer = doc.paths[route.path]![route.method]!.responses[String(response.status)];
      if (!answer) return void problems.push(`${method} ${path} as ${who}: ${response.status} is not documented`);
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!;
      const text = await response.text();
      if (!answer.content) return void (text === '' || problems.push(`${method} ${path}: ${response.status} has a body the description does not`));
      const documented = Object.keys(answer.content)[0]!;
      if (type !== documented) return void problems.push(`${method} ${path}: ${response.status} answered ${type}, documented ${documented}`);
      if (type === 'application/json') {
        const error = validate(answer.content[documented]!.schema, JSON.parse(text));
        if (error) problems.push(`${method} ${path} as ${who}: ${response.status} body: ${error}`);
      }
    };
    const everyone = ['ops', 'oncall', 'admin', 'manager-east', 'anonymous'];
    const now = Date.now();
    // events first, so the reads have something to answer
    await visit('POST', '/api/v1/events', 'anonymous', [{ id: 'oa-1', type: 'exposure', ts: now - 5_000, channel: 'douyin', region: 'east', count: 5 }], { 'x-api-key': API_KEY });
    await visit('POST', '/api/v1/events', 'anonymous', [{ id: 'oa-2', type: 'teleport', ts: now, channel: 'douyin' }], { 'x-api-key': API_KEY });
    await visit('POST', '/api/v1/events', 'anonymous', [], { 'x-api-key': 'wrong' });
    await app.drained();
    await visit('POST', '/api/v1/auth/login', 'anonymous', { username: 'ops', password: 'demo' });
    await visit('POST', '/api/v1/auth/login', 'anonymous', { username: 'ops', password: 'wrong' });
    await visit('POST', '/api/v1/auth/login', 'anonymous', { username: '' });
    for (const who of everyone) {
      for (const path of ['/healthz', '/readyz', '/metrics', '/api/docs', '/api/docs/openapi.json', '/api/v1/live', '/api/v1/live?region=north', '/api/v1/live?region=atlantis', '/api/v1/metrics?groupBy=channel', '/api/v1/metrics?step=2m',
        '/api/v1/geo', '/api/v1/alerts', '/api/v1/alerts?state=odd', '/api/v1/alerts/none', '/api/v1/alerts/none/series', '/api/v1/silences', '/api/v1/alert-rules', '/api/v1/jobs',
        '/api/v1/attribution', '/api/v1/attribution?region=north', '/api/v1/segments', '/api/v1/segments?region=north', '/api/v1/audiences/export?tier=vip', '/api/v1/audiences/export?region=east',
        '/api/v1/audit', '/api/v1/audit?action=teleport', '/api/v1/ingest-keys', '/api/v1/annotations', '/api/v1/annotations?region=north', '/api/v1/annotations?store=nowhere', '/api/v1/annotations?from=soon',
        '/api/v1/explain?metric=revenue', '/api/v1/explain?metric=cvr&region=north', '/api/v1/explain?metric=odd', '/api/v1/alerts/none/explain',
        `/api/v1/replay?at=${now - 60_000}`, `/api/v1/replay?at=${now - 60_000}&region=north`, '/api/v1/replay?at=soon', '/api/v1/replay']) await visit('GET', path, who);
      await visit('POST', '/api/v1/annotations', who, { text: '' });
      await visit('PUT', '/api/v1/annotations/0', who, { text: 'x', startsAt: now });
      await visit('DELETE', '/api/v1/annotations/0', who);
      await visit('POST', '/api/v1/auth/refresh', who);
      await visit('POST', '/api/v1/alerts/none/ack', who);
      await visit('POST', '/api/v1/silences', who, {});
      await visit('POST', '/api/v1/silences/preview', who, { matchers: [{ name: 'rule', value: 'x' }] });
      await visit('DELETE', '/api/v1/silences/none', who);
      await visit('POST', '/api/v1/alert-rules/preview', who, {});
      await visit('PUT', '/api/v1/alert-rules/tour-rule', who, { name: 'x' });
      await visit('PATCH', '/api/v1/alert-rules/none', who, { enabled: false });
      await visit('DELETE', '/api/v1/alert-rules/none', who);
      await visit('POST', '/api/v1/alert-rules/none/preview', who, {});
      await visit('POST', '/api/v1/jobs/none/run', who);
      await visit('POST', '/api/v1/ingest-keys', who, { name: '' });
      await visit('DELETE', '/api/v1/ingest-keys/0', who);
      await visit('POST', '/api/v1/users/nobody/sign-out', who);
    }
    // and the ways that succeed
    const rule = { name: '巡检', nameEn: 'Tour', metric: 'clicks', groupBy: 'channel', window: '1m', when: { above: 1e9 } };
    await visit('PUT', '/api/v1/alert-rules/tour-rule', 'admin', rule);
    await visit('PATCH', '/api/v1/alert-rules/tour-rule', 'admin', { enabled: false });
    await visit('POST', '/api/v1/alert-rules/tour-rule/preview', 'ops', { from: now - 3_600_000, to: now, series: true });
    await visit('POST', '/api/v1/alert-rules/preview', 'admin', { rule: { ...rule, id: 'draft' }, from: now - 3_600_000, to: now });
    await visit('DELETE', '/api/v1/alert-rules/tour-rule', 'admin');
    await visit('POST', '/api/v1/silences', 'oncall', { matchers: [{ name: 'rule', value: 'tour-rule' }], duration: '1h', comment: 'tour' });
    const { silences } = (await (await app.get('/api/v1/silences', 'oncall')).json()) as { silences: Array<{ id: string }> };
    await visit('DELETE', `/api/v1/silences/${silences[0]!.id}`, 'oncall');
    await visit('POST', '/api/v1/ingest-keys', 'admin', { name: 'tour' });
    const { keys } = (await (await app.get('/api/v1/ingest-keys', 'admin')).json()) as { keys: Array<{ id: string }> };
    await visit('DELETE', `/api/v1/ingest-keys/${keys[0]!.id}`, 'admin');
    await visit('POST', '/api/v1/users/manager-north/sign-out', 'admin');
    await visit('POST', '/api/v1/annotations', 'anonymous', { text: '双12预热', startsAt: new Date(now).toISOString(), region: 'east' }, { 'x-api-key': API_KEY });
    await visit('POST', '/api/v1/annotations', 'anonymous', { text: 'x', startsAt: now }, { 'x-api-key': 'wrong' });
    await visit('POST', '/api/v1/annotations', 'ops', { text: '发券', startsAt: new Date(now).toISOString(), endsAt: new Date(now + 60_000).toISOString(), kind: 'coupon' });
    const { annotations } = (await (await app.get('/api/v1/annotations')).json()) as { annotations: Array<{ id: string }> };
    await visit('PUT', `/api/v1/annotations/${annotations[0]!.id}`, 'admin', { text: '双12预热（改）', startsAt: new Date(now).toISOString() });
    await visit('DELETE', `/api/v1/annotations/${annotations[0]!.id}`, 'ops');

    expect(problems).toEqual([]);
    expect([...hit].sort()).toEqual(OPERATIONS.map((op) => `${op.method} ${op.path}`).sort());
  }, 120_000);
});
