import { createEntrySigner } from '../stream/entry-signature.js';
import { createSignOuts } from './auth/sign-outs.js';
import { PUBLIC_URL_PATTERN } from '../alerts/notification.js';
import { createIngestFairness } from './ingest/ingest-fairness.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load.js';
import { createPool, createRedis, type StoreSettings } from '../stream/connect.js';
import { migrate, type Storage } from '../stream/db/migrate.js';
import { ensureConsumerGroup } from '../stream/processor.js';
import { defineReconcileScript } from '../stream/reconcile.js';
import { keysOfStores } from '../stream/redis-keys.js';
import { startDispatcher } from '../alerts/dispatcher.js';
import { startEvaluator } from '../alerts/evaluator.js';
import { buildNotifiers } from '../alerts/notify/build.js';
import { migrateAlerts } from '../alerts/store.js';
import { startAnalyticsJobs } from './analytics/analytics-jobs.js';
import { migrateAttribution } from './analytics/attribution-job.js';
import { migrateSegments } from './analytics/segments-job.js';
import { createApp } from './http/app.js';
import { createPseudonymizer } from '../stream/pseudonymize.js';
import { createAuditLog, migrateAudit } from './audit/audit.js';
import { createIngestKeys, migrateIngestKeys } from './ingest/ingest-keys.js';
import { migrateAnnotations } from './annotations/annotations.js';
import type { LoginLimits } from './auth/login-limiter.js';
import { migrateJobs, type JobRunner } from './jobs/runner.js';
import { createAuth } from './auth/auth.js';
import { startPipelineJobs } from './jobs/pipeline-jobs.js';
import { startPushLoop } from './push/push-loop.js';
import { attachScreenSocket, type ScreenSocket } from './push/socket.js';
import type { AnnotationChange, ScreenAlert } from '../stream/types.js';
import { createViewReader } from './push/view-read.js';
import { createServerMetrics, registerStreamGauges } from './http/server-metrics.js';
import { explainAlert } from './explain/alert-explain.js';
import { queryContextOf } from '../stream/db/queries.js';

export const DEFAULT_PUSH_INTERVAL_MS = 500;

export interface ServerOptions {
  cfg: AppConfig;
  stores: StoreSettings;
  port: number;
  host?: string;
  demoMode: boolean;
  authSecret: string;
  apiKeys: () => string[];
  log: Logger;
  screenDir?: string;
  /** run the pipeline jobs (reconciliation, retention purge) in this process (default true) */
  jobs?: boolean;
  /** screens get at most one frame per view this often (PUSH_INTERVAL_MS, default 500) */
  pushIntervalMs?: number;
  /** evaluate alert rules and send notifications in this process (default true) */
  alerts?: boolean;
  /** where notifier URLs and secrets, TRUST_PROXY and CORS_ORIGINS are read (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** failed-login limits (default 5 per user + IP, 50 per IP, in 15 min) */
  loginLimits?: LoginLimits;
  /** how long a session may be refreshed after its password sign-in (default 30 days; SESSION_MAX_AGE in main) */
  maxSessionSeconds?: number;
  /** USER_ID_HASH_KEY: the key of the hash that replaces phone and e-mail userIds (≥ 32 characters) */
  userIdKey: string;
}

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  http: Server;
  /** the Express app (its routes, for the API description's test) */
  app: ReturnType<typeof createApp>;
  screen: ScreenSocket;
  /** the scheduled jobs (an admin, or the demo start-up, may run one now) */
  jobs: JobRunner;
  close(): Promise<void>;
}

/** Reads whose cost a caller chooses (metrics, previews, history) are stopped after this long. */
export const QUERY_TIMEOUT_MS = 10_000;

/** Migrates, then serves the API (and the screen) on one port. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { cfg, stores, log } = options;
  const env = options.env ?? process.env;
  // checked before anything is opened: a bad address stops the start with nothing to clean up
  const publicUrl = env.PUBLIC_URL?.trim() || undefined;
  if (publicUrl && !PUBLIC_URL_PATTERN.test(publicUrl)) throw new Error(`PUBLIC_URL: "${publicUrl}" is not an http(s) address (e.g. https://wall.example.cn)`);
  if (options.alerts !== false && !publicUrl) log.warn('PUBLIC_URL is not set: alert notifications carry no link to the alert\'s page');
  const redis = createRedis(stores.redisUrl, 'server');
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  defineReconcileScript(redis);
  const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 10 });
  // reads a caller shapes go to the replica when there is one; writes, and reads that must see them
  // (a rule just edited, an alert just acknowledged), stay on the primary
  const readPool = createPool(stores.databaseReadUrl ?? stores.databaseUrl, stores.dbSchema, { max: 6, statementTimeoutMs: QUERY_TIMEOUT_MS, keepOpen: true });
  const storage = await migrate(pool, cfg, stores.dbSchema);
  const keys = keysOfStores(stores, cfg.pipeline);
  for (const partition of keys.partitions) await ensureConsumerGroup(redis, partition, keys.group);
  await migrateAlerts(pool);
  await migrateJobs(pool);
  await migrateAttribution(pool);
  await migrateSegments(pool);
  await migrateAudit(pool);
  await migrateIngestKeys(pool);
  await migrateAnnotations(pool);
  const ingestKeys = createIngestKeys(pool, options.apiKeys, log);
  await ingestKeys.ready;

  const metrics = createServerMetrics();
  registerStreamGauges(metrics, redis, keys);
  const signOuts = createSignOuts(redis, keys.prefix);
  const auth = createAuth({ users: cfg.users, secret: options.authSecret, demoMode: options.demoMode, signOuts, maxSessionSeconds: options.maxSessionSeconds });
  let screen: ScreenSocket | undefined;
  const publishAlert = (alert: ScreenAlert) => screen?.publishAlert(alert);
  const publishAnnotation = (change: AnnotationChange) => screen?.publishAnnotation(change);
  const analytics = startAnalyticsJobs({
    cfg, log, redis, pool, keyPrefix: keys.prefix, schedule: options.jobs !== false, screen: () => screen,
    onFinished: (run, ms) => {
      metrics.jobRuns.inc({ job: run.job, status: run.status });
      metrics.jobSeconds.observe({ job: run.job }, ms / 1000);
    },
  });
  const app = createApp({
    cfg, redis, pool, readPool, readPoolIsReplica: stores.databaseReadUrl !== undefined, keys, auth, storage, ingestKeys, metrics, signOuts, fairness: createIngestFairness(redis, keys.prefix), disconnectUser: (username) => screen?.disconnectUser(username), log, screenDir: options.screenDir, publishAlert, publishAnnotation, jobs: analytics,
    loginLimits: options.loginLimits, audit: createAuditLog(pool, log), pseudonymize: createPseudonymizer(options.userIdKey), signer: createEntrySigner(options.userIdKey), trustProxy: env.TRUST_PROXY, corsOrigins: env.CORS_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean),
  });
  const http = createServer(app);
  // Idle connections outlive a proxy's (load balancers keep them 60 s): with Node's 5 s, a client
  // reusing a connection the server is closing at that moment gets a reset instead of an answer.
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const reader = createViewReader({ cfg, redis, pool, keys, storage });
  screen = attachScreenSocket({ http, cfg, redis, redisUrl: stores.redisUrl, keys, auth, reader, log });
  await new Promise<void>((resolve) => http.listen(options.port, options.host ?? '0.0.0.0', resolve));
  const port = (http.address() as AddressInfo).port;

  const jobs = options.jobs === false ? null : startPipelineJobs({ cfg, redis, pool, keys, storage, log, metrics });
  const push = startPushLoop({
    cfg, redis, keys, reader, nsp: screen.nsp, intervalMs: options.pushIntervalMs ?? DEFAULT_PUSH_INTERVAL_MS, log,
    onRead: (readMs) => metrics.pushReadSeconds.observe(readMs / 1000),
    onFrame: (_view, sinceChangeMs) => {
      if (sinceChangeMs !== null) metrics.pushLatencySeconds.observe(sinceChangeMs / 1000);
    },
  });
  metrics.watchScreens(() => screen.nsp.sockets.size);

  const notifiers = buildNotifiers(cfg.notifiers, options.env);
  for (const notifier of notifiers.values()) if (notifier.unavailable) log.info({ notifier: notifier.id }, `notifier off: ${notifier.unavailable}`);
  const dispatcher = options.alerts === false ? null : startDispatcher({
    pool, notifiers, log,
    onDelivery: (d) => metrics.notifications.inc({ notifier: d.notifier, result: d.ok ? 'sent' : d.detail.startsWith('skipped') ? 'skipped' : 'failed' }),
  });
  const queryContext = queryContextOf(cfg, storage);
  const evaluation = options.alerts === false ? null : startEvaluator({
    cfg, redis, pool, keys, log, publicUrl, onAlert: publishAlert, onNotificationsQueued: () => dispatcher?.kick(),
    explain: async (rule, alert) => (await explainAlert(readPool, cfg, queryContext, rule, alert))?.line ?? null,
    onCycle: (report) => metrics.alertCycleSeconds.observe(report.totalMs / 1000),
  });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    http,
    app,
    screen,
    jobs: analytics,
    async close() {
      jobs?.stop();
      ingestKeys.stop();
      await analytics.stop();
      await evaluation?.stop();
      await dispatcher?.stop();
      await push.stop();
      // no new connections; requests in flight (an ingest between its XADD and its 202, a login) get
      // up to 5 s to be answered; the screens' sockets are closed (they reconnect to another server)
      const answered = new Promise<void>((resolve) => http.close(() => resolve()));
      const sweep = setInterval(() => http.closeIdleConnections(), 50); // a keep-alive connection closes once its answer is out
      http.closeIdleConnections();
      await screen.close();
      await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      clearInterval(sweep);
      http.closeAllConnections();
      await Promise.allSettled([redis.quit(), pool.end(), readPool.end()]);
    },
  };
}
