// "Why did it move?" on the wall: which question a tile or an alert asks of the API, and how an
// answer's effects read. Pure; WhyPanel.vue shows them.
import { metricUnit } from '../alerts/metric-unit.js';
import type { Contributor, Explanation } from '../server/explain/contributions.js';
import type { ScreenSubscription } from '../stream/types.js';
import { formatCount, formatMoney } from './format.js';
import type { Locale } from './i18n.js';
import type { TileField } from './tiles.js';

export type WhyQuestion =
  | { kind: 'tile'; field: TileField }
  | { kind: 'alert'; alertId: string; title: string }
  /** a channel's bar in the ROI chart: that channel's ROI within the view */
  | { kind: 'channel'; channel: string; title: string };

/** The tiles whose figure is a sum or ratio of the rollups, and the metric each is. */
const TILE_METRICS: Partial<Record<TileField, string>> = {
  exposure: 'exposure', clicks: 'clicks', conversions: 'conversions', revenue: 'revenue', spend: 'spend', roi: 'roi', visits: 'visits', cvr: 'cvr',
};
export const explainableTile = (field: TileField) => field in TILE_METRICS;

/** A segment as the API answers it, with its names. */
export type ExplainContributor = Contributor & { label: string; labelEn: string };

export interface ExplainView extends Omit<Explanation, 'top' | 'bySegmentation'> {
  top: ExplainContributor[];
  bySegmentation: Record<string, ExplainContributor[]>;
  summary?: string | null;
}

/** The API path answering a question for the view in view: live → today vs the same span yesterday; a range → vs the span before; a replayed instant → its day so far vs yesterday's. */
export function explainPath(question: WhyQuestion, scope: ScreenSubscription, span: { from: number; to: number; vs: 'previous' | 'day-ago' } | null): string | null {
  if (question.kind === 'alert') return `/api/v1/alerts/${encodeURIComponent(question.alertId)}/explain`;
  const metric = question.kind === 'channel' ? 'roi' : TILE_METRICS[question.field];
  if (!metric) return null;
  const params = new URLSearchParams({ metric });
  if (span) {
    params.set('from', String(span.from));
    params.set('to', String(span.to));
    params.set('vs', span.vs);
  }
  if (scope.store) params.set('store', scope.store);
  else if (scope.region) params.set('region', scope.region);
  const channel = question.kind === 'channel' ? question.channel : scope.channel;
  if (channel) params.set('channel', channel);
  return `/api/v1/explain?${params}`;
}

/** An effect in the figure's own unit: money, a count, percentage points of a rate, or a ratio's change. */
export function formatEffect(metric: string, effect: number, locale: Locale): string {
  const sign = effect > 0 ? '+' : effect < 0 ? '−' : '';
  const size = Math.abs(effect);
  switch (metricUnit(metric)) {
    case 'percent': return `${sign}${(size * 100).toFixed(2)} pp`;
    case 'ratio': return `${sign}${size.toFixed(2)}`;
    case 'money': return `${sign}${formatMoney(size, locale)}`;
    case 'count': return `${sign}${formatCount(size, locale)}`;
  }
}

/** A relative change with its arrow; from next to nothing it reads "▲ >999%". */
export const formatMove = (relative: number | null | undefined): string =>
  relative === null || relative === undefined ? '' : `${relative >= 0 ? '▲' : '▼'} ${Math.abs(relative) > 9.99 ? '>999' : Math.abs(relative * 100).toFixed(1)}%`;

/** A share; past all of it (others moved the other way) it reads "> 100%". */
export const formatShare = (share: number | null) => (share === null ? '' : Math.round(share * 100) > 100 ? '>100%' : `${Math.round(share * 100)}%`);

/** under this relative change the segments' moves mostly offset one another: the panel says so */
export const BARELY_MOVED = 0.02;
