// Annotations: marketing moments (a campaign launch, a price change, a coupon drop, a store
// closure, an outage) marked on the wall's time charts, with a time or a span, a text and an
// optional scope. Stored in PostgreSQL; a store's annotation carries the store's region, so a
// manager's reads filter on one column.
import type { Pool } from 'pg';
import type { Annotation, AnnotationKind } from '../../stream/types.js';

/** the longest span one annotation marks */
export const MAX_SPAN_MS = 90 * 86_400_000;

export async function migrateAnnotations(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS annotations (
    id bigserial PRIMARY KEY, starts_at timestamptz NOT NULL, ends_at timestamptz, text text NOT NULL, kind text NOT NULL,
    region text, store text, channel text, campaign text, created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE INDEX IF NOT EXISTS annotations_starts ON annotations (starts_at)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS annotations_creator ON annotations (created_by, created_at)`);
}

/** What an author gives: the annotation's text, kind and scope, its times in epoch ms. */
export type AnnotationFields = Pick<Annotation, 'text' | 'kind' | 'region' | 'store' | 'channel' | 'campaign'> & { startsAt: number; endsAt: number | null };

export interface AnnotationFilter {
  from: number;
  to: number;
  /** the regions the reader may see; null: all */
  regions: string[] | null;
  /** a view: its own, its region's (for a store) and the nationwide ones */
  region?: string;
  store?: string;
  channel?: string;
  limit: number;
}

const COLUMNS = `id::text, starts_at, ends_at, text, kind, region, store, channel, campaign, created_by, created_at, updated_at`;

function annotationOf(row: Record<string, unknown>): Annotation {
  const iso = (value: unknown) => (value as Date).toISOString();
  return {
    id: row.id as string, startsAt: iso(row.starts_at), endsAt: row.ends_at ? iso(row.ends_at) : null, text: row.text as string,
    kind: row.kind as AnnotationKind, region: row.region as string | null, store: row.store as string | null,
    channel: row.channel as string | null, campaign: row.campaign as string | null, createdBy: row.created_by as string,
    createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  };
}

/** The annotations overlapping [from, to) that the filter's reader and view see, oldest first. */
export async function listAnnotations(pool: Pool, filter: AnnotationFilter): Promise<Annotation[]> {
  const { rows } = await pool.query(
    `SELECT * FROM (
       SELECT ${COLUMNS} FROM annotations
       WHERE starts_at < $2 AND coalesce(ends_at, starts_at) >= $1
         -- no span is longer than MAX_SPAN_MS: the index range stays bounded however many older ones there are
         AND starts_at >= $1::timestamptz - make_interval(secs => $8::double precision / 1000)
         AND ($3::text[] IS NULL OR region IS NULL OR region = ANY($3::text[]))
         AND ($4::text IS NULL OR region IS NULL OR region = $4)
         AND ($5::text IS NULL OR store IS NULL OR store = $5)
         AND ($6::text IS NULL OR channel IS NULL OR channel = $6)
       ORDER BY starts_at DESC, id DESC LIMIT $7) newest
     ORDER BY starts_at, id`,
    [new Date(filter.from), new Date(filter.to), filter.regions, filter.region ?? null, filter.store ?? null, filter.channel ?? null, filter.limit, MAX_SPAN_MS],
  );
  return rows.map(annotationOf);
}

/** How many annotations `actor` created since `sinceMs` (the creation limit's count). */
export async function countCreatedSince(pool: Pool, actor: string, sinceMs: number): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM annotations WHERE created_by = $1 AND created_at >= $2`, [actor, new Date(sinceMs)]);
  return rows[0].n as number;
}

export async function createAnnotation(pool: Pool, fields: AnnotationFields, actor: string): Promise<Annotation> {
  const { rows } = await pool.query(
    `INSERT INTO annotations (starts_at, ends_at, text, kind, region, store, channel, campaign, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [new Date(fields.startsAt), fields.endsAt === null ? null : new Date(fields.endsAt), fields.text, fields.kind, fields.region, fields.store, fields.channel, fields.campaign, actor],
  );
  return annotationOf(rows[0]);
}

export async function updateAnnotation(pool: Pool, id: string, fields: AnnotationFields): Promise<Annotation | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await pool.query(
    `UPDATE annotations SET starts_at = $2, ends_at = $3, text = $4, kind = $5, region = $6, store = $7, channel = $8, campaign = $9, updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, new Date(fields.startsAt), fields.endsAt === null ? null : new Date(fields.endsAt), fields.text, fields.kind, fields.region, fields.store, fields.channel, fields.campaign],
  );
  return rows[0] ? annotationOf(rows[0]) : null;
}

export async function deleteAnnotation(pool: Pool, id: string): Promise<Annotation | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await pool.query(`DELETE FROM annotations WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
  return rows[0] ? annotationOf(rows[0]) : null;
}
