// What the wall's panels show, whatever the source: the live socket frames or a history range
// from the query API. Pure functions; the stores hold the state.
import { deriveMetrics, EMPTY_SUMS } from '../stream/derive.js';
import type {
  FlowPoint, FlowValues, MetricPoint, MetricValues, MetricsResponse, ScreenChannel, ScreenChild, ScreenFrame, ScreenLevel, ScreenNamed, ScreenSubscription, SumField, Sums,
} from '../stream/types.js';

export type TimeRange = 'live' | 'today' | '7d' | '30d';
export const TIME_RANGES: TimeRange[] = ['live', 'today', '7d', '30d'];

export const TREND_CAP = 360;
export const CHANNEL_TREND_CAP = 60;

export interface ViewModel {
  range: TimeRange;
  level: ScreenLevel;
  scope: ScreenSubscription;
  path: ScreenNamed[];
  asOf: string;
  totals: MetricValues;
  /** the same span yesterday (live) or the previous period (history); null when unknown */
  compare: Sums | null;
  /** unique users over several days cannot be summed: the tile shows the daily average */
  uniqueUsersIsDailyAverage: boolean;
  /** customers first seen in the scope over the span (new users add up across days); null when unknown */
  newUsers: number | null;
  /** the same over the comparison span */
  compareNewUsers: number | null;
  trend: FlowPoint[];
  channels: ScreenChannel[];
  children: ScreenChild[];
  stores: ScreenChild[];
}

/** Newest points replace the ones with the same time and extend the series, which stays capped. */
export function mergePoints<P extends FlowPoint>(existing: P[], tail: P[], cap: number): P[] {
  if (!tail.length) return existing;
  const firstNew = tail[0]!.t;
  let keep = existing.length;
  while (keep > 0 && existing[keep - 1]!.t >= firstNew) keep--;
  const merged = existing.slice(0, keep).concat(tail);
  return merged.length > cap ? merged.slice(merged.length - cap) : merged;
}

/** A pushed frame applied to the current snapshot of the same view. */
export function mergeFrame(current: ScreenFrame | null, frame: ScreenFrame): ScreenFrame {
  if (!frame.partial || !current || current.viewKey !== frame.viewKey) return frame;
  const previousTrend = new Map(current.channels.map((c) => [c.id, c.trend]));
  return {
    ...frame,
    today: { ...frame.today, yesterday: frame.today.yesterday ?? current.today.yesterday, newUsers: frame.today.newUsers ?? current.today.newUsers },
    trend: mergePoints(current.trend, frame.trend, TREND_CAP),
    channels: frame.channels.map((c) => ({ ...c, trend: mergePoints(previousTrend.get(c.id) ?? [], c.trend, CHANNEL_TREND_CAP) })),
  };
}

export function modelFromFrame(frame: ScreenFrame): ViewModel {
  return {
    range: 'live', level: frame.level, scope: frame.scope, path: frame.path, asOf: frame.asOf,
    totals: frame.today.values, compare: frame.today.yesterday, uniqueUsersIsDailyAverage: false,
    newUsers: frame.today.newUsers?.today ?? null, compareNewUsers: frame.today.newUsers?.yesterday ?? null,
    trend: frame.trend, channels: frame.channels, children: frame.children, stores: frame.stores,
  };
}

export function sumPoints(points: Sums[]): Sums {
  const sums = { ...EMPTY_SUMS };
  for (const p of points) {
    sums.exposure += p.exposure; sums.clicks += p.clicks; sums.visits += p.visits;
    sums.conversions += p.conversions; sums.revenue += p.revenue; sums.spend += p.spend;
  }
  // money sums of many points: keep them at the pipeline's 4 decimals
  sums.revenue = Math.round(sums.revenue * 1e4) / 1e4;
  sums.spend = Math.round(sums.spend * 1e4) / 1e4;
  return sums;
}

/** New users summed over points; null when any point does not know them. */
export function newUsersOf(points: Array<Pick<MetricPoint, 'newUsers'>>): number | null {
  let total = 0;
  for (const p of points) {
    if (p.newUsers === null || p.newUsers === undefined) return null;
    total += p.newUsers;
  }
  return total;
}

const totalOf = (points: MetricPoint[], storeScope: boolean): MetricValues => {
  const users = points.map((p) => p.uniqueUsers);
  const uniqueUsers = users.length === 1 ? users[0]! : users.length ? Math.round(users.reduce((a, b) => a + b, 0) / users.length) : 0;
  return deriveMetrics(sumPoints(points), uniqueUsers, storeScope);
};

/** a breakdown's figures: the sums and their ratios (a breakdown shows no unique users, as in the live frames) */
function flowValuesOf(sums: Sums, storeScope: boolean): FlowValues {
  const { uniqueUsers: _, ...flow } = deriveMetrics(sums, 0, storeScope);
  return flow;
}

/** What the wall asks a breakdown's points for (`fields`): the sums it draws, and new users where it shows them. */
export const BREAKDOWN_FIELDS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend'] as const satisfies readonly SumField[];
export const BREAKDOWN_WITH_NEW_USERS = [...BREAKDOWN_FIELDS, 'newUsers'] as const;
export type BreakdownPoint = Pick<MetricPoint, 't' | SumField>;
export type BreakdownPointWithNewUsers = Pick<MetricPoint, 't' | SumField | 'newUsers'>;

export interface HistoryAnswers {
  range: Exclude<TimeRange, 'live'>;
  asOf: string;
  /** step 1d over the range: totals */
  totals: MetricsResponse;
  /** step 1d over the period before: the comparison */
  previous: MetricsResponse<BreakdownPointWithNewUsers>;
  /** grouped by channel at the trend step */
  byChannel: MetricsResponse<BreakdownPointWithNewUsers>;
  /** grouped by region (nation) or store (region), step 1d */
  byChild: MetricsResponse<BreakdownPoint> | null;
  /** grouped by store, step 1d (nation only; a region's children are its stores) */
  byStore: MetricsResponse<BreakdownPoint> | null;
}

/** A history range shaped like a live view, names and places taken from the live snapshot. */
export function modelFromHistory(answers: HistoryAnswers, live: ScreenFrame): ViewModel {
  const storeScope = live.level === 'store';
  const seriesOf = <P>(response: MetricsResponse<P> | null, dim: 'channel' | 'region' | 'store') =>
    new Map((response?.series ?? []).map((s) => [s.key[dim] ?? '', s.points]));
  const channelSeries = seriesOf(answers.byChannel, 'channel');
  const childDim = live.level === 'nation' ? 'region' : 'store';
  const childSeries = seriesOf(answers.byChild, childDim);
  const storeSeries = live.level === 'nation' ? seriesOf(answers.byStore, 'store') : childSeries;
  const trendLength = answers.byChannel.series[0]?.points.length ?? 0;
  const trend: FlowPoint[] = [];
  for (let i = 0; i < trendLength; i++) {
    const at = answers.byChannel.series.map((s) => s.points[i]!);
    trend.push({ t: at[0]!.t, ...flowValuesOf(sumPoints(at), storeScope), newUsers: newUsersOf(at) });
  }
  const children = live.children.map((c) => ({ ...c, today: flowValuesOf(sumPoints(childSeries.get(c.id) ?? []), childDim === 'store') }));
  return {
    range: answers.range, level: live.level, scope: live.scope, path: live.path, asOf: answers.asOf,
    totals: totalOf(answers.totals.series[0]?.points ?? [], storeScope),
    compare: answers.previous.series.length ? sumPoints(answers.previous.series[0]!.points) : null,
    uniqueUsersIsDailyAverage: (answers.totals.series[0]?.points.length ?? 0) > 1,
    newUsers: answers.totals.series.length ? newUsersOf(answers.totals.series[0]!.points) : null,
    compareNewUsers: answers.previous.series.length ? newUsersOf(answers.previous.series[0]!.points) : null,
    trend,
    channels: live.channels.map((c) => {
      const points = channelSeries.get(c.id) ?? [];
      return { ...c, today: flowValuesOf(sumPoints(points), storeScope), trend: points.map((p) => ({ t: p.t, ...flowValuesOf(p, storeScope), newUsers: p.newUsers })) };
    }),
    children,
    stores: live.level === 'nation' ? live.stores.map((s) => ({ ...s, today: flowValuesOf(sumPoints(storeSeries.get(s.id) ?? []), true) })) : children,
  };
}
