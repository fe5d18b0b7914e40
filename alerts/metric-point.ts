import type { AlertMetric } from '../config/alert-schema.js';
import type { MetricValues } from '../stream/types.js';
import type { SeriesPoint } from './detectors/index.js';

/** A window's figures as the one metric a rule watches, with the volume that metric rests on. */
export function metricPoint(metric: AlertMetric, values: MetricValues, t: number, storeScope: boolean): SeriesPoint {
  const volume =
    metric === 'ctr' ? values.exposure
    : metric === 'cvr' ? (storeScope ? values.visits : values.clicks)
    : metric === 'roi' ? values.spend
    : metric === 'cac' ? values.conversions
    : values[metric];
  return { t, value: values[metric], volume };
}
