import { Redis } from 'ioredis';
import pg from 'pg';

export interface StoreSettings {
  redisUrl: string;
  databaseUrl: string;
  /** a streaming replica for the reads a caller shapes (queries, explain, replay, exports, previews); default: the primary */
  databaseReadUrl?: string;
  /** every Redis key starts with this (tests use one per file) */
  redisPrefix: string;
  /** the PostgreSQL schema holding the tables (tests use one per file) */
  dbSchema: string;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function storeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreSettings {
  return {
    redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    ...(env.DATABASE_READ_URL && { databaseReadUrl: env.DATABASE_READ_URL }),
    redisPrefix: env.REDIS_PREFIX ?? 'mw:',
    dbSchema: env.DB_SCHEMA || 'marketing',
  };
}

export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    // RESP2 keeps the classic reply shapes (XREADGROUP as [[stream, entries]]) on every Redis version
    protocol: 2,
    // commands fail fast while Redis is away (ingest answers 503) instead of queueing without bound
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  });
}

/** `statementTimeoutMs`: PostgreSQL cancels any statement of this pool that runs longer (for reads a caller shapes). */
export function createPool(url: string, schema: string, max = 10, statementTimeoutMs?: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    options: `-c search_path="${schema}",public${statementTimeoutMs ? ` -c statement_timeout=${statementTimeoutMs}` : ''}`,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // an idle client losing its connection (database restart) must not crash the process
  pool.on('error', () => {});
  return pool;
}
