// What unit each alert metric is in: one list for the server's alert lines and the console's figures.
export type MetricUnit = 'percent' | 'money' | 'ratio' | 'count';

export function metricUnit(metric: string): MetricUnit {
  if (metric === 'ctr' || metric === 'cvr') return 'percent';
  if (metric === 'revenue' || metric === 'spend' || metric === 'cac') return 'money';
  if (metric === 'roi') return 'ratio';
  return 'count';
}
