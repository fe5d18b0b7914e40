// `npm start`: everything on one machine: API + screen, stream processors, the reconciliation
// job and (unless SIMULATE=0) the traffic simulator.
import { parseDurationMs } from '../config/duration.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { storeSettingsFromEnv } from '../stream/connect.js';
import { createLogger } from '../stream/log.js';
import { MissingSecretError, secretFromEnv } from '../stream/secrets.js';
import { ensureLocalStores } from './local-stores.js';
import { superviseProcessors } from './processes.js';
import { startSimulator } from './simulator/run-simulator.js';
import { seedCustomerHistory } from './simulator/customer-history.js';
import { demoHistory, needsHistory, postHistory } from './simulator/backfill.js';
import { newGeneratorState } from './simulator/generator.js';
import { DEFAULT_PUSH_INTERVAL_MS, startServer } from './start-server.js';
import { projectPath } from '../config/project-root.js';

const log = createLogger('server');
const DEMO_KEY = 'demo-key';

function fail(message: string): never {
  process.stderr.write(`\n${message}\n\n`);
  process.exit(1);
}

const demoMode = process.env.NODE_ENV !== 'production';
let cfg;
try {
  cfg = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(`Configuration error: ${err.message}`);
  throw err;
}

const envKeys = (process.env.INGEST_API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
if (!demoMode && !envKeys.length) fail('Production mode needs INGEST_API_KEYS (comma-separated ingest keys).');
if (!demoMode && !cfg.users.some((u) => !u.demo)) fail('Production mode needs users: users.yaml entries without "demo: true", or WALL_USERS (a JSON array of them; hash passwords with npm run hash-password).');
const apiKeys = demoMode ? [...envKeys, DEMO_KEY] : envKeys;
let authSecret: string;
let userIdKey: string;
try {
  authSecret = secretFromEnv('AUTH_SECRET', 'demo-auth-secret');
  userIdKey = secretFromEnv('USER_ID_HASH_KEY', 'demo-user-id-key');
} catch (err) {
  if (err instanceof MissingSecretError) fail(err.message);
  throw err;
}
// the processors this process starts hash userIds with the same key
process.env.USER_ID_HASH_KEY = userIdKey;

let local;
try {
  local = await ensureLocalStores(projectPath('.data'), log);
} catch (err) {
  fail((err as Error).message);
}
const stores = { ...storeSettingsFromEnv(), redisUrl: local.redisUrl, databaseUrl: local.databaseUrl };
const port = Number(process.env.PORT || 8080);
const maxSessionMs = process.env.SESSION_MAX_AGE ? parseDurationMs(process.env.SESSION_MAX_AGE) : null;
if (process.env.SESSION_MAX_AGE && !maxSessionMs) fail(`SESSION_MAX_AGE: "${process.env.SESSION_MAX_AGE}" is not a duration like 30d or 12h.`);
const server = await startServer({
  maxSessionSeconds: maxSessionMs ? maxSessionMs / 1000 : undefined,
  cfg, stores, port, demoMode, authSecret, userIdKey, apiKeys: () => apiKeys, log, screenDir: projectPath('dist/screen'),
  pushIntervalMs: Number(process.env.PUSH_INTERVAL_MS || DEFAULT_PUSH_INTERVAL_MS),
  // JOBS=0: this server runs no scheduled jobs (another one does, or a benchmark measures without them)
  jobs: process.env.JOBS !== '0',
});
const processors = superviseProcessors(Number(process.env.PROCESSORS || 1), stores, log);
const simulatorScale = Number(process.env.SIM_SCALE || 1);
const simulatorState = newGeneratorState(Date.now(), simulatorScale);
// a fresh demo gets yesterday and today so far, so the wall and its comparisons are full at once;
// generated before the live traffic, whose buyers then include the history's journeys under way
const history =
  process.env.SIMULATE !== '0' && process.env.SIM_BACKFILL !== '0' && (await needsHistory(stores).catch(() => false))
    ? demoHistory(cfg, Date.now(), simulatorState, simulatorScale)
    : null;
const simulator =
  process.env.SIMULATE === '0'
    ? null
    : startSimulator({
        cfg, log, ingestUrl: `${server.url}/api/v1/events`, apiKey: apiKeys[0]!, state: simulatorState,
        scale: simulatorScale, anomalyEveryMinutes: Number(process.env.SIM_ANOMALY_MINUTES || 20),
      });
if (history) {
  void postHistory(cfg, stores, `${server.url}/api/v1/events`, apiKeys[0]!, history, log)
    .then(() => seedCustomerHistory(cfg, stores, log))
    // the wall's attribution and segments panels fill now rather than at the first scheduled runs
    .then(() => server.jobs.trigger('attribution', 'startup'))
    .then(() => server.jobs.trigger('segments', 'startup'))
    .catch((err) => log.warn({ err: (err as Error).message }, 'demo backfill failed'));
}

const managers = cfg.users.filter((u) => u.demo && u.role === 'manager').map((u) => u.username).join(', ');
process.stdout.write(`
  营销实时监控大屏 · Marketing operations wall is running (${server.storage}${demoMode ? ', demo mode' : ''})

  Wall screen:  http://localhost:${server.port}/
  API:          http://localhost:${server.port}/api/v1/live   (health: /readyz, metrics: /metrics)
${demoMode ? `  Demo logins:  ops, oncall, admin, ${managers} — password "demo"
  Ingest key:   ${DEMO_KEY}   (X-Api-Key header on POST /api/v1/events)
` : ''}  Simulator:    ${simulator ? 'on (SIMULATE=0 turns it off)' : 'off'}

`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  simulator?.stop();
  await processors.stop();
  await server.close();
  await local!.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
