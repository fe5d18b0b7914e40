import type { MetricPoint, MetricValues, Sums } from './types.js';

export const EMPTY_SUMS: Readonly<Sums> = Object.freeze({ exposure: 0, clicks: 0, visits: 0, conversions: 0, revenue: 0, spend: 0 });

const ratio = (numerator: number, denominator: number): number | null => (denominator === 0 ? null : numerator / denominator);

/**
 * Adds the derived ratios (CONTRACT §4). For store scopes the conversion rate is over
 * foot traffic (visits), elsewhere over clicks; a zero denominator gives null.
 */
export function deriveMetrics(sums: Sums, uniqueUsers: number, storeScope = false): MetricValues {
  // fields named one by one: Node 20's V8 builds `{ ...sums, more }` ~100× slower (8 µs a call),
  // and every window, point and push goes through here
  return {
    exposure: sums.exposure,
    clicks: sums.clicks,
    visits: sums.visits,
    conversions: sums.conversions,
    revenue: sums.revenue,
    spend: sums.spend,
    uniqueUsers,
    ctr: ratio(sums.clicks, sums.exposure),
    cvr: ratio(sums.conversions, storeScope ? sums.visits : sums.clicks),
    roi: ratio(sums.revenue, sums.spend),
    cac: ratio(sums.spend, sums.conversions),
  };
}

/** A history point: deriveMetrics's fields between its bucket start and its new users, named one by one as above. */
export function metricPoint(t: string, sums: Sums, uniqueUsers: number, storeScope: boolean, newUsers: number | null): MetricPoint {
  return {
    t,
    exposure: sums.exposure,
    clicks: sums.clicks,
    visits: sums.visits,
    conversions: sums.conversions,
    revenue: sums.revenue,
    spend: sums.spend,
    uniqueUsers,
    ctr: ratio(sums.clicks, sums.exposure),
    cvr: ratio(sums.conversions, storeScope ? sums.visits : sums.clicks),
    roi: ratio(sums.revenue, sums.spend),
    cac: ratio(sums.spend, sums.conversions),
    newUsers,
  };
}
