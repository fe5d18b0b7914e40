// The expected numbers, computed here from the generated events without the pipeline's code.

import type { IncomingEvent } from '../stream/types.js';

/** The events a test sends, with their time in epoch milliseconds. */
export type TruthEvent = IncomingEvent & { ts: number };

export interface TruthSums {
  exposure: number;
  clicks: number;
  visits: number;
  conversions: number;
  revenueCents: number;
  spendCents: number;
  users: Set<string>;
}

export function truthSums(events: TruthEvent[], match: (e: TruthEvent) => boolean): TruthSums {
  const sums: TruthSums = { exposure: 0, clicks: 0, visits: 0, conversions: 0, revenueCents: 0, spendCents: 0, users: new Set() };
  for (const e of events) {
    if (!match(e)) continue;
    const n = e.count ?? 1;
    if (e.type === 'exposure') sums.exposure += n;
    if (e.type === 'click') sums.clicks += n;
    if (e.type === 'visit') sums.visits += n;
    if (e.type === 'conversion') {
      sums.conversions += n;
      sums.revenueCents += Math.round(e.value! * 100);
    }
    if (e.type === 'spend') sums.spendCents += Math.round(e.value! * 100);
    if (e.userId) sums.users.add(e.userId);
  }
  return sums;
}

/** The API's numbers in the same shape (money to cents, exact for 2-decimal inputs). */
export function apiSums(point: { exposure: number; clicks: number; visits: number; conversions: number; revenue: number; spend: number }) {
  return {
    exposure: point.exposure, clicks: point.clicks, visits: point.visits, conversions: point.conversions,
    revenueCents: Math.round(point.revenue * 100), spendCents: Math.round(point.spend * 100),
  };
}

export function withoutUsers(sums: TruthSums) {
  const { users: _users, ...rest } = sums;
  return rest;
}
