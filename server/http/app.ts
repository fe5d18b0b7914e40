import type { EntrySigner } from '../../stream/entry-signature.js';
import type { IngestFairness } from '../ingest/ingest-fairness.js';
import { sessionRouter } from '../auth/session-routes.js';
import type { SignOuts } from '../auth/sign-outs.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import expressStaticGzip from 'express-static-gzip';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import type { Storage } from '../../stream/db/migrate.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import type { AnnotationChange, ScreenAlert } from '../../stream/types.js';
import type { Auth } from '../auth/auth.js';
import { alertRouter } from './alert-routes.js';
import { annotationRouter } from './annotation-routes.js';
import { explainRouter } from './explain-routes.js';
import { replayRouter } from './replay-routes.js';
import { analyticsRouter } from './analytics-routes.js';
import { audienceRouter } from './audience-routes.js';
import { openApiDocument, openApiPage } from './openapi.js';
import type { JobRunner } from '../jobs/runner.js';
import type { LoginLimits } from '../auth/login-limiter.js';
import type { AuditLog } from '../audit/audit.js';
import { auditRouter } from '../audit/audit-routes.js';
import type { IngestKeys } from '../ingest/ingest-keys.js';
import { ingestKeyRouter } from '../ingest/ingest-key-routes.js';
import { healthRouter } from './health.js';
import { ingestRouter } from '../ingest/ingest.js';
import { queryRouter } from './query-routes.js';
import { renderMetrics, type ServerMetrics } from './server-metrics.js';

export interface AppDeps {
  cfg: AppConfig;
  redis: Redis;
  pool: Pool;
  keys: RedisKeys;
  auth: Auth;
  storage: Storage;
  ingestKeys: IngestKeys;
  metrics: ServerMetrics;
  log: Logger;
  /** the built screen (vite build output), served at / when present */
  screenDir?: string;
  /** tells the screens of an alert change (an acknowledgement) */
  publishAlert?: (alert: ScreenAlert) => void;
  /** tells the screens of an annotation created, edited or deleted */
  publishAnnotation?: (change: AnnotationChange) => void;
  /** the producers' fair share of the stream backlog */
  fairness: IngestFairness;
  /** admins' "sign out everywhere" */
  signOuts: SignOuts;
  /** closes a user's wall sockets on every server */
  disconnectUser?: (username: string) => void;
  /** the scheduled jobs, when this server runs them */
  jobs?: JobRunner;
  /** failed-login limits (default DEFAULT_LOGIN_LIMITS) */
  loginLimits?: LoginLimits;
  audit: AuditLog;
  /** replaces phone and e-mail userIds by their keyed hash at ingest */
  pseudonymize: (userId: string) => string;
  signer: EntrySigner;
  /** reads a caller shapes (metrics, rule previews): statements stopped after QUERY_TIMEOUT_MS */
  readPool: Pool;
  /** the read pool connects to a replica (DATABASE_READ_URL), which /readyz reports */
  readPoolIsReplica?: boolean;
  /** Express "trust proxy" (TRUST_PROXY): which proxies' X-Forwarded-For gives the client IP; default none */
  trustProxy?: string;
  /** origins other than the server's own that may call the API from a browser (CORS_ORIGINS) */
  corsOrigins?: string[];
}

/**
 * No id in a path or query may hold NUL (PostgreSQL text cannot) or another control character,
 * nor be malformed percent-encoding: 400 naming where, before any route sees it.
 */
function refuseControlCharacters(req: Request, res: Response, next: NextFunction): void {
  const mark = req.originalUrl.indexOf('?');
  const path = mark < 0 ? req.originalUrl : req.originalUrl.slice(0, mark);
  const query = mark < 0 ? '' : req.originalUrl.slice(mark + 1);
  for (const [part, text] of [['path', path], ['query', query.replace(/\+/g, ' ')]] as const) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      return void res.status(400).json({ error: `${part}: malformed percent-encoding` });
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(decoded)) return void res.status(400).json({ error: `${part}: must not contain NUL or other control characters` });
  }
  next();
}

/** Requests arriving through a proxy while TRUST_PROXY is unset share the proxy's address in login limits and logs: say so, once. */
function warnOnceBehindProxy(log: Logger) {
  let warned = false;
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!warned && req.headers['x-forwarded-for'] !== undefined) {
      warned = true;
      log.warn('requests carry X-Forwarded-For but TRUST_PROXY is not set: every client behind the proxy has its address (login limits, audit log); set TRUST_PROXY to the proxy (e.g. loopback, 1, or its address)');
    }
    next();
  };
}

export function createApp(deps: AppDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (deps.trustProxy) app.set('trust proxy', /^\d+$/.test(deps.trustProxy) ? Number(deps.trustProxy) : deps.trustProxy);
  else app.use(warnOnceBehindProxy(deps.log));
  // the wall is often served over plain http inside the building: no upgrade of its requests to https
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  const allowedOrigins = new Set(deps.corsOrigins ?? []);
  app.use('/api', cors({ origin: (origin, allow) => allow(null, origin !== undefined && allowedOrigins.has(origin)), maxAge: 600 }));

  // one id per request (the caller's X-Request-Id if it sends a sane one), in every log line and the answer;
  // credentials are redacted and bodies never logged (they may hold customers' data)
  app.use(pinoHttp({
    logger: deps.log,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
  }));
  app.use((req, res, next) => {
    const end = deps.metrics.httpSeconds.startTimer();
    res.on('finish', () => end({ route: req.route?.path ?? 'other', status: String(res.statusCode) }));
    next();
  });

  app.use('/api', refuseControlCharacters);
  // the API's own description: machine-readable and readable, no sign-in needed
  const apiDocument = JSON.stringify(openApiDocument());
  const apiPage = openApiPage();
  app.get('/api/docs/openapi.json', (_req, res) => void res.type('application/json').send(apiDocument));
  app.get('/api/docs', (_req, res) => void res.type('text/html; charset=utf-8').send(apiPage));
  app.use(healthRouter(deps.redis, deps.pool, deps.readPoolIsReplica ? deps.readPool : undefined));
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await renderMetrics(deps.metrics, deps.redis, deps.keys);
    res.type(contentType).send(body);
  });
  app.use(ingestRouter(deps));
  app.use(queryRouter(deps));
  app.use(alertRouter(deps));
  app.use(analyticsRouter(deps));
  app.use(annotationRouter(deps));
  app.use(explainRouter(deps));
  app.use(replayRouter(deps));
  app.use(audienceRouter(deps));
  app.use(auditRouter(deps));
  app.use(ingestKeyRouter(deps));
  app.use(sessionRouter(deps));
  app.use('/api', (_req, res) => void res.status(404).json({ error: 'no such API route' }));

  if (deps.screenDir && existsSync(join(deps.screenDir, 'index.html'))) {
    // sendFile takes only absolute paths: the app's own routes (/alerts/<id>) are served index.html
    const screenDir = resolve(deps.screenDir);
    // the screen's files as the build compressed them (.br, .gz beside each; the script 1.06 MB →
    // ~0.33 MB), for a phone on a mobile network, at no CPU per request. The API's answers are not
    // compressed: a week of hours by channel (~470 KB of JSON) costs the server 7–10 ms more
    // compressed, on every wall's every refresh, where a gigabit LAN moves it in ~4 ms (README)
    app.use(expressStaticGzip(screenDir, { enableBrotli: true, orderPreference: ['br', 'gzip'], index: 'index.html', serveStatic: { maxAge: '1h' } }));
    app.get('/{*path}', (_req, res) => res.sendFile(join(screenDir, 'index.html')));
  }

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) return void res.status(status).json({ error: (err as Error).message });
    if ((err as { code?: string }).code === '57014') {
      req.log.warn({ path: req.path }, 'query stopped at its time limit');
      return void res.status(503).json({ error: 'the query ran past its time limit and was stopped; narrow the range, use a larger step or fewer groups' });
    }
    req.log.error({ err: (err as Error).message, path: req.path }, 'request failed');
    const unavailable = /ECONNREFUSED|Connection is closed|ETIMEDOUT|terminat|connect/i.test(String((err as Error).message));
    res.status(unavailable ? 503 : 500).json({ error: unavailable ? 'a data store is unavailable; retry later' : 'internal error' });
  });
  return app;
}
