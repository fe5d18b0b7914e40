// RFM scoring and lifecycle stages, pure: the segments job applies these to every customer.
import type { Stage, Tier } from '../../../stream/segment-names.js';

/** A customer's conversions within the history horizon. */
export interface CustomerHistory {
  firstOrderAt: number;
  lastOrderAt: number;
  /** orders (the sum of the conversion events' counts) */
  orders: number;
  /** revenue of those orders */
  monetary: number;
}

export interface LifecycleThresholds {
  /** first order at most this long ago: new */
  newWithinMs: number;
  /** last order at most this long ago: active (or loyal) */
  activeWithinMs: number;
  /** active with at least this many orders: loyal */
  loyalOrders: number;
  /** no order for longer than this: churned; between activeWithin and this: dormant */
  churnedAfterMs: number;
}

/**
 * Quintile scores 1..5 where higher values score higher: a value's score is 1 + ⌊5 · (share of
 * values strictly below it)⌋, so equal values always share a score (most customers with one
 * order are all F=1 rather than spread over quintiles by chance).
 */
export function quintileScores(values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  const scores = new Uint8Array(n);
  for (let i = 0; i < n; i++) scores[i] = 1 + Math.floor((5 * countBelow(sorted, values[i]!)) / n);
  return scores;
}

/** how many of the ascending `sorted` values are strictly below `value` (binary search) */
function countBelow(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The tier of R, F, M scores, with FM = (F + M) / 2:
 *
 *             FM < 3      3 ≤ FM < 4    FM ≥ 4
 *   R 4–5    potential   potential     high_value
 *   R 3      general     general       general
 *   R 2      general     at_risk       at_risk
 *   R 1      churned     at_risk       at_risk
 */
export function tierOf(r: number, f: number, m: number): Tier {
  const fm = (f + m) / 2;
  if (r >= 4) return fm >= 4 ? 'high_value' : 'potential';
  if (r === 3) return 'general';
  if (fm >= 3) return 'at_risk';
  return r === 1 ? 'churned' : 'general';
}

export function stageOf(customer: CustomerHistory, now: number, t: LifecycleThresholds): Stage {
  const sinceLast = now - customer.lastOrderAt;
  if (sinceLast > t.churnedAfterMs) return 'churned';
  if (sinceLast > t.activeWithinMs) return 'dormant';
  if (now - customer.firstOrderAt <= t.newWithinMs) return 'new';
  return customer.orders >= t.loyalOrders ? 'loyal' : 'active';
}

/** Customers column by column (the job holds a million of them; typed arrays keep that small). */
export interface CustomerColumns {
  firstOrderAt: ArrayLike<number>;
  lastOrderAt: ArrayLike<number>;
  orders: ArrayLike<number>;
  monetary: ArrayLike<number>;
}

export interface Segments {
  r: Uint8Array;
  f: Uint8Array;
  m: Uint8Array;
  tier: Tier[];
  stage: Stage[];
}

/** Scores, tier and stage of every customer (recency is scored on the last order's time: more recent scores higher). */
export function segmentCustomers(customers: CustomerColumns, now: number, thresholds: LifecycleThresholds): Segments {
  const r = quintileScores(customers.lastOrderAt);
  const f = quintileScores(customers.orders);
  const m = quintileScores(customers.monetary);
  const tier: Tier[] = new Array(r.length);
  const stage: Stage[] = new Array(r.length);
  for (let i = 0; i < r.length; i++) {
    tier[i] = tierOf(r[i]!, f[i]!, m[i]!);
    stage[i] = stageOf({ firstOrderAt: customers.firstOrderAt[i]!, lastOrderAt: customers.lastOrderAt[i]!, orders: customers.orders[i]!, monetary: customers.monetary[i]! }, now, thresholds);
  }
  return { r, f, m, tier, stage };
}
