// The audit log: who did what, when, from where — logins (and failed ones), acks, silences, rule
// edits, job runs, exports. Kept in the database for `retention.audit` (the purge job drops older
// rows). Entries never hold passwords or customers' personal data; a failed login for a username
// that does not exist is recorded without it (people type passwords into the username field).
import type { Pool } from 'pg';
import type { Logger } from 'pino';

export const AUDIT_ACTIONS = [
  'login', 'login.failed', 'login.blocked', 'alert.ack', 'silence.create', 'silence.expire',
  'rule.update', 'rule.enable', 'rule.disable', 'rule.delete', 'job.run', 'export', 'ingest-key.create', 'ingest-key.revoke', 'user.sign-out',
  'annotation.create', 'annotation.update', 'annotation.delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  action: AuditAction;
  /** the username, or null when unknown */
  actor: string | null;
  /** what the action was on: an alert id, a rule id, a job name… */
  target?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRow extends Required<Omit<AuditEntry, 'detail'>> {
  id: string;
  at: string;
  detail: Record<string, unknown> | null;
}

export async function migrateAudit(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS audit_log (
    id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), action text NOT NULL, actor text, target text, ip text, detail jsonb)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)`);
}

export function createAuditLog(pool: Pool, log: Logger) {
  return {
    /** records an entry; a failure is logged as an error, never thrown into the request it describes */
    async record(entry: AuditEntry): Promise<void> {
      try {
        await pool.query(`INSERT INTO audit_log (action, actor, target, ip, detail) VALUES ($1, $2, $3, $4, $5)`, [
          entry.action, entry.actor, entry.target ?? null, entry.ip ?? null, entry.detail ? JSON.stringify(entry.detail) : null,
        ]);
      } catch (err) {
        log.error({ err: (err as Error).message, action: entry.action }, 'audit entry not recorded');
      }
    },
    async list(filter: { from?: number; to?: number; action?: string; actor?: string; limit: number }): Promise<AuditRow[]> {
      const { rows } = await pool.query(
        `SELECT id::text, at, action, actor, target, ip, detail FROM audit_log
         WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
           AND ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR actor = $4)
         ORDER BY at DESC, id DESC LIMIT $5`,
        [filter.from ? new Date(filter.from) : null, filter.to ? new Date(filter.to) : null, filter.action ?? null, filter.actor ?? null, filter.limit],
      );
      return rows.map((r) => ({ ...r, at: (r.at as Date).toISOString() }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
