import type { Pool, PoolClient } from 'pg';
import { DAY, HOUR, floorTo } from '../buckets.js';
import { rollupRows, type RollupRow } from '../aggregate.js';
import type { MarketingEvent } from '../types.js';
import type { Storage } from './migrate.js';
import { unitsToDecimal } from './money.js';

export interface StreamedEvent {
  event: MarketingEvent;
  entryId: string;
}

export interface SinkResult {
  /** events this batch stored for the first time */
  inserted: number;
  /** ids whose hot-bucket increments belong to their entry: new now, or brought by the same entry before a crash */
  countedIds: Set<string>;
}

export interface SinkOptions {
  storage: Storage;
  valueDecimals: number;
  dayOffsetMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Writes a batch in one transaction: the id ledger decides which events are new, only those
 * go to the raw table and the rollups. Redelivering the same batch changes nothing.
 */
export async function writeBatch(pool: Pool, batch: StreamedEvent[], options: SinkOptions): Promise<SinkResult> {
  if (!batch.length) return { inserted: 0, countedIds: new Set() };
  const sorted = [...batch].sort((a, b) => (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const newIds = await claimIds(client, sorted);
    const countedIds = new Set(newIds);
    if (newIds.size < sorted.length) {
      for (const id of await idsBroughtBySameEntry(client, sorted.filter((s) => !newIds.has(s.event.id)))) countedIds.add(id);
    }
    const fresh = sorted.filter((s) => newIds.has(s.event.id)).map((s) => s.event);
    if (fresh.length) {
      await insertRawEvents(client, fresh, options.valueDecimals);
      const rows = rollupRows(fresh, 10 ** options.valueDecimals);
      await upsertRollups(client, 'rollup_10s', rows, options.valueDecimals);
      if (options.storage === 'postgres') {
        // on TimescaleDB continuous aggregates keep these; on plain PostgreSQL the same transaction does
        await upsertRollups(client, 'rollup_1h', coarsen(rows, HOUR, 0), options.valueDecimals);
        await upsertRollups(client, 'rollup_1d', coarsen(rows, DAY, options.dayOffsetMs), options.valueDecimals);
      }
    }
    await client.query('COMMIT');
    return { inserted: fresh.length, countedIds };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function claimIds(client: PoolClient, sorted: StreamedEvent[]): Promise<Set<string>> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO event_ids (id, ts, stream_id)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[]) ORDER BY 1
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [sorted.map((s) => s.event.id), sorted.map((s) => iso(s.event.ts)), sorted.map((s) => s.entryId)],
  );
  return new Set(rows.map((r) => r.id));
}

async function idsBroughtBySameEntry(client: PoolClient, known: StreamedEvent[]): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT e.id FROM event_ids e JOIN unnest($1::text[], $2::text[]) AS k(id, stream_id)
       ON e.id = k.id AND e.stream_id = k.stream_id`,
    [known.map((s) => s.event.id), known.map((s) => s.entryId)],
  );
  return rows.map((r) => r.id);
}

async function insertRawEvents(client: PoolClient, events: MarketingEvent[], decimals: number): Promise<void> {
  const scale = 10 ** decimals;
  await client.query(
    `INSERT INTO events (ts, id, type, channel, region, store, campaign, user_id, count, value)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::numeric[])`,
    [
      events.map((e) => iso(e.ts)),
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => e.channel),
      events.map((e) => e.region ?? null),
      events.map((e) => e.store ?? null),
      events.map((e) => e.campaign ?? null),
      events.map((e) => e.userId ?? null),
      events.map((e) => e.count),
      events.map((e) => unitsToDecimal(Math.round(e.value * scale), decimals)),
    ],
  );
}

/** Re-buckets 10 s rollup rows to a coarser step (rows stay sorted by their new key). */
function coarsen(rows: RollupRow[], stepMs: number, dayOffsetMs: number): RollupRow[] {
  const merged = new Map<string, RollupRow>();
  for (const row of rows) {
    const bucket = floorTo(row.bucket, stepMs, dayOffsetMs);
    const key = `${bucket}\u0000${row.channel}\u0000${row.region}\u0000${row.store}\u0000${row.campaign}`;
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, { ...row, bucket, sums: { ...row.sums } });
      continue;
    }
    for (const field of Object.keys(row.sums) as Array<keyof RollupRow['sums']>) existing.sums[field] += row.sums[field];
  }
  return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

async function upsertRollups(client: PoolClient, table: string, rows: RollupRow[], decimals: number): Promise<void> {
  if (!rows.length) return;
  await client.query(
    `INSERT INTO ${table} (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend, updated_at)
     SELECT b, ch, r, s, c, e, k, v, cv, rv, sp, now()
     FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
                 $9::bigint[], $10::numeric[], $11::numeric[]) AS t(b, ch, r, s, c, e, k, v, cv, rv, sp)
     ON CONFLICT (bucket, channel, region, store, campaign) DO UPDATE SET
       exposure = ${table}.exposure + EXCLUDED.exposure, clicks = ${table}.clicks + EXCLUDED.clicks,
       visits = ${table}.visits + EXCLUDED.visits, conversions = ${table}.conversions + EXCLUDED.conversions,
       revenue = ${table}.revenue + EXCLUDED.revenue, spend = ${table}.spend + EXCLUDED.spend, updated_at = now()`,
    [
      rows.map((r) => iso(r.bucket)),
      rows.map((r) => r.channel),
      rows.map((r) => r.region),
      rows.map((r) => r.store),
      rows.map((r) => r.campaign),
      rows.map((r) => r.sums.exposure),
      rows.map((r) => r.sums.clicks),
      rows.map((r) => r.sums.visits),
      rows.map((r) => r.sums.conversions),
      rows.map((r) => unitsToDecimal(r.sums.revenue, decimals)),
      rows.map((r) => unitsToDecimal(r.sums.spend, decimals)),
    ],
  );
}
