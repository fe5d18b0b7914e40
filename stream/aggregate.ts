// Pure aggregation of a batch of (already de-duplicated) events into the two sinks' deltas.
// Money is carried as integer units (value × 10^valueDecimals) so that every sum is exact.

import { BUCKET_MS, HOT_LEVELS, floorTo } from './buckets.js';
import { scopesOfEvent } from './scopes.js';
import type { MarketingEvent, SumField } from './types.js';

export type UnitSums = Record<SumField, number>;

export const newUnitSums = (): UnitSums => ({ exposure: 0, clicks: 0, visits: 0, conversions: 0, revenue: 0, spend: 0 });

/** Adds one event to sums; revenue and spend in integer money units. */
export function addEvent(sums: UnitSums, event: MarketingEvent, moneyScale: number): void {
  switch (event.type) {
    case 'exposure': sums.exposure += event.count; break;
    case 'click': sums.clicks += event.count; break;
    case 'visit': sums.visits += event.count; break;
    case 'conversion':
      sums.conversions += event.count;
      sums.revenue += Math.round(event.value * moneyScale);
      break;
    case 'spend': sums.spend += Math.round(event.value * moneyScale); break;
  }
}

export interface RollupRow {
  bucket: number;
  channel: string;
  region: string;
  store: string;
  campaign: string;
  sums: UnitSums;
}

/** Database rollup rows at 10 s grain by (bucket, channel, region, store, campaign); '' = none. */
export function rollupRows(events: MarketingEvent[], moneyScale: number): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const event of events) {
    const bucket = floorTo(event.ts, BUCKET_MS);
    const region = event.region ?? '';
    const store = event.store ?? '';
    const campaign = event.campaign ?? '';
    const key = `${bucket}\u0000${event.channel}\u0000${region}\u0000${store}\u0000${campaign}`;
    let row = rows.get(key);
    if (!row) {
      row = { bucket, channel: event.channel, region, store, campaign, sums: newUnitSums() };
      rows.set(key, row);
    }
    addEvent(row.sums, event, moneyScale);
  }
  // a stable order keeps concurrent upserts from deadlocking
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

export interface HotDelta {
  /** "<levelMs>|<bucketStart>|<scope>" → sums */
  sums: Map<string, UnitSums>;
  /** same key → user ids seen */
  users: Map<string, Set<string>>;
  scopes: Set<string>;
}

/** Increments for the Redis hot buckets at every level, for every scope the events belong to. */
export function hotDelta(events: MarketingEvent[], moneyScale: number, oldestKeptMs: number): HotDelta {
  const delta: HotDelta = { sums: new Map(), users: new Map(), scopes: new Set() };
  for (const event of events) {
    if (event.ts < oldestKeptMs) continue;
    const scopes = scopesOfEvent(event);
    for (const levelMs of HOT_LEVELS) {
      const start = floorTo(event.ts, levelMs);
      for (const scope of scopes) {
        const key = `${levelMs}|${start}|${scope}`;
        let sums = delta.sums.get(key);
        if (!sums) delta.sums.set(key, (sums = newUnitSums()));
        addEvent(sums, event, moneyScale);
        if (event.userId !== undefined) {
          let users = delta.users.get(key);
          if (!users) delta.users.set(key, (users = new Set()));
          users.add(event.userId);
        }
      }
    }
    for (const scope of scopes) delta.scopes.add(scope);
  }
  return delta;
}
