import { Cluster, Redis, type RedisOptions } from 'ioredis';
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
    redisUrl: env.REDIS_CLUSTER_NODES ? clusterUrl(env.REDIS_CLUSTER_NODES) : env.REDIS_URL || DEFAULT_REDIS_URL,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    ...(env.DATABASE_READ_URL && { databaseReadUrl: env.DATABASE_READ_URL }),
    redisPrefix: env.REDIS_PREFIX ?? 'mw:',
    dbSchema: env.DB_SCHEMA || 'marketing',
  };
}

const CLUSTER_SCHEME = 'redis-cluster://';

/** `host:port,host:port` (REDIS_CLUSTER_NODES) as the one URL form every process and test passes on. */
export function clusterUrl(nodes: string): string {
  return `${CLUSTER_SCHEME}${nodes.split(',').map((n) => n.trim()).filter(Boolean).join(',')}`;
}

export const isClusterUrl = (url: string) => url.startsWith(CLUSTER_SCHEME);

/** The Cluster client behind a client createRedis made, or null on a single Redis. */
export const clusterOf = (redis: Redis): Cluster | null => ((redis as unknown as Cluster).isCluster ? (redis as unknown as Cluster) : null);

/** `redis-cluster://[user:password@]host:port,host:port,…`: the seed nodes and the credentials. */
export function parseClusterUrl(url: string): { nodes: Array<{ host: string; port: number }>; username?: string; password?: string } {
  let rest = url.slice(CLUSTER_SCHEME.length).replace(/\/+$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const [user, pass] = rest.slice(0, at).split(':') as [string, string?];
    username = user ? decodeURIComponent(user) : undefined;
    password = pass !== undefined ? decodeURIComponent(pass) : undefined;
    rest = rest.slice(at + 1);
  }
  const nodes = rest.split(',').map((node) => {
    const colon = node.lastIndexOf(':');
    const port = Number(node.slice(colon + 1));
    if (colon < 1 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`REDIS_URL: "${node}" is not host:port`);
    return { host: node.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port }; // [::1]:7000 → ::1
  });
  if (!nodes.length) throw new Error('REDIS_URL: a cluster URL names no node');
  return { nodes, username, password };
}

const CLIENT_OPTIONS = {
  // RESP2 keeps the classic reply shapes (XREADGROUP as [[stream, entries]]) on every Redis version
  protocol: 2,
  // commands fail fast while Redis is away (ingest answers 503) instead of queueing without bound
  maxRetriesPerRequest: 2,
} satisfies RedisOptions;

/**
 * A client for one Redis or, for a `redis-cluster://` URL, ioredis' Cluster client. The app's code
 * is typed against `Redis`: it only uses what both offer (commands, pipelines and MULTI whose keys
 * share one slot, scripts, duplicate), so the cluster client stands in for it.
 */
export function createRedis(url: string, name: string, options: { shardedSubscriber?: boolean } = {}): Redis {
  if (isClusterUrl(url)) {
    const { nodes, username, password } = parseClusterUrl(url);
    const cluster = new Cluster(nodes, {
      redisOptions: { ...CLIENT_OPTIONS, connectionName: name, username, password },
      // a failover moves slots: retry while the cluster elects the replica (cluster-node-timeout), then give up
      clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      slotsRefreshTimeout: 2000,
      shardedSubscribers: options.shardedSubscriber ?? false,
    });
    return cluster as unknown as Redis;
  }
  return new Redis(url, {
    ...CLIENT_OPTIONS,
    connectionName: name,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  });
}

const CHUNKWISE = 'timescaledb.enable_chunkwise_aggregation';

export interface PoolOptions {
  /** connections at most */
  max?: number;
  /** PostgreSQL cancels any statement of this pool that runs longer (for reads a caller shapes) */
  statementTimeoutMs?: number;
  /**
   * connections once opened stay open: a new one costs its first statements 10–17 ms (a backend
   * starting, its catalog caches cold), so a wall view asked for after half a minute of reading
   * took 170 ms instead of 50 when the pool had closed its idle connections
   */
  keepOpen?: boolean;
  /** an idle connection beyond those kept open is closed after this long */
  idleTimeoutMs?: number;
}

export function createPool(url: string, schema: string, { max = 10, statementTimeoutMs, keepOpen = false, idleTimeoutMs = 30_000 }: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    min: keepOpen ? max : 0,
    // no JIT: compiling a plan costs seconds where a misjudged estimate crosses its threshold
    // (a TimescaleDB 30-day query: 3.5 s of compiling, 50 ms of work); these queries are short
    options: `-c search_path="${schema}",public -c jit=off${statementTimeoutMs ? ` -c statement_timeout=${statementTimeoutMs}` : ''}`,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: idleTimeoutMs,
    // TimescaleDB's chunk-wise aggregation gives each chunk a partial aggregate of its own, and the
    // lateral sums of touched hours over the 10 s rollup (queries.ts) planned one per chunk: a
    // region's 30 days took 31–36 ms to execute, 2.3–5.5 ms without. Set only where the setting
    // exists (a loaded TimescaleDB may refuse a name under its prefix it does not know; reading
    // pg_settings instead cost a new connection ~10 ms), before the pool hands the client out.
    onConnect: async (client) => {
      await client.query(`SELECT set_config('${CHUNKWISE}', 'off', false) WHERE current_setting('${CHUNKWISE}', true) IS NOT NULL`);
    },
  });
  // an idle client losing its connection (database restart) must not crash the process
  pool.on('error', () => {});
  return pool;
}
