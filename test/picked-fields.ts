// A whole /api/v1/metrics answer cut down to some point fields: what `fields=` must answer.
import type { MetricsResponse, PointField } from '../stream/types.js';

export const pickedFields = (body: MetricsResponse, fields: PointField[]) => ({
  ...body,
  series: body.series.map((s) => ({ ...s, points: s.points.map((p) => Object.fromEntries([['t', p.t], ...fields.map((f) => [f, p[f]])])) })),
});
