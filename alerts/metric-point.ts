import type { AlertMetric } from '../config/alert-schema.js';
import { RATIOS } from '../stream/derive.js';
import type { MetricValues, Sums } from '../stream/types.js';
import type { SeriesPoint } from './detectors/index.js';

/** the metrics that are sums or ratios of sums (not unique users) */
export type SummedMetric = Exclude<AlertMetric, 'uniqueUsers'>;

/** The sum a metric's value rests on: windows with less of it than a rule's minVolume are not judged. */
function volumeOf(metric: AlertMetric, sums: Sums, uniqueUsers: number, storeScope: boolean): number {
  switch (metric) {
    case 'ctr': return sums.exposure;
    case 'cvr': return storeScope ? sums.visits : sums.clicks;
    case 'roi': return sums.spend;
    case 'cac': return sums.conversions;
    case 'uniqueUsers': return uniqueUsers;
    default: return sums[metric];
  }
}

/** A window's figures as the one metric a rule watches, with the volume that metric rests on. */
export function metricPoint(metric: AlertMetric, values: MetricValues, t: number, storeScope: boolean): SeriesPoint {
  return { t, value: values[metric], volume: volumeOf(metric, values, values.uniqueUsers, storeScope) };
}

/**
 * The same point from a window's sums alone (no unique users), without building the other
 * metrics: a minute turn sums ~80 000 history windows again, and every object each one made
 * outlived the young generation in the kept history, which its collections then copied.
 */
export function sumsPoint(metric: SummedMetric, sums: Sums, t: number, storeScope: boolean): SeriesPoint {
  const value = metric === 'ctr' || metric === 'roi' || metric === 'cac' ? RATIOS[metric](sums)
    : metric === 'cvr' ? RATIOS.cvr(sums, storeScope)
    : sums[metric];
  return { t, value, volume: volumeOf(metric, sums, 0, storeScope) };
}
