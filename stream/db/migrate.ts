import type { Pool, PoolClient } from 'pg';
import { NARROW_ROLLUPS, backfillNarrowRollups, narrowRollupTable } from './narrow-rollups.js';
import { DIMS, MEASURES, MONEY, TEXT } from './columns.js';
import { FIRST_SEEN_BACKFILL, FIRST_SEEN_TABLES, NEW_USER_COUNTS_GRAIN, newUsersBackfill } from './first-seen.js';
import { sourceRows } from './queries.js';
import { inTransaction } from './transaction.js';
import { CURRENT_HOURS_TABLES, REFRESH_LOCKS, TOUCHED_TABLES } from './touched.js';
import { COMPACTION_LOCK, USER_SKETCH_TABLES, backfillSketches } from './user-sketches.js';
import type { AppConfig } from '../../config/load.js';

export type Storage = 'timescaledb' | 'postgres';

const interval = (ms: number) => `INTERVAL '${Math.round(ms / 1000)} seconds'`;
const SUMS_SQL = `sum(exposure)::bigint AS exposure, sum(clicks)::bigint AS clicks, sum(visits)::bigint AS visits,
  sum(conversions)::bigint AS conversions, sum(revenue) AS revenue, sum(spend) AS spend`;

const rollupTable = (name: string) => `CREATE TABLE IF NOT EXISTS ${name} (
  bucket timestamptz NOT NULL, ${DIMS}, ${MEASURES}, updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bucket, channel, region, store, campaign))`;

/** Tables both storage paths share. */
const CORE = [
  `CREATE TABLE IF NOT EXISTS pipeline_meta (key text PRIMARY KEY, value text NOT NULL)`,
  // the de-duplication ledger: which stream entry first brought each event id
  `CREATE TABLE IF NOT EXISTS event_ids (id ${TEXT} PRIMARY KEY, ts timestamptz NOT NULL, stream_id ${TEXT} NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS event_ids_ts ON event_ids USING brin (ts)`,
  `CREATE TABLE IF NOT EXISTS events (
     ts timestamptz NOT NULL, id ${TEXT} NOT NULL, type ${TEXT} NOT NULL, channel ${TEXT} NOT NULL,
     region ${TEXT}, store ${TEXT}, campaign ${TEXT}, user_id ${TEXT}, count integer NOT NULL, value numeric(20,4) NOT NULL)`,
  rollupTable('rollup_10s'),
];

function timescaleSteps(cfg: AppConfig): string[] {
  const { lateness } = cfg.pipeline.events;
  const { rawEvents, rollup10s, rollup1h, rollup1d } = cfg.pipeline.retention;
  const compressAfter = interval(lateness + 86_400_000);
  const dayOffset = interval(-cfg.dayOffsetMs);
  return [
    `SELECT create_hypertable('events', 'ts', chunk_time_interval => INTERVAL '1 day', if_not_exists => true)`,
    `SELECT create_hypertable('rollup_10s', 'bucket', chunk_time_interval => INTERVAL '1 day', if_not_exists => true)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
       SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, channel, region, store, campaign, ${SUMS_SQL}
       FROM rollup_10s GROUP BY 1, 2, 3, 4, 5 WITH NO DATA`,
    // from the 10 s rollup, not from rollup_1h: a hierarchical aggregate must keep its parent's bucket
    // offset, and days start at local midnight
    `CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_1d WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
       SELECT time_bucket(INTERVAL '1 day', bucket, ${dayOffset}) AS bucket, channel, region, store, campaign, ${SUMS_SQL}
       FROM rollup_10s GROUP BY 1, 2, 3, 4, 5 WITH NO DATA`,
    // late events (up to the lateness) change past buckets: keep refreshing that far back
    `SELECT add_continuous_aggregate_policy('rollup_1h', start_offset => ${interval(lateness + 7_200_000)}, end_offset => NULL,
       schedule_interval => INTERVAL '1 minute', if_not_exists => true)`,
    `SELECT add_continuous_aggregate_policy('rollup_1d', start_offset => ${interval(lateness + 2 * 86_400_000)}, end_offset => NULL,
       schedule_interval => INTERVAL '5 minutes', if_not_exists => true)`,
    `ALTER TABLE events SET (timescaledb.compress, timescaledb.compress_segmentby = 'channel', timescaledb.compress_orderby = 'ts')`,
    `ALTER TABLE rollup_10s SET (timescaledb.compress, timescaledb.compress_segmentby = 'channel', timescaledb.compress_orderby = 'bucket')`,
    `SELECT add_compression_policy('events', ${compressAfter}, if_not_exists => true)`,
    `SELECT add_compression_policy('rollup_10s', ${compressAfter}, if_not_exists => true)`,
    `SELECT add_retention_policy('events', ${interval(rawEvents)}, if_not_exists => true)`,
    `SELECT add_retention_policy('rollup_10s', ${interval(rollup10s)}, if_not_exists => true)`,
    `SELECT add_retention_policy('rollup_1h', ${interval(rollup1h)}, if_not_exists => true)`,
    `SELECT add_retention_policy('rollup_1d', ${interval(rollup1d)}, if_not_exists => true)`,
  ];
}

const POSTGRES_STEPS = [
  // events arrive roughly in time order: a BRIN index finds time ranges at a fraction of a btree's write cost
  `CREATE INDEX IF NOT EXISTS events_ts ON events USING brin (ts) WITH (pages_per_range = 32)`,
  `CREATE INDEX IF NOT EXISTS rollup_10s_updated ON rollup_10s USING brin (updated_at)`,
  rollupTable('rollup_1h'),
  rollupTable('rollup_1d'),
];

/** the tables of the plain PostgreSQL path that hold money sums */
const MONEY_TABLES = ['rollup_10s', 'rollup_1h', 'rollup_1d', ...NARROW_ROLLUPS.map(({ table }) => table)];

/** Schemas made before money was widened: numeric(24,4) → numeric(38,4), in place (no rewrite for a wider precision). */
async function widenMoney(client: PoolClient, schema: string): Promise<void> {
  const { rows } = await client.query<{ table_name: string }>(
    `SELECT DISTINCT table_name FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = ANY($2) AND column_name IN ('revenue', 'spend') AND numeric_precision < 38`,
    [schema, MONEY_TABLES],
  );
  for (const { table_name: table } of rows) {
    await client.query(`ALTER TABLE ${table} ALTER COLUMN revenue TYPE ${MONEY}, ALTER COLUMN spend TYPE ${MONEY}`);
  }
}

async function timescaleAvailable(client: PoolClient): Promise<boolean> {
  if (process.env.STORAGE === 'postgres') return false;
  const { rows } = await client.query<{ installed: boolean; preloaded: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS installed,
            current_setting('shared_preload_libraries') ~ '(^|[\s,])timescaledb([\s,]|$)' AS preloaded`,
  );
  // installed but not preloaded: CREATE EXTENSION would end the connection (FATAL), so don't try
  if (!rows[0]!.installed || !rows[0]!.preloaded) return false;
  try {
    await client.query('SAVEPOINT ts_ext');
    // in public, beside every schema's search path: made in the first app schema it would be
    // missing from the others' paths, and dropping that schema would drop it with their hypertables
    await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public');
    await client.query('RELEASE SAVEPOINT ts_ext');
    return true;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT ts_ext');
    return false;
  }
}

/**
 * Creates the schema (and the tables in it) if missing. Safe to run again and from several
 * processes at once: it runs in one transaction under an advisory lock. The storage path is
 * chosen once, when the schema is first created, and recorded in pipeline_meta.
 */
export async function migrate(pool: Pool, cfg: AppConfig, schema: string): Promise<Storage> {
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('marketing-wall-migrate'))`);
    // the processors' sketch compaction and aggregate refreshes lock rows of the tables this may
    // index or alter: running beside it they deadlocked (seen in CI); they skip while it holds these
    for (const key of [COMPACTION_LOCK, ...REFRESH_LOCKS]) await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [key]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET LOCAL search_path TO "${schema}", public`);
    for (const sql of CORE) await client.query(sql);
    const exists = async (table: string) =>
      (await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`"${schema}".${table}`])).rows[0].present as boolean;
    const hadFirstSeen = await exists('first_seen');
    const hadNewUserCounts = await exists('new_users_daily');
    for (const sql of FIRST_SEEN_TABLES) await client.query(sql);
    if (!hadFirstSeen) await client.query(FIRST_SEEN_BACKFILL);
    // counts made before they were kept at their current grain are counted again from the ledger
    const grain = hadNewUserCounts ? (await client.query(`SELECT value FROM pipeline_meta WHERE key = 'new_user_counts'`)).rows[0]?.value : undefined;
    if (grain !== NEW_USER_COUNTS_GRAIN) {
      await client.query('TRUNCATE new_users_hourly, new_users_daily');
      for (const sql of newUsersBackfill(new Date(-cfg.dayOffsetMs).toISOString())) await client.query(sql);
      await client.query(`INSERT INTO pipeline_meta (key, value) VALUES ('new_user_counts', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [NEW_USER_COUNTS_GRAIN]);
    }
    const hadSketches = await exists('user_sketches');
    for (const sql of USER_SKETCH_TABLES) await client.query(sql);
    if (!hadSketches) await backfillSketches(client);
    const recorded = await client.query(`SELECT value FROM pipeline_meta WHERE key = 'storage'`);
    let storage = recorded.rows[0]?.value as Storage | undefined;
    if (!storage) {
      storage = (await timescaleAvailable(client)) ? 'timescaledb' : 'postgres';
      for (const sql of storage === 'timescaledb' ? timescaleSteps(cfg) : POSTGRES_STEPS) await client.query(sql);
      await client.query(`INSERT INTO pipeline_meta (key, value) VALUES ('storage', $1)`, [storage]);
    }
    if (storage === 'postgres') await widenMoney(client, schema);
    else for (const sql of [...TOUCHED_TABLES, rollupTable('current_hours'), ...CURRENT_HOURS_TABLES]) await client.query(sql);
    // narrow rollups a schema lacks (made before them) are filled from the full ones
    const missing: typeof NARROW_ROLLUPS = [];
    for (const rollup of NARROW_ROLLUPS) if (!(await exists(rollup.table))) missing.push(rollup);
    for (const rollup of NARROW_ROLLUPS) await client.query(narrowRollupTable(rollup));
    if (missing.length) await backfillNarrowRollups(client, new Date(-cfg.dayOffsetMs).toISOString(), missing, { hour: sourceRows('1h', storage), day: sourceRows('1d', storage) });
    return storage;
  }).catch((err: Error) => {
    throw new Error(`database migration failed: ${err.message}`, { cause: err });
  });
}
