// Unique users per hour and per day, kept as mergeable sketches beside the rollups, so a 30-day
// view reads one sketch per point instead of counting distinct customers over every raw event.
//
// Each batch appends what it adds to each hour's sketches (the new hashes per sketch, in the
// batch's own transaction: a batch that rolls back adds nothing, one redelivered adds nothing new
// — a union). A compaction folds those deltas into the hour's sketches and its day's every few
// seconds; readers read both in one statement (a day's pending deltas are its hours').

import type { Pool, PoolClient } from 'pg';
import { DAY, HOUR, floorTo } from '../buckets.js';
import type { MarketingEvent } from '../types.js';
import { IntegerSet } from '../integer-set.js';
import { UserSketch, hash52 } from '../user-sketch.js';
import { DIMS, TEXT } from './columns.js';
import { PlaceGroups } from '../place-groups.js';
import { inTransaction } from './transaction.js';

export type SketchStep = '1h' | '1d';

/**
 * The cuts kept, by the dimensions each fixes (the others are ''): a query is answered from the
 * smallest cut that fixes every dimension it filters or groups by (listed smallest first),
 * merging what it leaves apart. The region × store cuts keep a region's "no store" apart.
 */
export const SKETCH_KINDS = [
  { kind: 0, dims: [] },
  { kind: 1, dims: ['channel'] },
  { kind: 2, dims: ['region'] },
  { kind: 6, dims: ['campaign'] },
  // the nation's stores in one read each (their "no store" too, without merging the regions')
  { kind: 7, dims: ['store'] },
  { kind: 3, dims: ['region', 'channel'] },
  { kind: 4, dims: ['region', 'store'] },
  { kind: 5, dims: ['region', 'store', 'channel'] },
] as const satisfies ReadonlyArray<{ kind: number; dims: ReadonlyArray<SketchDim> }>;
export type SketchDim = 'channel' | 'region' | 'store' | 'campaign';

/** The smallest cut fixing every one of these dimensions, or null when none keeps them together. */
export function sketchKindFor(fixed: Iterable<SketchDim>): number | null {
  const wanted = new Set(fixed);
  const kind = SKETCH_KINDS.find(({ dims }) => [...wanted].every((d) => (dims as readonly SketchDim[]).includes(d)));
  return kind?.kind ?? null;
}

export const USER_SKETCH_TABLES = [
  `CREATE TABLE IF NOT EXISTS user_sketches (
     step ${TEXT} NOT NULL, kind smallint NOT NULL, bucket timestamptz NOT NULL, ${DIMS},
     users bigint NOT NULL, sketch bytea NOT NULL,
     PRIMARY KEY (step, kind, bucket, channel, region, store, campaign))`,
  // registers look random: compressing them costs CPU and saves little
  `ALTER TABLE user_sketches ALTER COLUMN sketch SET STORAGE EXTERNAL`,
  `CREATE TABLE IF NOT EXISTS user_sketch_deltas (
     step ${TEXT} NOT NULL, kind smallint NOT NULL, bucket timestamptz NOT NULL, ${DIMS}, delta bytea NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS user_sketch_deltas_key ON user_sketch_deltas (step, kind, bucket)`,
];

type Dims = Record<SketchDim, string>;

interface SketchKey extends Dims {
  step: SketchStep;
  kind: number;
  bucket: number;
}

const keyText = (k: SketchKey) => `${k.step}|${k.kind}|${k.bucket}|${k.channel}|${k.region}|${k.store}|${k.campaign}`;

/** The hour's sketches an event counts in (its day's come from them at compaction). */
function keysOfEvent(e: Pick<MarketingEvent, 'ts' | 'channel' | 'region' | 'store' | 'campaign'>): SketchKey[] {
  const values: Dims = { channel: e.channel, region: e.region ?? '', store: e.store ?? '', campaign: e.campaign ?? '' };
  const bucket = floorTo(e.ts, HOUR);
  return SKETCH_KINDS.map(({ kind, dims }) => {
    const key: SketchKey = { step: '1h', kind, bucket, channel: '', region: '', store: '', campaign: '' };
    for (const dim of dims) key[dim] = values[dim];
    return key;
  });
}

/**
 * What this process has written to each recent sketch (a lower bound of what is stored), so a
 * returning customer costs no write. Bounded: the least recently used sketches are forgotten.
 */
export class KnownSketches {
  private readonly sketches = new Map<string, UserSketch>();
  private bytes = 0;

  constructor(private readonly budgetBytes = 32 * 1024 * 1024) {}

  get(key: string): UserSketch | undefined {
    const sketch = this.sketches.get(key);
    if (sketch) {
      this.sketches.delete(key);
      this.sketches.set(key, sketch);
    }
    return sketch;
  }

  /** After the transaction that wrote them committed. */
  remember(deltas: SketchDelta[]): void {
    for (const delta of deltas) {
      let sketch = this.get(delta.text);
      if (!sketch) this.sketches.set(delta.text, (sketch = new UserSketch()));
      this.bytes -= sketch.memoryBytes;
      for (const hash of delta.hashes) sketch.add(hash);
      this.bytes += sketch.memoryBytes;
    }
    for (const [key, sketch] of this.sketches) {
      if (this.bytes <= this.budgetBytes) break;
      this.sketches.delete(key);
      this.bytes -= sketch.memoryBytes;
    }
  }
}

export interface SketchDelta {
  key: SketchKey;
  text: string;
  hashes: number[];
}

/** Per sketch, the customers of these (newly stored) events that it may not hold yet. */
export function sketchDeltas(events: Iterable<Pick<MarketingEvent, 'ts' | 'channel' | 'region' | 'store' | 'campaign' | 'userId'>>, known: KnownSketches): SketchDelta[] {
  // customers by hour and place first (a batch's tens of thousands of events fall in a few hundred),
  // then each place's share goes to its sketches: no per-event key for every sketch
  // hashes are 52-bit: in a Set each would be a boxed number of its own, in an IntegerSet none is
  const places = new PlaceGroups<{ event: Pick<MarketingEvent, 'ts' | 'channel' | 'region' | 'store' | 'campaign'>; hashes: IntegerSet }>();
  for (const e of events) {
    if (!e.userId) continue;
    const hour = Math.floor(e.ts / HOUR);
    const place = places.get(hour, e) ?? places.add(hour, e, { event: e, hashes: new IntegerSet() });
    place.hashes.add(hash52(e.userId));
  }
  // each place's customers go only to the sketches they would change (a returning customer, to none)
  const byKey = new Map<string, { key: SketchKey; sketch: UserSketch | undefined; hashes: IntegerSet }>();
  for (const place of places.groups) {
    const hashes = place.hashes.values(); // read eight times
    for (const key of keysOfEvent(place.event)) {
      const text = keyText(key);
      let entry = byKey.get(text);
      if (!entry) byKey.set(text, (entry = { key, sketch: known.get(text), hashes: new IntegerSet() }));
      const { sketch } = entry;
      for (let i = 0; i < hashes.length; i++) if (!sketch || sketch.wouldChange(hashes[i]!)) entry.hashes.add(hashes[i]!);
    }
  }
  const deltas: SketchDelta[] = [];
  for (const [text, { key, hashes }] of byKey) if (hashes.size) deltas.push({ key, text, hashes: Array.from(hashes.values()) });
  // one order for every writer
  return deltas.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

/** Appends the deltas (inside the caller's transaction). */
export async function writeSketchDeltas(client: PoolClient | Pool, deltas: SketchDelta[]): Promise<void> {
  for (let i = 0; i < deltas.length; i += 5000) {
    const part = deltas.slice(i, i + 5000);
    await client.query(
      `INSERT INTO user_sketch_deltas (step, kind, bucket, channel, region, store, campaign, delta)
       SELECT * FROM unnest($1::text[], $2::smallint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[])`,
      [
        part.map((d) => d.key.step), part.map((d) => d.key.kind), part.map((d) => new Date(d.key.bucket).toISOString()),
        part.map((d) => d.key.channel), part.map((d) => d.key.region), part.map((d) => d.key.store), part.map((d) => d.key.campaign),
        part.map((d) => UserSketch.of(d.hashes).encode()),
      ],
    );
  }
}

const COMPACT_ROWS = 20_000;
/**
 * A pass folds ~7 000 deltas into ~700 stored sketches of up to 2 048 hashes each every 5 s under
 * 5 000 events/s: 300–500 ms of CPU. It gives the event loop back every so many sketches, so the
 * processor's batches (same process) are not held behind it — a probe event took 500–700 ms then.
 */
const YIELD_EVERY = 32;
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/** held by the one compaction at a time, and by a migration (which must not change these tables under it) */
export const COMPACTION_LOCK = 'marketing-wall-sketches';

interface DeltaRow extends Dims {
  step: SketchStep;
  kind: number;
  bucket: Date;
  delta: Buffer;
}

/** The key columns of sketches, as arrays for unnest($1 … $7). */
const keyColumnsOf = (list: Array<{ row: DeltaRow }>) => [
  list.map((e) => e.row.step), list.map((e) => e.row.kind), list.map((e) => e.row.bucket.toISOString()),
  list.map((e) => e.row.channel), list.map((e) => e.row.region), list.map((e) => e.row.store), list.map((e) => e.row.campaign),
];

/**
 * Folds pending deltas into their hour's sketches and their day's, COMPACT_ROWS at a time, until
 * none are left. One compaction at a time (an advisory lock; another caller returns at once).
 * Returns the deltas folded.
 */
export async function compactSketches(pool: Pool, dayOffsetMs: number): Promise<number> {
  let folded = 0;
  for (;;) {
    const n = await inTransaction(pool, async (client) => {
      const { rows: [lock] } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok`, [COMPACTION_LOCK]);
      if (!lock!.ok) return 0;
      const { rows } = await client.query<DeltaRow>(
        `DELETE FROM user_sketch_deltas WHERE ctid IN (SELECT ctid FROM user_sketch_deltas LIMIT ${COMPACT_ROWS})
         RETURNING step, kind, bucket, channel, region, store, campaign, delta`,
      );
      if (!rows.length) return 0;
      const merged = new Map<string, { row: DeltaRow; sketch: UserSketch }>();
      for (const [i, row] of rows.entries()) {
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await breathe();
        const delta = UserSketch.decode(row.delta);
        const day = { ...row, step: '1d' as const, bucket: new Date(floorTo(row.bucket.getTime(), DAY, dayOffsetMs)) };
        for (const target of [row, day]) {
          const text = keyText({ ...target, bucket: target.bucket.getTime() });
          const entry = merged.get(text);
          if (entry) entry.sketch.merge(delta);
          else merged.set(text, { row: target, sketch: new UserSketch().merge(delta) });
        }
      }
      const entries = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => e);
      const { rows: stored } = await client.query<DeltaRow & { sketch: Buffer }>(
        `SELECT s.step, s.kind, s.bucket, s.channel, s.region, s.store, s.campaign, s.sketch FROM user_sketches s
         JOIN unnest($1::text[], $2::smallint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[]) AS k(step, kind, bucket, channel, region, store, campaign)
           USING (step, kind, bucket, channel, region, store, campaign)
         FOR UPDATE OF s`,
        keyColumnsOf(entries),
      );
      // the stored sketch (thousands of hashes) takes the few new ones, not the other way round;
      // one that already held them all (returning customers) is not written again
      const unchanged = new Set<{ row: DeltaRow; sketch: UserSketch }>();
      for (const [i, row] of stored.entries()) {
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await breathe();
        const entry = merged.get(keyText({ ...row, bucket: row.bucket.getTime() }))!;
        const sketch = UserSketch.decode(row.sketch);
        if (!sketch.mergeChanged(entry.sketch)) unchanged.add(entry);
        entry.sketch = sketch;
      }
      const written = entries.filter((e) => !unchanged.has(e));
      if (!written.length) return rows.length;
      const users: number[] = [];
      const encoded: Buffer[] = [];
      for (const [i, e] of written.entries()) {
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await breathe();
        users.push(e.sketch.estimate());
        encoded.push(e.sketch.encode());
      }
      await client.query(
        `INSERT INTO user_sketches (step, kind, bucket, channel, region, store, campaign, users, sketch)
         SELECT * FROM unnest($1::text[], $2::smallint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bytea[])
         ON CONFLICT (step, kind, bucket, channel, region, store, campaign) DO UPDATE SET users = EXCLUDED.users, sketch = EXCLUDED.sketch`,
        [...keyColumnsOf(written), users, encoded],
      );
      return rows.length;
    });
    folded += n;
    if (n < COMPACT_ROWS) return folded;
  }
}

/** The sketches of raw events already stored (a schema made before the sketches), written as deltas. */
export async function backfillSketches(client: PoolClient): Promise<number> {
  const { rows: [span] } = await client.query<{ from: Date | null; to: Date | null }>(
    `SELECT min(ts) AS from, max(ts) AS to FROM events WHERE user_id IS NOT NULL`,
  );
  if (!span?.from || !span.to) return 0;
  let written = 0;
  for (let hour = floorTo(span.from.getTime(), HOUR); hour <= span.to.getTime(); hour += HOUR) {
    const { rows } = await client.query<{ ts: Date; channel: string; region: string | null; store: string | null; campaign: string | null; user_id: string }>(
      `SELECT ts, channel, region, store, campaign, user_id FROM events WHERE ts >= $1 AND ts < $2 AND user_id IS NOT NULL`,
      [new Date(hour).toISOString(), new Date(hour + HOUR).toISOString()],
    );
    const deltas = sketchDeltas(
      rows.map((r) => ({ ts: r.ts.getTime(), channel: r.channel, region: r.region ?? undefined, store: r.store ?? undefined, campaign: r.campaign ?? undefined, userId: r.user_id })),
      new KnownSketches(0),
    );
    await writeSketchDeltas(client, deltas);
    written += deltas.length;
  }
  return written;
}
