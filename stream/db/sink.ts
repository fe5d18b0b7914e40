import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MarketingEvent } from '../types.js';
import { narrowRollupWrites } from './narrow-rollups.js';
import { SUMMED, SUM_COLUMNS, addSums } from './columns.js';
import { CopyWriter } from './copy-text.js';
import type { Storage } from './migrate.js';
import { firstSeenAnswer, firstSeenUpsert, firstSeenCandidates, firstSeenParams, type KnownCustomers } from './first-seen.js';
import { inTransaction } from './transaction.js';
import { CURRENT_HOURS_WRITTEN, touchedMarks } from './touched.js';
import { sketchDeltas, writeSketchDeltas, type KnownSketches } from './user-sketches.js';

export interface StreamedEvent {
  event: MarketingEvent;
  entryId: string;
}

export interface SinkResult {
  /** events this batch stored for the first time */
  inserted: number;
  /** ids whose hot-bucket increments belong to their entry: new now, or brought by the same entry before a crash
   *  ('all': every event of the batch, as usual — no set of tens of thousands of ids to build) */
  countedIds: Set<string> | 'all';
}

export interface SinkOptions {
  storage: Storage;
  valueDecimals: number;
  dayOffsetMs: number;
  /** this process's knowledge of the first-seen ledger, so returning customers cost no write */
  known: KnownCustomers;
  /** this process's knowledge of the unique-user sketches, so a returning customer costs no write */
  sketches: KnownSketches;
}

// one per connection; emptied at every commit
const INCOMING_TABLE = `CREATE TEMP TABLE IF NOT EXISTS incoming (
  stream_id text COLLATE "C" NOT NULL, ts_ms bigint NOT NULL, id text COLLATE "C" NOT NULL, type text COLLATE "C" NOT NULL,
  channel text COLLATE "C" NOT NULL, region text COLLATE "C", store text COLLATE "C", campaign text COLLATE "C",
  user_id text COLLATE "C", count integer NOT NULL, value numeric(20,4) NOT NULL
) ON COMMIT DELETE ROWS`;

/** The fresh rows summed per 10 s bucket and dimensions, once; every rollup level is built from it. */
const AGGREGATE_10S = `SELECT date_bin('10 seconds', ts, 'epoch'::timestamptz) AS bucket, channel,
    coalesce(region, '') AS region, coalesce(store, '') AS store, coalesce(campaign, '') AS campaign,
    coalesce(sum(count) FILTER (WHERE type = 'exposure'), 0) AS exposure, coalesce(sum(count) FILTER (WHERE type = 'click'), 0) AS clicks,
    coalesce(sum(count) FILTER (WHERE type = 'visit'), 0) AS visits, coalesce(sum(count) FILTER (WHERE type = 'conversion'), 0) AS conversions,
    coalesce(sum(value) FILTER (WHERE type = 'conversion'), 0) AS revenue, coalesce(sum(value) FILTER (WHERE type = 'spend'), 0) AS spend
  FROM stored GROUP BY 1, 2, 3, 4, 5`;

/** An upsert of one rollup level from the 10 s sums (ordered, so concurrent batches lock alike). */
const rollupUpsert = (table: string, bucket: string, where = 'true') => `INSERT INTO ${table}
    (bucket, channel, region, store, campaign, ${SUM_COLUMNS}, updated_at)
  SELECT ${bucket}, channel, region, store, campaign, ${SUMMED}, now()
  FROM sums10 WHERE ${where} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (bucket, channel, region, store, campaign) DO UPDATE SET ${addSums(table)}, updated_at = now()`;

/** an incoming row's time: sent as epoch ms, which PostgreSQL turns into a timestamp far more cheaply than it parses text */
const TS = `'epoch'::timestamptz + interval '1 millisecond' * ts_ms`;

function storeStatement(options: SinkOptions): string {
  const dayOrigin = new Date(-options.dayOffsetMs).toISOString();
  const levels = [`r10 AS (${rollupUpsert('rollup_10s', 'bucket')})`];
  if (options.storage === 'postgres') {
    // on TimescaleDB continuous aggregates keep these; on plain PostgreSQL the same statement does
    levels.push(`r1h AS (${rollupUpsert('rollup_1h', `date_bin('1 hour', bucket, 'epoch'::timestamptz)`)})`);
    levels.push(`r1d AS (${rollupUpsert('rollup_1d', `date_bin('1 day', bucket, '${dayOrigin}'::timestamptz)`)})`);
  } else {
    // the continuous aggregates' buckets this batch changes behind their last refresh
    levels.push(...touchedMarks(dayOrigin));
    // and the hour in progress summed as it goes, so queries need not sum it from the 10 s rollup
    levels.push(`rch AS (${rollupUpsert('current_hours', `date_bin('1 hour', bucket, 'epoch'::timestamptz)`, CURRENT_HOURS_WRITTEN)})`);
  }
  levels.push(...narrowRollupWrites(dayOrigin));
  return `WITH fresh AS (
      INSERT INTO event_ids (id, ts, stream_id) SELECT id, ${TS}, stream_id FROM incoming ORDER BY id
      ON CONFLICT (id) DO NOTHING RETURNING id
    ), stored AS (
      INSERT INTO events (ts, id, type, channel, region, store, campaign, user_id, count, value)
      SELECT ${TS}, i.id, i.type, i.channel, i.region, i.store, i.campaign, i.user_id, i.count, i.value
      FROM incoming i JOIN fresh USING (id)
      RETURNING ts, type, channel, region, store, campaign, count, value
    ), sums10 AS MATERIALIZED (${AGGREGATE_10S}),
    ${levels.join(', ')}
    SELECT count(*)::int AS n FROM fresh`;
}

/** The batch as COPY text for `incoming` (about 130 bytes a row). */
function copyText(batch: StreamedEvent[], decimals: number): Buffer {
  const out = new CopyWriter(batch.length * 160);
  for (const { event, entryId } of batch) {
    out.text(entryId).integer(event.ts).text(event.id).text(event.type).text(event.channel).text(event.region)
      .text(event.store).text(event.campaign).text(event.userId).integer(event.count).text(event.value.toFixed(decimals), true);
  }
  return out.bytes();
}

/**
 * Writes a batch in one transaction: the id ledger decides which events are new; only those go
 * to the raw table and the rollups (all in one statement, aggregated by PostgreSQL), then their
 * customers to the first-seen ledger. Redelivering the same batch changes nothing. `batch` must
 * not repeat an id.
 */
export async function writeBatch(pool: Pool, batch: StreamedEvent[], options: SinkOptions): Promise<SinkResult> {
  if (!batch.length) return { inserted: 0, countedIds: new Set() };
  return inTransaction(pool, async (client) => {
    await client.query(INCOMING_TABLE);
    await pipeline(Readable.from([copyText(batch, options.valueDecimals)]), client.query(copyFrom('COPY incoming FROM STDIN')));
    const inserted = (await client.query<{ n: number }>(storeStatement(options))).rows[0]!.n;
    // usually every event is new; else the ones the ledger credits to their own entries (stored now,
    // or by the same entry before a crash, whose ledger rows that commit wrote: sending them again
    // changes nothing), never a repeated id (its copy may carry another time or customer than the
    // event kept). Only counts come back: tens of thousands of ids would be parsed for nothing.
    const countedIds = inserted === batch.length ? ('all' as const) : await idsOfTheirEntries(client);
    const storedEvents = (countedIds === 'all' ? batch : batch.filter((b) => countedIds.has(b.event.id))).map((b) => b.event);
    // the first-seen ledger and the sketches: what this process knows is skipped
    const customers = firstSeenCandidates(storedEvents, options.known);
    const ledger = customers.length
      ? (await client.query<{ scope: string; user_id: string; stored_last_ms: number | null }>(
        firstSeenUpsert(new Date(-options.dayOffsetMs).toISOString()), firstSeenParams(customers))).rows
      : [];
    const sketches = sketchDeltas(storedEvents, options.sketches);
    await writeSketchDeltas(client, sketches);
    return { inserted, countedIds, customers, ledger, sketches };
  }).then(({ customers, ledger, sketches, ...result }) => {
    options.known.remember(customers, firstSeenAnswer(ledger));
    options.sketches.remember(sketches);
    return result;
  });
}

/** The incoming ids that the ledger credits to the same stream entry: new now, or stored by it before a crash. */
async function idsOfTheirEntries(client: PoolClient): Promise<Set<string>> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT i.id FROM incoming i JOIN event_ids e ON e.id = i.id AND e.stream_id = i.stream_id`,
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * PostgreSQL refuses this data, and would again: a data exception (22…), an integrity violation
 * (23…) or an error raised by a trigger (P0…) — unlike a lost connection, retrying cannot help.
 */
export function isRefusedData(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|P0)/.test(code);
}

export interface IsolatedResult extends SinkResult {
  countedIds: Set<string>;
  /** the events PostgreSQL refused, each alone, with its reason */
  refused: Array<{ item: StreamedEvent; reason: string }>;
}

/**
 * Writes a batch that PostgreSQL refused as a whole by halves, down to single events, so one
 * event it will never take costs only itself. Each write is the idempotent writeBatch.
 */
export async function writeAroundRefusals(pool: Pool, batch: StreamedEvent[], options: SinkOptions): Promise<IsolatedResult> {
  const total: IsolatedResult = { inserted: 0, countedIds: new Set(), refused: [] };
  const write = async (part: StreamedEvent[]): Promise<void> => {
    if (!part.length) return;
    try {
      const result = await writeBatch(pool, part, options);
      total.inserted += result.inserted;
      if (result.countedIds === 'all') for (const item of part) total.countedIds.add(item.event.id);
      else for (const id of result.countedIds) total.countedIds.add(id);
    } catch (err) {
      if (!isRefusedData(err)) throw err;
      if (part.length === 1) return void total.refused.push({ item: part[0]!, reason: `the database refused it: ${(err as Error).message}` });
      const half = Math.ceil(part.length / 2);
      await write(part.slice(0, half));
      await write(part.slice(half));
    }
  };
  await write(batch);
  return total;
}
