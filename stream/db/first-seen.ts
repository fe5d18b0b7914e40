// The first-seen ledger: each customer's first event in each scope (all, r:<region>, s:<store>),
// with the channel, region and store of that event. "New users" over a range are the rows whose
// first_ts falls in it — exact, and read from an index whose size follows customers, not events.

import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { DAY, HOUR, ceilTo, floorTo } from '../buckets.js';
import type { GroupBy, MarketingEvent, NewUsersToday, Scope } from '../types.js';
import { int8Array, textArray } from './binary-array.js';
import { TEXT } from './columns.js';

/** last_ts may lag a customer's last event by this much (the purge allows for it) */
export const LAST_SEEN_SLACK_MS = DAY;

/**
 * last_ts lags a customer's last event by at most a day: the ledger rewrites a returning
 * customer's row only a day on (firstSeenUpsert), and each processor sends them only then
 * (KnownCustomers); the purge forgets customers not seen for the retention, who then count as
 * new again.
 */
export const FIRST_SEEN_TABLES = [
  `CREATE TABLE IF NOT EXISTS first_seen (
     scope ${TEXT} NOT NULL, user_id ${TEXT} NOT NULL, first_ts timestamptz NOT NULL,
     channel ${TEXT} NOT NULL, region ${TEXT} NOT NULL, store ${TEXT} NOT NULL, last_ts timestamptz NOT NULL,
     PRIMARY KEY (scope, user_id))`,
  `CREATE INDEX IF NOT EXISTS first_seen_new ON first_seen (scope, first_ts) INCLUDE (channel, region, store)`,
  `CREATE INDEX IF NOT EXISTS first_seen_last ON first_seen USING brin (last_ts)`,
  // the ledger counted per hour and place, kept with it (firstSeenUpsert), so long ranges read
  // a few hundred counts instead of a row per customer
  ...['new_users_hourly', 'new_users_daily'].map((table) => `CREATE TABLE IF NOT EXISTS ${table} (
     bucket timestamptz NOT NULL, scope ${TEXT} NOT NULL, channel ${TEXT} NOT NULL, region ${TEXT} NOT NULL, store ${TEXT} NOT NULL,
     n bigint NOT NULL, PRIMARY KEY (scope, bucket, channel, region, store))`),
  // where a row was before a late event moved it earlier: set by that move only (see firstSeenUpsert)
  `ALTER TABLE first_seen ADD COLUMN IF NOT EXISTS prev_first_ts timestamptz, ADD COLUMN IF NOT EXISTS prev_channel ${TEXT},
     ADD COLUMN IF NOT EXISTS prev_region ${TEXT}, ADD COLUMN IF NOT EXISTS prev_store ${TEXT}`,
];

/**
 * The place a count row keeps: only what its scope fixes (a region's rows their region, a store's
 * its region and store, the nation's neither). Every reader filters by scope and at most channel or
 * the scope's own place (newUsersRows), so a row per hour, scope and channel answers them all: the
 * nation's hour is at most a row per channel instead of one per channel and store it has new customers in.
 */
const countedPlace = (scope: string, region: string, store: string) =>
  `CASE WHEN ${scope} = 'all' THEN '' ELSE ${region} END AS region, CASE WHEN ${scope} LIKE 's:%' THEN ${store} ELSE '' END AS store`;

/** The counts' grain, recorded in pipeline_meta: a schema whose counts were made finer gets them again (migrate). */
export const NEW_USER_COUNTS_GRAIN = 'scope-channel';

/** Hourly and daily counts of the ledger, by the day's origin (local midnight). */
const COUNT_LEVELS = (dayOrigin: string) => [
  { table: 'new_users_hourly', bin: (column: string) => `date_bin('1 hour', ${column}, 'epoch'::timestamptz)` },
  { table: 'new_users_daily', bin: (column: string) => `date_bin('1 day', ${column}, '${dayOrigin}'::timestamptz)` },
];

/** The counts of a ledger made before them. */
export const newUsersBackfill = (dayOrigin: string) => COUNT_LEVELS(dayOrigin).map(({ table, bin }) => `INSERT INTO ${table} (bucket, scope, channel, region, store, n)
  SELECT ${bin('first_ts')}, scope, channel, ${countedPlace('scope', 'region', 'store')}, count(*) FROM first_seen GROUP BY 1, 2, 3, 4, 5`);


// ties at the same instant go to the smallest (channel, region, store): the ledger must not
// depend on the order in which batches arrive
const ORDER = "e.ts, e.channel, coalesce(e.region, ''), coalesce(e.store, '')";

/** Each customer's earliest event per scope among `source`'s rows (ts, channel, region, store, user_id). */
const earliestPerScope = (source: string) => `
  SELECT s.scope, e.user_id, min(e.ts), (array_agg(e.channel ORDER BY ${ORDER}))[1],
         coalesce((array_agg(e.region ORDER BY ${ORDER}))[1], ''), coalesce((array_agg(e.store ORDER BY ${ORDER}))[1], ''), max(e.ts)
  FROM ${source} e CROSS JOIN LATERAL (VALUES ('all'), ('r:' || NULLIF(e.region, '')), ('s:' || NULLIF(e.store, ''))) AS s(scope)
  WHERE e.user_id IS NOT NULL AND s.scope IS NOT NULL
  GROUP BY 1, 2`;

const COLUMNS = 'scope, user_id, first_ts, channel, region, store, last_ts';

/** The ledger built from the raw events already stored (a schema made before it existed). */
export const FIRST_SEEN_BACKFILL = `INSERT INTO first_seen (${COLUMNS}) ${earliestPerScope('events')}`;

/** A column of epoch milliseconds (bigint) as a timestamp, exactly. */
const fromEpochMs = (column: string) => `'epoch'::timestamptz + interval '1 millisecond' * ${column}`;

const EARLIER_THAN = (row: string) => `(${row}.first_ts, ${row}.channel, ${row}.region, ${row}.store) < (f.first_ts, f.channel, f.region, f.store)`;
const EARLIER = EARLIER_THAN('EXCLUDED');
const takeIfEarlier = (column: string) => `${column} = CASE WHEN ${EARLIER} THEN EXCLUDED.${column} ELSE f.${column} END`;

/**
 * Candidate rows ($1…$7 as arrays) merged into the ledger: an earlier event (late, or out of
 * order) takes a row over; one more than a day after last_ts moves it (a row rewritten at every
 * event of a returning customer was most of the statement's cost when a processor's
 * KnownCustomers could not hold them all). A row the candidate does not move is read, not
 * upserted (an upsert locks the row it leaves: a write per returning customer). Answers the
 * (scope, user_id) of the rows it wrote (stored_last_ms null) and, of the rows it left, their
 * last_ts: KnownCustomers needs that to skip the customer's next events (knowing only "within a
 * day before this candidate", it sent every later event of a returning customer again).
 * Ordered by key, so concurrent batches lock rows alike. The same statement moves the hourly and
 * daily counts: +1 where a customer is new, and for a row taken over −1 where it was (the update
 * keeps the replaced values in prev_*, read under the row's lock, so concurrent batches count each
 * move once).
 */
export const firstSeenUpsert = (dayOrigin: string) => `WITH c AS (
  SELECT scope, user_id, ${fromEpochMs('first_ms')} AS first_ts, channel, region, store, ${fromEpochMs('last_ms')} AS last_ts
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[])
    AS c(scope, user_id, first_ms, channel, region, store, last_ms)
), judged AS (
  SELECT c.*, f.last_ts AS stored_last_ts,
    f.user_id IS NOT NULL AND NOT ${EARLIER_THAN('c')} AND c.last_ts <= f.last_ts + interval '${LAST_SEEN_SLACK_MS / 1000} seconds' AS covered
  FROM c LEFT JOIN first_seen f USING (scope, user_id)
), up AS (
  INSERT INTO first_seen AS f (${COLUMNS})
  SELECT ${COLUMNS} FROM judged WHERE NOT covered ORDER BY 1, 2
  ON CONFLICT (scope, user_id) DO UPDATE SET
    ${['first_ts', 'channel', 'region', 'store'].map(takeIfEarlier).join(', ')}, last_ts = greatest(f.last_ts, EXCLUDED.last_ts),
    ${['first_ts', 'channel', 'region', 'store'].map((c) => `prev_${c} = CASE WHEN ${EARLIER} THEN f.${c} END`).join(', ')}
  WHERE ${EARLIER} OR EXCLUDED.last_ts > f.last_ts + interval '${LAST_SEEN_SLACK_MS / 1000} seconds'
  RETURNING scope, user_id, first_ts, channel, region, store, prev_first_ts, prev_channel, prev_region, prev_store, (xmax = 0) AS inserted
), moves AS (
  SELECT first_ts AS at, scope, channel, ${countedPlace('scope', 'region', 'store')}, 1 AS n FROM up WHERE inserted OR prev_first_ts IS NOT NULL
  UNION ALL
  SELECT prev_first_ts, scope, prev_channel, ${countedPlace('scope', 'prev_region', 'prev_store')}, -1 FROM up WHERE NOT inserted AND prev_first_ts IS NOT NULL
), ${COUNT_LEVELS(dayOrigin).map(({ table, bin }, i) => `c${i} AS (
  INSERT INTO ${table} AS h (bucket, scope, channel, region, store, n)
  SELECT ${bin('at')}, scope, channel, region, store, sum(n) FROM moves GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 2, 1, 3, 4, 5
  ON CONFLICT (scope, bucket, channel, region, store) DO UPDATE SET n = h.n + EXCLUDED.n)`).join(', ')}
SELECT scope, user_id, NULL::float8 AS stored_last_ms FROM up
UNION ALL
SELECT scope, user_id, (extract(epoch FROM stored_last_ts) * 1000)::float8 FROM judged WHERE covered`;

/** A customer's earliest event in a scope among some events, and their latest. */
export interface FirstSeenCandidate {
  /** customerKey(scope, userId), made once */
  key: string;
  scope: string;
  userId: string;
  firstTs: number;
  channel: string;
  region: string;
  store: string;
  lastTs: number;
}

/** (ts, channel, region, store) of an event before the candidate's first, as PostgreSQL orders them (ids are ASCII, compared byte-wise) */
const isEarlier = (ts: number, channel: string, region: string, store: string, b: FirstSeenCandidate): boolean =>
  ts !== b.firstTs ? ts < b.firstTs : channel !== b.channel ? channel < b.channel : region !== b.region ? region < b.region : store < b.store;

type CandidateEvent = Pick<MarketingEvent, 'ts' | 'channel' | 'region' | 'store' | 'userId'>;

/**
 * Each customer's earliest event per scope (all, r:<region>, s:<store>) among `events`; given what
 * this process knows of the ledger, only the candidates it does not cover (`known.toWrite`'s).
 */
export function firstSeenCandidates(events: readonly CandidateEvent[], known?: KnownCustomers): FirstSeenCandidate[] {
  return known ? known.candidatesToWrite(events) : candidatesOf(events);
}

function candidatesOf(events: readonly CandidateEvent[]): FirstSeenCandidate[] {
  // a batch holds tens of thousands of events: nothing is allocated for a customer's repeat
  const byKey = new Map<string, FirstSeenCandidate>();
  const take = (scope: string, userId: string, ts: number, channel: string, region: string, store: string) => {
    const key = customerKey(scope, userId);
    const had = byKey.get(key);
    if (!had) return void byKey.set(key, { key, scope, userId, firstTs: ts, channel, region, store, lastTs: ts });
    if (isEarlier(ts, channel, region, store, had)) {
      had.firstTs = ts;
      had.channel = channel;
      had.region = region;
      had.store = store;
    }
    if (ts > had.lastTs) had.lastTs = ts;
  };
  for (const e of events) {
    if (!e.userId) continue;
    const region = e.region ?? '';
    const store = e.store ?? '';
    take('all', e.userId, e.ts, e.channel, region, store);
    if (region) take(`r:${region}`, e.userId, e.ts, e.channel, region, store);
    if (store) take(`s:${store}`, e.userId, e.ts, e.channel, region, store);
  }
  return [...byKey.values()];
}

/** The upsert's parameters for some candidates, as binary arrays (times as epoch ms: firstSeenUpsert turns them into timestamps). */
export function firstSeenParams(rows: FirstSeenCandidate[]): unknown[] {
  return [textArray(rows, (r) => r.scope), textArray(rows, (r) => r.userId), int8Array(rows, (r) => r.firstTs),
    textArray(rows, (r) => r.channel), textArray(rows, (r) => r.region), textArray(rows, (r) => r.store), int8Array(rows, (r) => r.lastTs)];
}

/** The key of a ledger row, as KnownCustomers and the upsert's answer name it. */
export const customerKey = (scope: string, userId: string) => `${scope}\u0000${userId}`;

/** What firstSeenUpsert answered: the rows it wrote, and the last_ts (epoch ms) of those it read and left. */
export interface FirstSeenAnswer {
  written: ReadonlySet<string>;
  leftAt: ReadonlyMap<string, number>;
}

export function firstSeenAnswer(rows: Array<{ scope: string; user_id: string; stored_last_ms: number | null }>): FirstSeenAnswer {
  const written = new Set<string>();
  const leftAt = new Map<string, number>();
  for (const row of rows) {
    const key = customerKey(row.scope, row.user_id);
    if (row.stored_last_ms === null) written.add(key);
    else leftAt.set(key, row.stored_last_ms);
  }
  return { written, leftAt };
}

/**
 * What one processor knows the ledger holds at least: per (scope, customer) a first event no
 * earlier than the row's and a last_ts no later than it (rows only ever move that way between
 * purges). A candidate it covers — not earlier, and within a day of the known last_ts — is not
 * sent, so a returning customer costs the database one statement row a day instead of one per batch.
 * Bounded: the least recently used go first.
 */
export class KnownCustomers {
  // per (scope, customer) a slot in typed arrays: its known first and last ts and the first event's
  // place (channel, region, store, interned as a number). Held as arrays of objects, a hundred thousand
  // customers were half a million heap objects for every full garbage collection to visit.
  // Found by the customer's id and then the scope (a few slots a customer), so a batch's events are
  // checked without making a key string for each.
  private readonly slotsOfUser = new Map<string, number | number[]>();
  private userOfSlot: Array<string | undefined> = [];
  private scopeOfSlot = new Int32Array(1024);
  private firstTs = new Float64Array(1024);
  private lastTs = new Float64Array(1024);
  private placeOfSlot = new Int32Array(1024);
  // when each slot was last used (a count of calls): moving a Map entry to its end at every use
  // churned the Map of a hundred thousand keys thousands of times a batch
  private usedAt = new Float64Array(1024);
  private clock = 0;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private count = 0;
  private readonly placeIds = new Map<string, number>();
  private readonly placeNames: string[] = [];
  // scopes ('all', 'r:<region>', 's:<store>') interned; a region's and a store's found by its id alone
  private readonly scopeIds = new Map<string, number>([['all', 0]]);
  private readonly regionScopes = new Map<string, number>();
  private readonly storeScopes = new Map<string, number>();
  // ~112 bytes a key measured (the customer's id, the Map's entry, the slot): 250 000 keys ≈ 28 MB. At 100 000
  // the bench's ~115 000 active (scope, customer) keys churned, each forgotten one sent again.
  constructor(private readonly limit = 250_000) {}

  private static placeText(channel: string, region: string, store: string): string {
    return `${channel}\u0000${region}\u0000${store}`;
  }

  /** The candidate's place, interned (only a slot written needs it). */
  private placeOf(c: FirstSeenCandidate): number {
    const place = KnownCustomers.placeText(c.channel, c.region, c.store);
    let id = this.placeIds.get(place);
    if (id === undefined) {
      // only ids from the config: never near this; were it reached, forgetting all is safe (a cache)
      if (this.placeNames.length >= 100_000) this.clear();
      this.placeIds.set(place, (id = this.placeNames.length));
      this.placeNames.push(place);
    }
    return id;
  }

  private scopeIdOf(scope: string): number {
    let id = this.scopeIds.get(scope);
    if (id === undefined) this.scopeIds.set(scope, (id = this.scopeIds.size));
    return id;
  }

  /** The scope of a region's or a store's customers, by its id (-1: none known yet, so no slot holds it). */
  private placeScope(byId: Map<string, number>, prefix: string, id: string): number {
    let scope = byId.get(id);
    if (scope === undefined) {
      const known = this.scopeIds.get(prefix + id);
      if (known === undefined) return -1;
      byId.set(id, (scope = known));
    }
    return scope;
  }

  private clear(): void {
    this.slotsOfUser.clear();
    this.userOfSlot = [];
    this.freeSlots.length = 0;
    this.nextSlot = 0;
    this.count = 0;
    this.placeIds.clear();
    this.placeNames.length = 0;
  }

  private slotOf(scope: number, userId: string): number {
    const held = this.slotsOfUser.get(userId);
    if (held === undefined) return -1;
    if (typeof held === 'number') return this.scopeOfSlot[held] === scope ? held : -1;
    for (const slot of held) if (this.scopeOfSlot[slot] === scope) return slot;
    return -1;
  }

  /** (ts, place) before the slot's first event (place spelt out only on a tie: the separator sorts below every id character) */
  private before(ts: number, channel: string, region: string, store: string, slot: number): boolean {
    const knownTs = this.firstTs[slot]!;
    return ts !== knownTs ? ts < knownTs : KnownCustomers.placeText(channel, region, store) < this.placeNames[this.placeOfSlot[slot]!]!;
  }

  /** An event the slot covers (and the slot used now); -1: no slot. */
  private coversEvent(slot: number, ts: number, channel: string, region: string, store: string, now: number): boolean {
    if (slot < 0 || this.before(ts, channel, region, store, slot) || ts > this.lastTs[slot]! + LAST_SEEN_SLACK_MS) return false;
    this.usedAt[slot] = now;
    return true;
  }

  private newSlot(scope: number, userId: string): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      if (this.nextSlot === this.firstTs.length) {
        const grown = (from: Float64Array) => { const to = new Float64Array(from.length * 2); to.set(from); return to; };
        const grownInts = (from: Int32Array) => { const to = new Int32Array(from.length * 2); to.set(from); return to; };
        this.firstTs = grown(this.firstTs);
        this.lastTs = grown(this.lastTs);
        this.usedAt = grown(this.usedAt);
        this.placeOfSlot = grownInts(this.placeOfSlot);
        this.scopeOfSlot = grownInts(this.scopeOfSlot);
      }
      slot = this.nextSlot++;
    }
    this.scopeOfSlot[slot] = scope;
    this.userOfSlot[slot] = userId;
    const held = this.slotsOfUser.get(userId);
    this.slotsOfUser.set(userId, held === undefined ? slot : typeof held === 'number' ? [held, slot] : (held.push(slot), held));
    this.count++;
    return slot;
  }

  private freeSlot(slot: number): void {
    const userId = this.userOfSlot[slot]!;
    const held = this.slotsOfUser.get(userId)!;
    if (typeof held === 'number') this.slotsOfUser.delete(userId);
    else {
      const rest = held.filter((s) => s !== slot);
      this.slotsOfUser.set(userId, rest.length === 1 ? rest[0]! : rest);
    }
    this.userOfSlot[slot] = undefined;
    this.freeSlots.push(slot);
    this.count--;
  }

  /**
   * The candidates among `events` that toWrite would let through, found without making a candidate
   * (nor a key string) for a customer each of whose events is covered — most, once they are known:
   * a candidate is covered exactly when each of its events is (not before the known first, and
   * within a day of the known last). An array, not any iterable: it is read twice.
   */
  candidatesToWrite(events: readonly CandidateEvent[]): FirstSeenCandidate[] {
    const now = ++this.clock;
    const uncovered = this.customersNotCovering(events, now);
    if (!uncovered.size) return [];
    const theirs: CandidateEvent[] = [];
    for (const e of events) if (e.userId && uncovered.has(e.userId)) theirs.push(e);
    return this.notCovered(candidatesOf(theirs), now);
  }

  /** The customers some event of whose it does not cover in one of the event's scopes; the covering slots used now. */
  private customersNotCovering(events: readonly CandidateEvent[], now: number): Set<string> {
    const uncovered = new Set<string>();
    for (const e of events) {
      const userId = e.userId;
      if (!userId || uncovered.has(userId)) continue;
      const region = e.region ?? '';
      const store = e.store ?? '';
      const covered = this.coversEvent(this.slotOf(0, userId), e.ts, e.channel, region, store, now)
        && (!region || this.coversEvent(this.slotOf(this.placeScope(this.regionScopes, 'r:', region), userId), e.ts, e.channel, region, store, now))
        && (!store || this.coversEvent(this.slotOf(this.placeScope(this.storeScopes, 's:', store), userId), e.ts, e.channel, region, store, now));
      if (!covered) uncovered.add(userId);
    }
    return uncovered;
  }

  /** The candidates the ledger may not cover yet. */
  toWrite(candidates: FirstSeenCandidate[]): FirstSeenCandidate[] {
    return this.notCovered(candidates, ++this.clock);
  }

  private notCovered(candidates: FirstSeenCandidate[], now: number): FirstSeenCandidate[] {
    return candidates.filter((c) => {
      const slot = this.slotOf(this.scopeIds.get(c.scope) ?? -1, c.userId);
      if (slot < 0 || this.before(c.firstTs, c.channel, c.region, c.store, slot) || c.lastTs > this.lastTs[slot]! + LAST_SEEN_SLACK_MS) return true;
      this.usedAt[slot] = now;
      return false;
    });
  }

  /**
   * After the upsert committed: the ledger's rows are at least these. A row the upsert wrote holds
   * the candidate's last_ts; one it left holds the last_ts it read (`leftAt`), or — left by a
   * concurrent batch's insert it could not read — one within a day before the candidate's; and a
   * first event no later than the candidate's either way.
   */
  remember(sent: FirstSeenCandidate[], answer: FirstSeenAnswer): void {
    const now = ++this.clock;
    for (const c of sent) {
      const key = c.key;
      const place = this.placeOf(c); // first: it may forget everything
      const scope = this.scopeIdOf(c.scope);
      let slot = this.slotOf(scope, c.userId);
      const stored = answer.written.has(key) ? c.lastTs : answer.leftAt.get(key) ?? c.lastTs - LAST_SEEN_SLACK_MS;
      const lastAtLeast = Math.max(stored, slot < 0 ? -Infinity : this.lastTs[slot]!);
      if (slot < 0 || this.before(c.firstTs, c.channel, c.region, c.store, slot)) {
        if (slot < 0) slot = this.newSlot(scope, c.userId);
        this.firstTs[slot] = c.firstTs;
        this.placeOfSlot[slot] = place;
      }
      this.lastTs[slot] = lastAtLeast;
      this.usedAt[slot] = now;
    }
    if (this.count > this.limit) this.forgetLeastRecent();
  }

  /** Forgets the least recently used down to a tenth below the limit, so this sort is rare. */
  private forgetLeastRecent(): void {
    const excess = this.count - (this.limit - Math.floor(this.limit / 10));
    const stamps = new Float64Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.nextSlot; slot++) if (this.userOfSlot[slot] !== undefined) stamps[n++] = this.usedAt[slot]!;
    stamps.sort();
    const cutoff = stamps[excess - 1]!;
    let atCutoff = 0;
    for (let i = 0; i < excess; i++) if (stamps[i] === cutoff) atCutoff++;
    // the oldest go; of those used last at the cutoff, the lowest slots
    for (let slot = 0; slot < this.nextSlot; slot++) {
      if (this.userOfSlot[slot] === undefined) continue;
      const used = this.usedAt[slot]!;
      if (used > cutoff || (used === cutoff && atCutoff-- <= 0)) continue;
      this.freeSlot(slot);
    }
  }

  get size(): number {
    return this.count;
  }
}

/** The regions and their stores, for the ledger rows of a level (an index lookup per scope, never a scan of a whole level). */
export interface Places {
  regions: Array<{ id: string; stores: string[] }>;
}

export interface NewUsersFilter {
  filter: Scope;
  regionsAllowed?: string[];
  groupBy?: GroupBy;
}

/**
 * Which ledger rows answer new users for a filter and grouping, as conditions on `params`, and
 * the column a grouping reads; null where the ledger cannot answer (campaigns: a customer's
 * first campaign is not kept). A store filter or grouping reads the stores' rows (new to each
 * store), a region (or a manager's regions) the regions' rows, else the nation's; a channel is
 * the channel of that first event — the channel that brought the customer. The counts keep only
 * the scope's own place (countedPlace): no condition or grouping here may name another.
 */
export function newUsersRows(q: NewUsersFilter, places: Places, params: unknown[]): { conditions: string[]; groupColumn: GroupBy | null } | null {
  const { filter, regionsAllowed, groupBy } = q;
  if (filter.campaign !== undefined || groupBy === 'campaign') return null;
  const regionIds = filter.region !== undefined ? [filter.region] : regionsAllowed ?? places.regions.map((r) => r.id);
  let scopes: string[];
  if (filter.store !== undefined) scopes = [`s:${filter.store}`];
  else if (groupBy === 'store') scopes = places.regions.filter((r) => regionIds.includes(r.id)).flatMap((r) => r.stores.map((s) => `s:${s}`));
  else if (filter.region !== undefined || groupBy === 'region' || regionsAllowed) scopes = regionIds.map((r) => `r:${r}`);
  else scopes = ['all'];
  params.push(scopes);
  const conditions = [`scope = ANY($${params.length}::text[])`];
  for (const dim of ['channel', 'region'] as const) {
    const value = filter[dim];
    if (value === undefined) continue;
    params.push(value);
    conditions.push(`${dim} = $${params.length}`);
  }
  return { conditions, groupColumn: groupBy ?? null };
}

/**
 * New users of one scope since local midnight (up to `to`) and over the same span yesterday: the
 * whole hours from the ledger's hourly counts, the ragged ends from its rows (a wall reads this
 * after every frame; a day of the ledger's rows is ~100 000 customers at a retailer's volume);
 * null where the ledger cannot answer.
 */
export async function newUsersToday(pool: Pool, q: { todayFrom: number; to: number; filter: Scope }, places: Places): Promise<NewUsersToday | null> {
  // per span: whole hours [h1, h2) and the rows of [from, h1) and [h2, to)
  const spans = [q.todayFrom, q.todayFrom - DAY].map((from) => {
    const to = from + (q.to - q.todayFrom);
    const h1 = Math.min(ceilTo(from, HOUR), to);
    const h2 = Math.max(h1, floorTo(to, HOUR));
    return [from, h1, h2, to];
  });
  const params: unknown[] = spans.flat().map((ms) => new Date(ms).toISOString());
  const rows = newUsersRows({ filter: q.filter }, places, params);
  if (!rows) return null;
  const where = rows.conditions.join(' AND ');
  const count = (at: number) => `(SELECT coalesce(sum(n), 0) FROM new_users_hourly WHERE bucket >= $${at + 2} AND bucket < $${at + 3} AND ${where})
      + (SELECT count(*) FROM first_seen WHERE (first_ts >= $${at + 1} AND first_ts < $${at + 2} OR first_ts >= $${at + 3} AND first_ts < $${at + 4}) AND ${where})`;
  const text = `SELECT (${count(0)})::text AS today, (${count(4)})::text AS yesterday`;
  // every wall asks this after every frame: prepared once per connection (one per filter's shape),
  // PostgreSQL parses and plans it once instead of at every frame
  const name = `new-users-today-${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
  const { rows: [row] } = await pool.query<{ today: string; yesterday: string }>({ name, text, values: params });
  return { today: Number(row!.today), yesterday: Number(row!.yesterday) };
}

export const placesOf = (cfg: { regions: Array<{ id: string; stores: Array<{ id: string }> }> }): Places =>
  ({ regions: cfg.regions.map((r) => ({ id: r.id, stores: r.stores.map((s) => s.id) })) });
