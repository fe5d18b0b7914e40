// The alerts' state in the database: the alerts themselves (pending, firing and recovering ones are the
// rule instances' state, so a restart resumes where it was), the notification outbox with every
// delivery attempt, and silences.
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../stream/db/transaction.js';
import { OPEN_ALERT_STATES, OPEN_ALERT_STATES_SQL, type AlertSeverity, type AlertState, type ScreenAlert } from '../stream/types.js';
import { MAX_ACTIVE_SILENCES, type Matcher, type Silence } from './silences.js';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS alerts (
     id text PRIMARY KEY, rule_id text NOT NULL, instance text NOT NULL, labels jsonb NOT NULL, region text,
     severity text NOT NULL, state text NOT NULL, active_since timestamptz NOT NULL, fired_at timestamptz, resolved_at timestamptz,
     value double precision, score double precision, summary text NOT NULL, summary_en text NOT NULL,
     last_notified_at timestamptz, acked_by text, acked_at timestamptz, silenced_by text,
     updated_at timestamptz NOT NULL DEFAULT now())`,
  `ALTER TABLE alerts ADD COLUMN IF NOT EXISTS recovering_since timestamptz`,
  // one active alert per rule instance (alerts_active, before recovering, left it out)
  `DROP INDEX IF EXISTS alerts_active`,
  `CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (rule_id, instance) WHERE state IN (${OPEN_ALERT_STATES_SQL})`,
  `CREATE INDEX IF NOT EXISTS alerts_recent ON alerts (updated_at DESC)`,
  `CREATE TABLE IF NOT EXISTS alert_notifications (
     id bigserial PRIMARY KEY, rule_id text NOT NULL, notifier text NOT NULL, status text NOT NULL, alert_ids text[] NOT NULL,
     payload jsonb NOT NULL, delivery text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0,
     next_attempt_at timestamptz NOT NULL DEFAULT now(), claimed_until timestamptz, last_error text,
     created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz)`,
  `CREATE INDEX IF NOT EXISTS alert_notifications_due ON alert_notifications (next_attempt_at) WHERE delivery = 'pending'`,
  `CREATE TABLE IF NOT EXISTS alert_notification_attempts (
     id bigserial PRIMARY KEY, notification_id bigint NOT NULL, notifier text NOT NULL, attempt integer NOT NULL,
     at timestamptz NOT NULL DEFAULT now(), duration_ms integer NOT NULL, ok boolean NOT NULL, detail text NOT NULL)`,
  // rules edited through the API (body null: a file rule deleted)
  `CREATE TABLE IF NOT EXISTS alert_rule_overrides (id text PRIMARY KEY, body jsonb, updated_by text NOT NULL, updated_at timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS silences (
     id text PRIMARY KEY, matchers jsonb NOT NULL, starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL,
     created_by text NOT NULL, comment text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
];

export async function migrateAlerts(pool: Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('marketing-wall-migrate-alerts'))`);
    for (const sql of SCHEMA) await client.query(sql);
  }).catch((err: Error) => {
    throw new Error(`alert tables migration failed: ${err.message}`, { cause: err });
  });
}

export interface AlertRow {
  id: string;
  rule_id: string;
  instance: string;
  labels: Record<string, string>;
  region: string | null;
  severity: AlertSeverity;
  state: AlertState;
  active_since: Date;
  fired_at: Date | null;
  recovering_since: Date | null;
  resolved_at: Date | null;
  value: number | null;
  summary: string;
  summary_en: string;
  last_notified_at: Date | null;
  acked_by: string | null;
  acked_at: Date | null;
  silenced_by: string | null;
  updated_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function alertView(row: AlertRow, at = row.updated_at): ScreenAlert {
  return {
    id: row.id, ruleId: row.rule_id, state: row.state, severity: row.severity, labels: row.labels,
    summary: row.summary, summaryEn: row.summary_en, value: row.value,
    activeSince: row.active_since.toISOString(), firedAt: iso(row.fired_at), recoveringSince: iso(row.recovering_since), resolvedAt: iso(row.resolved_at),
    ackedBy: row.acked_by, ackedAt: iso(row.acked_at), silencedBy: row.silenced_by, at: at.toISOString(),
  };
}

/** The instances' state under the evaluation lock: serializes evaluators, so none double-notifies. */
export async function lockEvaluation(client: PoolClient): Promise<AlertRow[]> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':alert-evaluation'))`);
  const { rows } = await client.query<AlertRow>(`SELECT * FROM alerts WHERE state IN (${OPEN_ALERT_STATES_SQL})`);
  return rows;
}

export async function activeSilences(db: Pool | PoolClient, at: number): Promise<Silence[]> {
  const { rows } = await db.query<{ id: string; matchers: Matcher[]; starts_at: Date; ends_at: Date; created_by: string; comment: string }>(
    `SELECT * FROM silences WHERE ends_at > $1 ORDER BY starts_at`,
    [new Date(at).toISOString()],
  );
  return rows.map((r) => ({ id: r.id, matchers: r.matchers, startsAt: r.starts_at.getTime(), endsAt: r.ends_at.getTime(), createdBy: r.created_by, comment: r.comment }));
}

export interface ListFilter {
  state: 'pending' | 'firing' | 'recovering' | 'resolved' | 'active' | 'all';
  /** a manager's regions: only alerts of these regions */
  regions: string[] | null;
  limit: number;
}

export async function listAlerts(pool: Pool, filter: ListFilter): Promise<ScreenAlert[]> {
  const states = { pending: ['pending'], firing: ['firing'], recovering: ['recovering'], resolved: ['resolved'], active: [...OPEN_ALERT_STATES], all: [...OPEN_ALERT_STATES, 'resolved'] }[filter.state];
  const { rows } = await pool.query<AlertRow>(
    `SELECT * FROM alerts WHERE state = ANY($1::text[]) AND ($2::text[] IS NULL OR region = ANY($2::text[]))
     ORDER BY (state = 'firing') DESC, coalesce(fired_at, active_since) DESC LIMIT $3`,
    [states, filter.regions, filter.limit],
  );
  return rows.map((row) => alertView(row));
}

export async function getAlert(pool: Pool, id: string): Promise<AlertRow | null> {
  const { rows } = await pool.query<AlertRow>(`SELECT * FROM alerts WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** An alert a role may see (null: every region), or null — a nationwide alert is no region's. */
export async function getVisibleAlert(pool: Pool, id: string, regions: string[] | null): Promise<AlertRow | null> {
  const row = await getAlert(pool, id);
  return row && (regions === null || (row.region !== null && regions.includes(row.region))) ? row : null;
}

/** The notifications that named an alert, each with every delivery attempt. */
export async function notificationsOf(pool: Pool, alertId: string): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT n.id, n.notifier, n.status, n.delivery, n.attempts, n.last_error AS "lastError", n.created_at AS "createdAt", n.sent_at AS "sentAt",
            coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'ok', a.ok, 'detail', a.detail, 'durationMs', a.duration_ms) ORDER BY a.id)
                      FROM alert_notification_attempts a WHERE a.notification_id = n.id), '[]') AS attempts_log
     FROM alert_notifications n WHERE $1 = ANY(n.alert_ids) ORDER BY n.id`,
    [alertId],
  );
  return rows;
}

/** Records who acknowledged an active alert; null when it is not active (or already acknowledged: the first ack stands). */
export async function acknowledge(pool: Pool, id: string, by: string): Promise<AlertRow | null> {
  const { rows } = await pool.query<AlertRow>(
    `UPDATE alerts SET acked_by = $2, acked_at = now(), updated_at = now()
     WHERE id = $1 AND state IN (${OPEN_ALERT_STATES_SQL}) AND acked_by IS NULL RETURNING *`,
    [id, by],
  );
  return rows[0] ?? null;
}

export async function createSilence(pool: Pool, silence: Silence): Promise<void> {
  await pool.query(
    `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment) VALUES ($1, $2, $3, $4, $5, $6)`,
    [silence.id, JSON.stringify(silence.matchers), new Date(silence.startsAt).toISOString(), new Date(silence.endsAt).toISOString(), silence.createdBy, silence.comment],
  );
}

export async function listSilences(pool: Pool, includeExpired: boolean): Promise<Array<Silence & { state: 'active' | 'pending' | 'expired' }>> {
  const { rows } = await pool.query<{ id: string; matchers: Matcher[]; starts_at: Date; ends_at: Date; created_by: string; comment: string }>(
    `SELECT * FROM silences WHERE $1 OR ends_at > now() ORDER BY created_at DESC LIMIT ${MAX_ACTIVE_SILENCES}`,
    [includeExpired],
  );
  const now = Date.now();
  return rows.map((r) => {
    const silence = { id: r.id, matchers: r.matchers, startsAt: r.starts_at.getTime(), endsAt: r.ends_at.getTime(), createdBy: r.created_by, comment: r.comment };
    return { ...silence, state: silence.endsAt <= now ? 'expired' : silence.startsAt > now ? 'pending' : 'active' };
  });
}

/** Ends a silence now (Alertmanager's "expire"); false when there is no such silence or it already ended. */
export async function expireSilence(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query(`UPDATE silences SET ends_at = now() WHERE id = $1 AND ends_at > now()`, [id]);
  return rowCount === 1;
}
