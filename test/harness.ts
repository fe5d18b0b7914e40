// Shared test harness: each test file gets its own Redis key prefix and PostgreSQL schema,
// talks to the real Redis and PostgreSQL of the machine, and cleans up after itself.
import type { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig, type AppConfig } from '../config/load.js';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, clusterOf, createRedis, type StoreSettings } from '../stream/connect.js';
import { keysOfStores, streamBacklog, type RedisKeys } from '../stream/redis-keys.js';
import { createLogger } from '../stream/log.js';
import { runProcessor, type RunningProcessor } from '../stream/run-processor.js';
import { startServer, type RunningServer } from '../server/start-server.js';

export const API_KEY = 'test-key';
export const AUTH_SECRET = 'test-secret-test-secret-test-secret-0123';
export const USER_ID_KEY = 'test-user-id-key-test-user-id-key-0123';

export function testStores(name: string): StoreSettings {
  const unique = `${name}_${process.pid}_${Date.now().toString(36)}`;
  return {
    redisUrl: process.env.REDIS_URL || DEFAULT_REDIS_URL,
    databaseUrl: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
    redisPrefix: `t:${unique}:`,
    dbSchema: `t_${unique}`.toLowerCase(),
  };
}

export function testConfig(adjust?: (cfg: AppConfig) => void): AppConfig {
  const cfg = loadConfig();
  adjust?.(cfg);
  return cfg;
}

export interface TestApp {
  cfg: AppConfig;
  stores: StoreSettings;
  server: RunningServer;
  /** a client of the test's Redis (ioredis' Cluster client when REDIS_URL names a cluster) */
  redis: Redis;
  /** the app's Redis keys (its stream partitions among them) */
  keys: RedisKeys;
  db: pg.Pool;
  processor: RunningProcessor | null;
  startProcessor(name?: string): Promise<RunningProcessor>;
  token(username?: string): Promise<string>;
  post(events: unknown, init?: { contentType?: string; apiKey?: string | null; raw?: string }): Promise<Response>;
  get(path: string, username?: string): Promise<Response>;
  /** waits until the stream holds no unprocessed entries */
  drained(timeoutMs?: number): Promise<void>;
  /** entries in the stream over every partition (processed ones are deleted) */
  streamLength(): Promise<number>;
  /** entries a consumer holds unacknowledged, over every partition */
  pendingOf(consumer: string): Promise<number>;
  close(): Promise<void>;
}

export async function startTestApp(name: string, options: { cfg?: AppConfig; processor?: boolean; databaseUrl?: string; databaseReadUrl?: string; redisUrl?: string; pushIntervalMs?: number; screenDir?: string; alerts?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<TestApp> {
  const cfg = options.cfg ?? testConfig();
  const stores = {
    ...testStores(name), ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}), ...(options.databaseReadUrl ? { databaseReadUrl: options.databaseReadUrl } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  };
  const log = createLogger(name);
  const server = await startServer({ cfg, stores, port: 0, host: '127.0.0.1', demoMode: true, authSecret: AUTH_SECRET, userIdKey: USER_ID_KEY, apiKeys: () => [API_KEY], log, jobs: false, pushIntervalMs: options.pushIntervalMs, screenDir: options.screenDir, alerts: options.alerts ?? false, env: options.env });
  const redis = createRedis(stores.redisUrl, `test-${name}`);
  redis.on('error', () => {}); // a test may stop its Redis on purpose
  const keys = keysOfStores(stores, cfg.pipeline);
  const db = new pg.Pool({ connectionString: stores.databaseUrl, options: `-c search_path="${stores.dbSchema}",public`, max: 3 });
  db.on('error', () => {}); // an idle client losing its connection (a test restarting the database) is not an error of the test
  const tokens = new Map<string, string>();

  const app: TestApp = {
    cfg, stores, server, redis, keys, db, processor: null,
    async startProcessor(consumer = `${name}-proc`) {
      app.processor = await runProcessor(cfg, stores, log, USER_ID_KEY, consumer);
      return app.processor;
    },
    async token(username = 'ops') {
      if (!tokens.has(username)) {
        const response = await fetch(`${server.url}/api/v1/auth/login`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'demo' }),
        });
        if (response.status !== 200) throw new Error(`login ${username}: ${response.status}`);
        tokens.set(username, ((await response.json()) as { token: string }).token);
      }
      return tokens.get(username)!;
    },
    post(events, init = {}) {
      const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/json' };
      if (init.apiKey !== null) headers['x-api-key'] = init.apiKey ?? API_KEY;
      return fetch(`${server.url}/api/v1/events`, { method: 'POST', headers, body: init.raw ?? JSON.stringify(events) });
    },
    async get(path, username = 'ops') {
      return fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${await app.token(username)}` } });
    },
    async drained(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const [length, pending] = await Promise.all([
          app.streamLength(),
          Promise.all(keys.partitions.map((p) => redis.xpending(p.stream, keys.group) as Promise<[number]>)),
        ]);
        if (length === 0 && pending.every((summary) => Number(summary[0]) === 0)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the stream was not drained in time');
    },
    streamLength: () => streamBacklog(redis, keys),
    async pendingOf(consumer) {
      const lists = await Promise.all(keys.partitions.map((p) => redis.xpending(p.stream, keys.group, '-', '+', 1000, consumer) as Promise<unknown[]>));
      return lists.reduce((n, list) => n + list.length, 0);
    },
    async close() {
      await app.processor?.stop();
      await server.close();
      await db.query(`DROP SCHEMA IF EXISTS "${stores.dbSchema}" CASCADE`).catch(() => {});
      await db.end();
      await deleteKeys(redis, stores.redisPrefix);
      redis.disconnect();
    },
  };
  if (options.processor !== false) await app.startProcessor();
  return app;
}

const nodesOf = (redis: Redis): Redis[] => clusterOf(redis)?.nodes('master') ?? [redis];

async function scanNode(node: Redis, pattern: string, each: (keys: string[]) => Promise<unknown>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await each(keys);
  } while (cursor !== '0');
}

/** Every key matching a pattern, from every master of a cluster (or the one Redis). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of nodesOf(redis)) await scanNode(node, pattern, async (keys) => found.push(...keys));
  return found;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const cluster = clusterOf(redis) !== null;
  for (const node of nodesOf(redis)) {
    // on a cluster node the keys of one scan sit in different slots: one UNLINK each, pipelined
    await scanNode(node, `${prefix}*`, (keys) => (cluster ? keys.reduce((p, key) => p.unlink(key), node.pipeline()).exec() : node.unlink(...keys)));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
