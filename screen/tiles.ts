// The headline tiles of a view: which figures, their values and their change against the comparison.
import { deriveMetrics } from '../stream/derive.js';
import type { MetricValues } from '../stream/types.js';
import { change, formatCount, formatMoney, formatPercent, formatRatio } from './format.js';
import type { Locale } from './i18n.js';
import type { ViewModel } from './view-model.js';

export type TileField = 'exposure' | 'clicks' | 'conversions' | 'revenue' | 'spend' | 'roi' | 'visits' | 'newUsers' | 'cvr' | 'aov' | 'perVisitor';

export interface Tile {
  field: TileField;
  /** i18n key of the label */
  label: string;
  text: string;
  value: number | null;
  change: number | null;
  /** a rise is good for most figures, bad for spend */
  higherIsBetter: boolean;
  warn: boolean;
}

// new users (first seen in the scope) with their change; the unique users beside them, small
const AREA_TILES: TileField[] = ['exposure', 'clicks', 'conversions', 'revenue', 'spend', 'roi', 'visits', 'newUsers'];
// a store's visits carry no user ids (door counters), so "unique users" would read 0 or 1 there:
// its eighth tile is what each visitor spent
const STORE_TILES: TileField[] = ['visits', 'conversions', 'cvr', 'revenue', 'aov', 'spend', 'roi', 'perVisitor'];

export function tilesOf(model: ViewModel, locale: Locale, roiFloor: number): Tile[] {
  const storeScope = model.level === 'store';
  const before: MetricValues | null = model.compare ? deriveMetrics(model.compare, 0, storeScope) : null;
  const aov = (v: MetricValues | null) => (v && v.conversions > 0 ? v.revenue / v.conversions : null);
  const perVisitor = (v: MetricValues | null) => (v && v.visits > 0 ? v.revenue / v.visits : null);
  const ratioOf = (field: TileField, v: MetricValues | null) => (field === 'aov' ? aov(v) : perVisitor(v));
  return (storeScope ? STORE_TILES : AREA_TILES).map((field) => {
    const derived = field === 'aov' || field === 'perVisitor';
    const value = derived ? ratioOf(field, model.totals) : field === 'newUsers' ? model.newUsers : model.totals[field];
    const text = field === 'revenue' || field === 'spend' || derived ? formatMoney(value, locale)
      : field === 'roi' ? formatRatio(value)
      : field === 'cvr' ? formatPercent(value, 2)
      : formatCount(value, locale);
    return {
      field,
      label: storeScope && field === 'conversions' ? 'kpi.posConversions' : `kpi.${field}`,
      text,
      value,
      change: field === 'newUsers' ? (model.compareNewUsers === null ? null : change(value, model.compareNewUsers))
        : !before ? null : change(value, derived ? ratioOf(field, before) : before[field]),
      higherIsBetter: field !== 'spend',
      warn: field === 'roi' && value !== null && value < roiFloor,
    };
  });
}
