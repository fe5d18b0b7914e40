// Ingest API keys that admins create and revoke at run time (no restart): only a SHA-256 of each
// key is stored; every server keeps the active hashes in memory, refreshed every few seconds
// (at once on the server that made the change). Keys from INGEST_API_KEYS stay valid too.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';

const REFRESH_MS = 5_000;
export const KEY_PREFIX = 'mwk_';

export interface IngestKeyView {
  id: string;
  name: string;
  /** the key's first characters, to tell keys apart */
  hint: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

export async function migrateIngestKeys(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ingest_keys (
    id bigserial PRIMARY KEY, name text NOT NULL, hint text NOT NULL, key_hash text NOT NULL UNIQUE,
    created_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), revoked_at timestamptz)`);
}

export function createIngestKeys(pool: Pool, envKeys: () => string[], log: Logger) {
  let active = new Set<string>();
  const refresh = async () => {
    try {
      const { rows } = await pool.query<{ key_hash: string }>(`SELECT key_hash FROM ingest_keys WHERE revoked_at IS NULL`);
      active = new Set(rows.map((r) => r.key_hash));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'ingest keys not refreshed; keeping the last known ones');
    }
  };
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  timer.unref();

  return {
    ready: refresh(),
    /** whether `given` is a current key (constant time for the configured ones; a hash lookup for the created ones) */
    accepts(given: string): boolean {
      const a = Buffer.from(given);
      let match = false;
      for (const key of envKeys()) {
        const b = Buffer.from(key);
        if (a.length === b.length && timingSafeEqual(a, b)) match = true;
      }
      return match || active.has(hashOf(given));
    },
    async create(name: string, createdBy: string): Promise<{ key: string; view: IngestKeyView }> {
      const key = KEY_PREFIX + randomBytes(24).toString('base64url');
      const { rows } = await pool.query(
        `INSERT INTO ingest_keys (name, hint, key_hash, created_by) VALUES ($1, $2, $3, $4) RETURNING *`,
        [name, key.slice(0, KEY_PREFIX.length + 4), hashOf(key), createdBy],
      );
      await refresh();
      return { key, view: viewOf(rows[0]) };
    },
    async revoke(id: string): Promise<IngestKeyView | null> {
      const { rows } = await pool.query(`UPDATE ingest_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *`, [id]);
      await refresh();
      return rows[0] ? viewOf(rows[0]) : null;
    },
    async list(): Promise<IngestKeyView[]> {
      const { rows } = await pool.query(`SELECT * FROM ingest_keys ORDER BY created_at DESC, id DESC`);
      return rows.map(viewOf);
    },
    stop: () => clearInterval(timer),
  };
}

function viewOf(row: Record<string, unknown>): IngestKeyView {
  return {
    id: String(row.id), name: String(row.name), hint: `${String(row.hint)}…`, createdBy: String(row.created_by),
    createdAt: (row.created_at as Date).toISOString(), revokedAt: row.revoked_at ? (row.revoked_at as Date).toISOString() : null,
  };
}

export type IngestKeys = ReturnType<typeof createIngestKeys>;
