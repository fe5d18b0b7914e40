// TimescaleDB path: which hours and days of the continuous aggregates an event landed in since
// their last refresh. Each batch marks the hours (and days) it wrote to, in its own
// transaction; queries read those from the 10 s rollup instead of the aggregate; a refresher
// refreshes the aggregate over them and clears the marks its refresh covered. A mark written
// again meanwhile carries a higher version and stays.

import type { Pool } from 'pg';
import { DAY, HOUR } from '../buckets.js';

export const TOUCHED_TABLES = [
  `CREATE SEQUENCE IF NOT EXISTS touched_version`,
  `CREATE TABLE IF NOT EXISTS touched_hours (bucket timestamptz PRIMARY KEY, version bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS touched_days (bucket timestamptz PRIMARY KEY, version bigint NOT NULL)`,
];

// The hour in progress is always marked while events flow, and summing it from the 10 s rollup
// (~18 000 rows an hour at 1 M events a day) cost every 1 h / 1 d query ~20 ms. So each batch
// also adds its sums of the current and the previous hour to `current_hours`, and a query reads
// the hour in progress from there — once the table has been kept since that hour began
// (`current_hours_since`, the first whole hour after the table was made: an hour already under
// way when it was made lacks its earlier events). Older hours are pruned; they are read as before.
// Both ends use the database's clock, so which hours a batch writes and which a query reads agree.

/** The hour in progress, as a bucket; a batch writes its sums of this hour and the one before. */
export const HOUR_NOW = `date_bin('1 hour', now(), 'epoch'::timestamptz)`;

export const CURRENT_HOURS_TABLES = [
  `INSERT INTO pipeline_meta (key, value) VALUES ('current_hours_since', extract(epoch FROM ${HOUR_NOW} + INTERVAL '1 hour')::bigint::text)
   ON CONFLICT (key) DO NOTHING`,
];

/** The rows of `sums10` a batch adds to `current_hours`. */
export const CURRENT_HOURS_WRITTEN = `bucket >= ${HOUR_NOW} - INTERVAL '1 hour'`;

/** Whether an hour bucket is read from `current_hours`: the hour in progress, kept whole since it began. */
export const readFromCurrentHours = (bucket: string) =>
  `coalesce(${bucket} = ${HOUR_NOW} AND ${bucket} >= (SELECT to_timestamp(value::bigint) FROM pipeline_meta WHERE key = 'current_hours_since'), false)`;

/** Drops the hours no batch writes any more (a batch writes the current and the previous hour). */
export const pruneCurrentHours = (pool: Pool) => pool.query(`DELETE FROM current_hours WHERE bucket < ${HOUR_NOW} - INTERVAL '2 hours'`);

/**
 * The batch statement's parts that mark hours and days (CTEs over `sums10`): every bucket the
 * batch wrote to, the current one too (a refresh up to now materializes the bucket in progress,
 * so TimescaleDB's real-time part cannot be trusted with it). The version is drawn after the row
 * lock, so a later writer always leaves a higher one.
 */
export function touchedMarks(dayOrigin: string): string[] {
  const mark = (table: string, bin: (column: string) => string) => `INSERT INTO ${table} (bucket, version)
    SELECT b, nextval('touched_version') FROM (SELECT DISTINCT ${bin('bucket')} AS b FROM sums10) AS touched ORDER BY b
    ON CONFLICT (bucket) DO UPDATE SET version = nextval('touched_version')`;
  return [
    `th AS (${mark('touched_hours', (c) => `date_bin('1 hour', ${c}, 'epoch'::timestamptz)`)})`,
    `td AS (${mark('touched_days', (c) => `date_bin('1 day', ${c}, '${dayOrigin}'::timestamptz)`)})`,
  ];
}

const LEVELS = {
  hours: { table: 'touched_hours', aggregate: 'rollup_1h', spanMs: HOUR },
  days: { table: 'touched_days', aggregate: 'rollup_1d', spanMs: DAY },
} as const;

/**
 * Refreshes the aggregate over the marked buckets that are complete, then clears the marks no
 * one wrote again since they were read. One refresher per level at a time (a session lock:
 * refresh_continuous_aggregate cannot run inside a transaction). Returns the buckets refreshed.
 */
/** each level's refresher holds its lock; a migration takes them all */
export const refreshLockOf = (table: string) => `marketing-wall-${table}`;
export const REFRESH_LOCKS = Object.values(LEVELS).map((l) => refreshLockOf(l.table));

export async function refreshTouched(pool: Pool, level: keyof typeof LEVELS): Promise<number> {
  const { table, aggregate, spanMs } = LEVELS[level];
  const client = await pool.connect();
  try {
    const { rows: [lock] } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [refreshLockOf(table)]);
    if (!lock!.ok) return 0;
    try {
      const { rows } = await client.query<{ bucket: Date; version: string }>(
        `SELECT bucket, version FROM ${table} WHERE bucket + $1::interval <= now() ORDER BY bucket LIMIT 500`,
        [`${spanMs / 1000} seconds`],
      );
      if (!rows.length) return 0;
      // neighbouring buckets refresh together
      let start = rows[0]!.bucket.getTime();
      let end = start + spanMs;
      const refresh = () => client.query(`CALL refresh_continuous_aggregate('${aggregate}', $1::timestamptz, $2::timestamptz)`, [new Date(start).toISOString(), new Date(end).toISOString()]);
      for (const row of rows.slice(1)) {
        const at = row.bucket.getTime();
        if (at === end) end += spanMs;
        else {
          await refresh();
          start = at;
          end = at + spanMs;
        }
      }
      await refresh();
      await client.query(
        `DELETE FROM ${table} t USING unnest($1::timestamptz[], $2::bigint[]) AS r(bucket, version) WHERE t.bucket = r.bucket AND t.version <= r.version`,
        [rows.map((r) => r.bucket.toISOString()), rows.map((r) => r.version)],
      );
      return rows.length;
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [refreshLockOf(table)]);
    }
  } finally {
    client.release();
  }
}
