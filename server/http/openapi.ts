// The HTTP API described as OpenAPI 3.1 (GET /api/docs/openapi.json) and as a readable page
// (GET /api/docs), with the Socket.IO events beside it. Parameters and request bodies come from
// the very zod schemas the routes validate with; answers name their top-level fields. The
// `openapi` test checks every route the server answers is here, and every status and JSON body
// the routes really answer against what is written here.
import { z } from 'zod';
import { ruleSchema } from '../../config/alert-schema.js';
import { auditQuery } from '../audit/audit-routes.js';
import { createBody } from '../ingest/ingest-key-routes.js';
import { listQuery, matchers, previewBody, silenceBody } from './alert-routes.js';
import { annotationBody, annotationQuery } from './annotation-routes.js';
import { attributionQuery, segmentsQuery } from './analytics-routes.js';
import { exportQuery } from './audience-routes.js';
import { explainParams, geoParams, liveParams, loginBody, metricsParams } from './query-params.js';
import { replayParams } from './replay-routes.js';

type Schema = Record<string, unknown>;
const jsonSchema = (schema: z.ZodType): Schema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  return rest;
};
/** an object answer with these top-level fields */
const fields = (...required: string[]): Schema => ({ type: 'object', required, properties: Object.fromEntries(required.map((name) => [name, {}])) });
const ERROR: Schema = { $ref: '#/components/schemas/Error' };

interface Answer {
  description: string;
  schema?: Schema;
  /** a body that is not JSON */
  type?: string;
}
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  tag: string;
  summary: string;
  security: 'bearer' | 'ingestKey' | 'bearerOrIngestKey' | 'none';
  query?: z.ZodObject;
  body?: Schema;
  answers: Record<number, Answer>;
}

const refused = {
  400: { description: 'a parameter or field is wrong: the error names it', schema: ERROR },
  401: { description: 'no valid bearer token', schema: ERROR },
  403: { description: "the role may not do this, or may not read that region", schema: ERROR },
};
const { 400: bad, 401: unauthorised, 403: forbidden } = refused;
const notFound = { description: 'no such thing (or not one the role may see)', schema: ERROR };
const PREVIEW = fields('ruleId', 'from', 'to', 'windowSeconds', 'windows', 'historyFrom', 'instances', 'notifications', 'judgedWindows');
const RULE_ID = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export const OPERATIONS: Operation[] = [
  { method: 'get', path: '/healthz', tag: 'operations', summary: 'The process answers', security: 'none', answers: { 200: { description: 'alive', schema: fields('status') } } },
  { method: 'get', path: '/readyz', tag: 'operations', summary: 'Redis and PostgreSQL answer', security: 'none', answers: { 200: { description: 'ready', schema: fields('status', 'redis', 'database') }, 503: { description: 'a store does not answer', schema: fields('status', 'redis', 'database') } } },
  { method: 'get', path: '/metrics', tag: 'operations', summary: 'Prometheus metrics of this server', security: 'none', answers: { 200: { description: 'text exposition format', type: 'text/plain' } } },
  { method: 'get', path: '/api/docs', tag: 'docs', summary: 'This description as a page', security: 'none', answers: { 200: { description: 'HTML', type: 'text/html' } } },
  { method: 'get', path: '/api/docs/openapi.json', tag: 'docs', summary: 'This description, OpenAPI 3.1', security: 'none', answers: { 200: { description: 'the document', schema: fields('openapi', 'info', 'paths', 'components') } } },
  { method: 'post', path: '/api/v1/events', tag: 'ingest', summary: 'Events in (JSON array or NDJSON), with an ingest key', security: 'ingestKey', body: { type: 'array', items: { $ref: '#/components/schemas/Event' } },
    answers: { 202: { description: 'accepted into the stream (durable); bad events listed with their index and reason', schema: fields('accepted', 'duplicates', 'rejected') }, 400: bad, 401: { description: 'no valid ingest key', schema: ERROR }, 413: { description: 'the body is too large', schema: ERROR }, 429: { description: 'the backlog is full, or this key is above its fair share (Retry-After)', schema: ERROR }, 503: { description: 'Redis is away (Retry-After); nothing of the request was accepted', schema: ERROR } } },
  { method: 'post', path: '/api/v1/auth/login', tag: 'auth', summary: 'Sign in', security: 'none', body: jsonSchema(loginBody), answers: { 200: { description: 'a token', schema: fields('token', 'role', 'regions', 'expiresIn') }, 400: bad, 401: { description: 'wrong username or password', schema: ERROR }, 429: { description: 'too many failed logins (Retry-After)', schema: ERROR } } },
  { method: 'post', path: '/api/v1/auth/refresh', tag: 'auth', summary: 'A fresh token for a valid one (within the session limit)', security: 'bearer', answers: { 200: { description: 'a token', schema: fields('token', 'role', 'regions', 'expiresIn') }, 401: unauthorised } },
  { method: 'post', path: '/api/v1/users/{username}/sign-out', tag: 'auth', summary: "Ends a user's sessions on every server (admin)", security: 'bearer', answers: { 200: { description: 'signed out', schema: fields('signedOut', 'at') }, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'get', path: '/api/v1/live', tag: 'query', summary: 'Rolling windows and today from the hot buckets; today\'s new users and yesterday\'s over the same span from the first-seen ledger', security: 'bearer', query: liveParams, answers: { 200: { description: 'the scope\'s windows', schema: fields('scope', 'asOf', 'windows', 'today', 'newUsers') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'get', path: '/api/v1/metrics', tag: 'query', summary: 'Exact series from the rollups (≤ 20 000 series × points); uniqueUsers on 1 h / 1 d points from mergeable sketches: exact up to 2 048 customers a point, above ±0.81 % standard error (within 2 % in tests)', security: 'bearer', query: metricsParams, answers: { 200: { description: 'dense series', schema: fields('step', 'from', 'to', 'series') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound, 503: { description: 'the query ran past its time limit', schema: ERROR } } },
  { method: 'get', path: '/api/v1/geo', tag: 'query', summary: 'Regions and stores with their window\'s figures, for the map', security: 'bearer', query: geoParams, answers: { 200: { description: 'the map\'s figures', schema: fields('window', 'asOf', 'regions') }, 400: bad, 401: unauthorised } },
  { method: 'get', path: '/api/v1/alerts', tag: 'alerts', summary: 'Alerts the role may see', security: 'bearer', query: listQuery, answers: { 200: { description: 'alerts', schema: fields('alerts') }, 400: bad, 401: unauthorised } },
  { method: 'get', path: '/api/v1/alerts/{id}', tag: 'alerts', summary: 'One alert with every notification and delivery attempt, and `keepFiringFor`: how long its rule keeps it open once recovered (null when the rule is gone)', security: 'bearer', answers: { 200: { description: 'the alert', schema: fields('alert', 'keepFiringFor', 'notifications') }, 401: unauthorised, 404: notFound } },
  { method: 'get', path: '/api/v1/explain', tag: 'query', summary: 'Why did it move? The regions, stores, channels, campaigns and pairs that explain a figure\'s change against a baseline (sums: share of the difference; ratios: mix and rate)', security: 'bearer', query: explainParams,
    answers: { 200: { description: 'the change and its strongest segments', schema: fields('metric', 'kind', 'current', 'baseline', 'change', 'relative', 'top', 'bySegmentation', 'scope', 'currentSpan', 'baselineSpan', 'campaignsFolded') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound, 503: { description: 'the read ran past its time limit', schema: ERROR } } },
  { method: 'get', path: '/api/v1/replay', tag: 'query', summary: 'What the wall showed at an instant: the view\'s frame rebuilt from the rollups (the live snapshot\'s shape; unique users exact for windows up to an hour, those of 24 h and today from hourly sketches with the raw ends: exact up to 2 048 customers, above ±0.81 %), the alerts active then in their states then, the segments and attribution of the runs before it', security: 'bearer', query: replayParams,
    answers: { 200: { description: 'the moment', schema: fields('at', 'frame', 'alerts', 'segments', 'attribution') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound, 503: { description: 'the read ran past its time limit', schema: ERROR } } },
  { method: 'get', path: '/api/v1/alerts/{id}/explain', tag: 'alerts', summary: 'Why the alert\'s figure moved: its window against the baseline its detector compares with (a threshold rule: a day before), and the line its notifications carry', security: 'bearer',
    answers: { 200: { description: 'the change, its strongest segments and the one-line summary', schema: fields('top', 'bySegmentation', 'summary', 'summaryEn') }, 400: bad, 401: unauthorised, 404: notFound } },
  { method: 'get', path: '/api/v1/alerts/{id}/series', tag: 'alerts', summary: 'The alert\'s metric around it (a preview of its instance, with series)', security: 'bearer', answers: { 200: { description: 'its series and episodes', schema: PREVIEW }, 400: bad, 401: unauthorised, 404: notFound } },
  { method: 'post', path: '/api/v1/alerts/{id}/ack', tag: 'alerts', summary: 'Acknowledge (oncall, admin)', security: 'bearer', answers: { 200: { description: 'acknowledged', schema: fields('alert') }, 401: unauthorised, 403: forbidden, 404: notFound, 409: { description: 'already acknowledged, or not active', schema: ERROR } } },
  { method: 'get', path: '/api/v1/silences', tag: 'alerts', summary: 'Active silences (?expired=1: with the ended ones)', security: 'bearer', answers: { 200: { description: 'silences', schema: fields('silences') }, 401: unauthorised, 403: forbidden } },
  { method: 'post', path: '/api/v1/silences', tag: 'alerts', summary: 'Silence alerts matching the matchers (oncall, admin)', security: 'bearer', body: jsonSchema(silenceBody), answers: { 201: { description: 'made', schema: fields('silence') }, 400: bad, 401: unauthorised, 403: forbidden, 409: { description: 'too many active silences', schema: ERROR } } },
  { method: 'post', path: '/api/v1/silences/preview', tag: 'alerts', summary: 'The active alerts these matchers would silence now (oncall, admin)', security: 'bearer', body: jsonSchema(z.strictObject({ matchers })), answers: { 200: { description: 'matching alerts', schema: fields('alerts') }, 400: bad, 401: unauthorised, 403: forbidden } },
  { method: 'delete', path: '/api/v1/silences/{id}', tag: 'alerts', summary: 'Expire a silence (oncall, admin)', security: 'bearer', answers: { 200: { description: 'expired', schema: fields('expired') }, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'get', path: '/api/v1/alert-rules', tag: 'alerts', summary: 'Rules with pending/firing/recovering counts and their alerts.yaml form (`document`); `evaluation`: its interval, settle time and the default `repeatInterval`; `choices`: the channels, the caller\'s regions and stores, and the notifiers a rule may name', security: 'bearer', answers: { 200: { description: 'rules', schema: fields('evaluation', 'rules', 'choices') }, 401: unauthorised } },
  { method: 'post', path: '/api/v1/alert-rules/preview', tag: 'alerts', summary: 'Try a rule not yet saved on stored history (admin)', security: 'bearer', body: { type: 'object', properties: { rule: jsonSchema(ruleSchema), ...(jsonSchema(previewBody).properties as Schema) }, required: ['rule'] }, answers: { 200: { description: 'episodes and would-be notifications', schema: PREVIEW }, 400: bad, 401: unauthorised, 403: forbidden, 503: { description: 'the read ran past its time limit', schema: ERROR } } },
  { method: 'put', path: '/api/v1/alert-rules/{id}', tag: 'alerts', summary: 'Create or replace a rule (admin), as alerts.yaml states it', security: 'bearer', body: jsonSchema(ruleSchema), answers: { 200: { description: 'saved', schema: fields('rule') }, 400: bad, 401: unauthorised, 403: forbidden, 409: { description: 'a new rule beyond the 200 rules the file and the API may hold together', schema: ERROR } } },
  { method: 'patch', path: '/api/v1/alert-rules/{id}', tag: 'alerts', summary: 'Switch a rule off or on (admin)', security: 'bearer', body: { type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } }, additionalProperties: false }, answers: { 200: { description: 'switched', schema: fields('rule') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'delete', path: '/api/v1/alert-rules/{id}', tag: 'alerts', summary: 'Delete a rule (a file rule stays off) (admin)', security: 'bearer', answers: { 204: { description: 'deleted' }, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'post', path: '/api/v1/alert-rules/{id}/preview', tag: 'alerts', summary: 'Run a saved rule over stored history (ops, oncall, admin)', security: 'bearer', body: jsonSchema(previewBody), answers: { 200: { description: 'episodes and would-be notifications', schema: PREVIEW }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound, 503: { description: 'the read ran past its time limit', schema: ERROR } } },
  { method: 'get', path: '/api/v1/annotations', tag: 'annotations', summary: 'Marketing moments overlapping [from, to) (default the last 48 h): a view\'s own, its region\'s and the nationwide ones; a manager only its regions\' and the nationwide ones; the newest ≤ 1 000', security: 'bearer', query: annotationQuery, answers: { 200: { description: 'annotations, oldest first', schema: fields('annotations') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'post', path: '/api/v1/annotations', tag: 'annotations', summary: 'Mark a moment or a span (ops, admin, or a producer with an ingest key); audited, pushed to the walls', security: 'bearerOrIngestKey', body: jsonSchema(annotationBody), answers: { 201: { description: 'made', schema: fields('annotation') }, 400: bad, 401: unauthorised, 403: forbidden, 429: { description: 'more than 1 000 in 24 h from one author (Retry-After)', schema: ERROR } } },
  { method: 'put', path: '/api/v1/annotations/{id}', tag: 'annotations', summary: 'Edit an annotation (ops, admin); audited', security: 'bearer', body: jsonSchema(annotationBody), answers: { 200: { description: 'saved', schema: fields('annotation') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'delete', path: '/api/v1/annotations/{id}', tag: 'annotations', summary: 'Delete an annotation (ops, admin); audited', security: 'bearer', answers: { 200: { description: 'deleted', schema: fields('deleted') }, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'get', path: '/api/v1/jobs', tag: 'analytics', summary: 'Scheduled jobs and their recent runs (not for managers)', security: 'bearer', answers: { 200: { description: 'jobs', schema: fields('jobs', 'runs') }, 401: unauthorised, 403: forbidden } },
  { method: 'post', path: '/api/v1/jobs/{name}/run', tag: 'analytics', summary: 'Run a job now (admin)', security: 'bearer', answers: { 200: { description: 'the run, succeeded', schema: fields('run') }, 401: unauthorised, 403: forbidden, 404: notFound, 409: { description: 'running already', schema: ERROR }, 500: { description: 'the run failed (its error is in the run)', schema: fields('run') } } },
  { method: 'get', path: '/api/v1/attribution', tag: 'analytics', summary: 'Multi-touch attribution credits (the whole business, or regions)', security: 'bearer', query: attributionQuery, answers: { 200: { description: 'credits per model and channel', schema: fields('from', 'to', 'regions', 'models', 'revenue', 'onlineRevenue', 'updatedAt') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'get', path: '/api/v1/segments', tag: 'analytics', summary: 'Customer segments of the last run', security: 'bearer', query: segmentsQuery, answers: { 200: { description: 'tiers, stages, moves', schema: fields('runAt', 'previousRunAt', 'regions', 'customers', 'tiers') }, 400: bad, 401: unauthorised, 403: forbidden, 404: notFound } },
  { method: 'get', path: '/api/v1/audiences/export', tag: 'analytics', summary: 'A tier × stage × region audience as CSV of keyed ids (ops, admin, a manager its regions)', security: 'bearer', query: exportQuery, answers: { 200: { description: 'CSV, streamed', type: 'text/csv' }, 400: bad, 401: unauthorised, 403: forbidden, 429: { description: 'two exports are running on this server already (Retry-After)', schema: ERROR } } },
  { method: 'get', path: '/api/v1/audit', tag: 'admin', summary: 'The audit log, newest first (admin)', security: 'bearer', query: auditQuery, answers: { 200: { description: 'entries', schema: fields('entries') }, 400: bad, 401: unauthorised, 403: forbidden } },
  { method: 'get', path: '/api/v1/ingest-keys', tag: 'admin', summary: 'Ingest keys (admin; never the keys themselves)', security: 'bearer', answers: { 200: { description: 'keys', schema: fields('keys') }, 401: unauthorised, 403: forbidden } },
  { method: 'post', path: '/api/v1/ingest-keys', tag: 'admin', summary: 'Make an ingest key (admin; the key is in this answer only)', security: 'bearer', body: jsonSchema(createBody), answers: { 201: { description: 'made', schema: fields('key', 'id', 'name') }, 400: bad, 401: unauthorised, 403: forbidden } },
  { method: 'delete', path: '/api/v1/ingest-keys/{id}', tag: 'admin', summary: 'Revoke an ingest key (admin)', security: 'bearer', answers: { 200: { description: 'revoked', schema: fields('id') }, 401: unauthorised, 403: forbidden, 404: notFound } },
];

/** The Socket.IO namespace /screen: what a wall sends and receives. */
export const SOCKET_EVENTS = [
  { direction: 'client → server', event: 'subscribe', payload: '{ view: "all" | "r:<region>" | "s:<store>", range: "live" | "today" | "7d" | "30d" }, ack', description: 'Join a view; the ack carries its snapshot, or an error (another region for a manager, too many subscribes).' },
  { direction: 'server → client', event: 'metrics', payload: 'ScreenFrame (stream/types.ts)', description: "The view's frame, pushed when its figures changed (at most every PUSH_INTERVAL_MS)." },
  { direction: 'server → client', event: 'alert', payload: 'ScreenAlert', description: 'An alert changed state, was acknowledged or silenced (to the roles that may see it).' },
  { direction: 'server → client', event: 'annotation', payload: '{annotation: Annotation} | {deleted: id, region}', description: 'An annotation created or edited, or deleted: to the walls that may see it (a region\'s to that region\'s and whole-business roles, a nationwide one to all).' },
  { direction: 'server → client', event: 'attribution', payload: 'AttributionView', description: "After each attribution run: the figures the role may see (a manager its regions')." },
  { direction: 'server → client', event: 'segments', payload: 'SegmentsView', description: "After each segments run: the figures the role may see." },
];

const pathParams = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => (name === 'id' ? RULE_ID : { name, in: 'path', required: true, schema: { type: 'string' } }));

export function openApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const op of OPERATIONS) {
    const query = op.query ? Object.entries((jsonSchema(op.query).properties ?? {}) as Record<string, Schema>).map(([name, schema]) => ({ name, in: 'query', required: false, schema })) : [];
    (paths[op.path] ??= {})[op.method] = {
      tags: [op.tag],
      summary: op.summary,
      security: op.security === 'none' ? [] : op.security === 'bearerOrIngestKey' ? [{ bearer: [] }, { ingestKey: [] }] : [{ [op.security]: [] }],
      parameters: [...pathParams(op.path), ...query],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
      responses: Object.fromEntries(Object.entries(op.answers).map(([status, answer]) => [status, {
        description: answer.description,
        ...(answer.schema ? { content: { 'application/json': { schema: answer.schema } } } : answer.type ? { content: { [answer.type]: { schema: { type: 'string' } } } } : {}),
      }])),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Marketing operations wall API', version: '1', description: 'Times are ISO-8601 (or epoch ms in JSON bodies); money in yuan. Errors answer {"error": "<field>: <reason>"}.' },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'POST /api/v1/auth/login' },
        ingestKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
        Event: { type: 'object', required: ['id', 'type', 'ts', 'channel'], properties: {
          id: { type: 'string' }, type: { enum: ['exposure', 'click', 'visit', 'conversion', 'spend'] }, ts: { type: ['string', 'number'] }, channel: { type: 'string' },
          region: { type: 'string' }, store: { type: 'string' }, campaign: { type: 'string' }, userId: { type: 'string', description: 'phones and e-mails are hashed with a key at ingest' },
          count: { type: 'integer', minimum: 1 }, value: { type: 'number', minimum: 0, description: 'yuan (conversion revenue, spend)' },
        } },
      },
    },
    'x-socket-events': { namespace: '/screen', auth: 'the bearer token in the handshake (auth.token)', events: SOCKET_EVENTS },
  };
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The same document as a page people can read: one section per route, then the socket events. */
export function openApiPage(): string {
  const rows = OPERATIONS.map((op) => {
    const params = op.query ? Object.keys((jsonSchema(op.query).properties ?? {}) as Schema) : [];
    const answers = Object.entries(op.answers).map(([status, a]) => `<li><b>${status}</b> ${escape(a.description)}${a.schema && (a.schema.required as string[] | undefined)?.length ? ` — <code>${escape((a.schema.required as string[]).join(', '))}</code>` : ''}</li>`).join('');
    return `<section><h3><span class="m ${op.method}">${op.method.toUpperCase()}</span> <code>${escape(op.path)}</code></h3><p>${escape(op.summary)}${op.security === 'bearer' ? ' · bearer token' : op.security === 'ingestKey' ? ' · ingest key (x-api-key)' : op.security === 'bearerOrIngestKey' ? ' · bearer token or ingest key (x-api-key)' : ''}</p>`
      + `${params.length ? `<p>query: <code>${escape(params.join(', '))}</code></p>` : ''}${op.body ? '<p>body: JSON (see openapi.json)</p>' : ''}<ul>${answers}</ul></section>`;
  }).join('\n');
  const events = SOCKET_EVENTS.map((e) => `<tr><td>${escape(e.direction)}</td><td><code>${escape(e.event)}</code></td><td><code>${escape(e.payload)}</code></td><td>${escape(e.description)}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Marketing operations wall API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:0 auto;padding:16px;background:#050b1a;color:#cfe6ff}h1,h2{color:#e6f1ff}section{border:1px solid #1d3a6e;border-radius:8px;padding:8px 14px;margin:10px 0}h3{margin:4px 0}code{color:#36d1ff}.m{display:inline-block;min-width:56px;font-size:13px;padding:2px 6px;border-radius:4px;background:#142a52}.m.post{background:#0f4d3a}.m.delete{background:#5c1620}.m.put,.m.patch{background:#5a3d08}table{border-collapse:collapse}td{border-top:1px solid #1d3a6e;padding:6px;vertical-align:top}a{color:#36d1ff}</style></head>
<body><h1>Marketing operations wall API</h1><p>Machine-readable: <a href="/api/docs/openapi.json">/api/docs/openapi.json</a> (OpenAPI 3.1). Errors answer <code>{"error": "&lt;field&gt;: &lt;reason&gt;"}</code>.</p>
<h2>HTTP</h2>${rows}<h2>Socket.IO <code>/screen</code></h2><p>Authenticate with the bearer token in the handshake (<code>auth: { token }</code>).</p><table>${events}</table></body></html>`;
}
