import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { DAY } from '../buckets.js';
import type { Storage } from './migrate.js';
import { NARROW_ROLLUPS } from './narrow-rollups.js';
import { OPEN_ALERT_STATES_SQL } from '../types.js';

const DELETE_BATCH = 50_000;

/** Deletes the rows matching `condition` ($1 is `cutoff`) in small batches: short locks while the processors write. */
async function deleteWhere(pool: Pool, table: string, condition: string, cutoff: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${condition} LIMIT ${DELETE_BATCH})`, [cutoff]);
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < DELETE_BATCH) return total;
  }
}

const deleteOlderThan = (pool: Pool, table: string, column: string, cutoff: Date) => deleteWhere(pool, table, `${column} < $1`, cutoff);

/**
 * Drops what is past its retention. The id ledger is kept for twice the lateness: a duplicate can
 * only arrive while its event is within the lateness, so older ids can never match again. On
 * TimescaleDB the other tables have retention policies; on plain PostgreSQL this does their work.
 * The audit log, finished alerts and old annotations are purged here on both.
 */
export async function purgeExpired(pool: Pool, cfg: AppConfig, storage: Storage, now = Date.now()): Promise<Record<string, number>> {
  const { retention, events } = cfg.pipeline;
  const deleted: Record<string, number> = {};
  deleted.event_ids = await deleteOlderThan(pool, 'event_ids', 'ts', new Date(now - 2 * events.lateness));
  if (storage === 'postgres') {
    deleted.events = await deleteOlderThan(pool, 'events', 'ts', new Date(now - retention.rawEvents));
    deleted.rollup_10s = await deleteOlderThan(pool, 'rollup_10s', 'bucket', new Date(now - retention.rollup10s));
    deleted.rollup_1h = await deleteOlderThan(pool, 'rollup_1h', 'bucket', new Date(now - retention.rollup1h));
    deleted.rollup_1d = await deleteOlderThan(pool, 'rollup_1d', 'bucket', new Date(now - retention.rollup1d));
  }
  // the narrow rollups live as long as the full ones they stand beside, on both paths
  const kept = { minute: retention.rollup10s, hour: retention.rollup1h, day: retention.rollup1d };
  for (const { table, level } of NARROW_ROLLUPS) deleted[table] = await deleteOlderThan(pool, table, 'bucket', new Date(now - kept[level]));
  // unique-user sketches live as long as the rollups beside them, on both paths
  deleted.user_sketches = await deleteWhere(pool, 'user_sketches', `step = '1h' AND bucket < $1`, new Date(now - retention.rollup1h))
    + await deleteWhere(pool, 'user_sketches', `step = '1d' AND bucket < $1`, new Date(now - retention.rollup1d));
  deleted.new_users_hourly = await deleteOlderThan(pool, 'new_users_hourly', 'bucket', new Date(now - retention.rollup1h));
  deleted.new_users_daily = await deleteOlderThan(pool, 'new_users_daily', 'bucket', new Date(now - retention.rollup1d));
  // last_ts moves once a day at most: a day's margin, so no customer is forgotten early
  deleted.first_seen = await deleteOlderThan(pool, 'first_seen', 'last_ts', new Date(now - retention.customers - DAY));
  deleted.audit_log = await deleteOlderThan(pool, 'audit_log', 'at', new Date(now - retention.audit));
  // alerts: only what is over (an alert still pending, firing or recovering, a notification still to deliver, stays)
  const alertsCutoff = new Date(now - retention.alerts);
  deleted.alerts = await deleteWhere(pool, 'alerts', `state NOT IN (${OPEN_ALERT_STATES_SQL}) AND updated_at < $1`, alertsCutoff);
  deleted.alert_notifications = await deleteWhere(pool, 'alert_notifications', `delivery <> 'pending' AND created_at < $1`, alertsCutoff);
  deleted.alert_notification_attempts = await deleteOlderThan(pool, 'alert_notification_attempts', 'at', alertsCutoff);
  deleted.silences = await deleteOlderThan(pool, 'silences', 'ends_at', alertsCutoff);
  // annotations mark charts: once over for longer than the daily rollups keep, there is nothing left to mark
  deleted.annotations = await deleteWhere(pool, 'annotations', 'coalesce(ends_at, starts_at) < $1', new Date(now - retention.rollup1d));
  return deleted;
}
