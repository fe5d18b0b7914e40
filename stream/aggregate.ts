// Pure aggregation of a batch of (already de-duplicated) events into the two sinks' deltas.
// Money is carried as integer units (value × 10^valueDecimals) so that every sum is exact, in
// BigInt: one entry may hold 10 000 events of 1e14 units each, far past 2^53.

import { BUCKET_MS } from './buckets.js';
import { PlaceGroups } from './place-groups.js';
import { scopesOf } from './scopes.js';
import { SUM_FIELDS, type MarketingEvent, type SumField } from './types.js';

export type UnitSums = Record<SumField, bigint>;

export const newUnitSums = (): UnitSums => ({ exposure: 0n, clicks: 0n, visits: 0n, conversions: 0n, revenue: 0n, spend: 0n });

/** Adds one event to sums; revenue and spend in integer money units. */
export function addEvent(sums: UnitSums, event: MarketingEvent, moneyScale: number): void {
  switch (event.type) {
    case 'exposure': sums.exposure += BigInt(event.count); break;
    case 'click': sums.clicks += BigInt(event.count); break;
    case 'visit': sums.visits += BigInt(event.count); break;
    case 'conversion':
      sums.conversions += BigInt(event.count);
      sums.revenue += BigInt(Math.round(event.value * moneyScale));
      break;
    case 'spend': sums.spend += BigInt(Math.round(event.value * moneyScale)); break;
  }
}

export interface RollupRow {
  bucket: number;
  channel: string;
  region: string;
  store: string;
  campaign: string;
  sums: UnitSums;
  /** user ids seen in this row (for the hot unique-user counts) */
  users: Set<string>;
}

/** Sums at 10 s grain by (bucket, channel, region, store, campaign), '' = none: the source of the hot deltas
 *  (the database aggregates the same way in SQL, see db/sink.ts). */
export function rollupRows(events: MarketingEvent[], moneyScale: number): RollupRow[] {
  const rows = new PlaceGroups<RollupRow>();
  for (const event of events) {
    const step = Math.floor(event.ts / BUCKET_MS);
    const row = rows.get(step, event) ?? rows.add(step, event, {
      bucket: step * BUCKET_MS, channel: event.channel, region: event.region ?? '', store: event.store ?? '', campaign: event.campaign ?? '',
      sums: newUnitSums(), users: new Set(),
    });
    addEvent(row.sums, event, moneyScale);
    if (event.userId !== undefined) row.users.add(event.userId);
  }
  return rows.groups;
}

/** One scope's increments in one 10 s bucket; apply-entry.lua adds them at every hot level. */
export interface HotIncrement {
  bucket: number;
  scope: string;
  sums: UnitSums;
  /** user ids seen (a HyperLogLog ignores repeats, so a plain list will do) */
  users: string[];
}

export interface HotDelta {
  increments: HotIncrement[];
  scopes: Set<string>;
}

/**
 * Increments for the Redis hot buckets, per scope and 10 s bucket, for every scope the events
 * belong to. Built from the 10 s rollup rows, so its cost follows the number of distinct
 * dimension combinations rather than the number of events.
 */
export function hotDelta(rows: RollupRow[], oldestKeptMs: number): HotDelta {
  const delta: HotDelta = { increments: [], scopes: new Set() };
  const byBucket = new Map<number, Map<string, HotIncrement>>();
  for (const row of rows) {
    if (row.bucket + BUCKET_MS <= oldestKeptMs) continue;
    let byScope = byBucket.get(row.bucket);
    if (!byScope) byBucket.set(row.bucket, (byScope = new Map()));
    const users = [...row.users]; // read once per scope: indexing an array allocates nothing, iterating a Set may
    for (const scope of scopesOf(row)) {
      let increment = byScope.get(scope);
      if (!increment) {
        increment = { bucket: row.bucket, scope, sums: newUnitSums(), users: [] };
        byScope.set(scope, increment);
        delta.increments.push(increment);
      }
      for (const field of SUM_FIELDS) {
        const value = row.sums[field];
        if (value !== 0n) increment.sums[field] += value; // a row holds one or two kinds of events: skip a new BigInt per zero
      }
      for (let i = 0; i < users.length; i++) increment.users.push(users[i]!);
      delta.scopes.add(scope);
    }
  }
  return delta;
}
