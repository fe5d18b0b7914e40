// "Why did it move?": which segments (a region, a store, a channel, a campaign, or a pair of
// them) explain the change of a figure between a baseline span and the current one. Pure: the
// grouped sums come from the rollups (explain.ts).
//
// A sum's change splits exactly into its segments' changes. A ratio (conversion rate, CTR, ROI,
// CAC) moves for two reasons, reported apart: the mix (the segments' shares of the denominator
// changed — traffic moved to a channel that converts worse) and the rate (a segment itself
// converts worse). With w a segment's share of the denominator and r its ratio, R the total's:
//   ΔR = Σ (w₁ − w₀)(r₀ − R₀)  [mix]  +  Σ w₁ (r₁ − r₀)  [rate]
// exactly (Σ (w₁ − w₀) = 0); a segment absent from the baseline takes r₀ = R₀.
import { SUM_FIELDS, type Sums } from '../../stream/types.js';

export const EXPLAIN_DIMENSIONS = ['region', 'store', 'channel', 'campaign'] as const;
export type ExplainDimension = (typeof EXPLAIN_DIMENSIONS)[number];

/** The segmentations tried: each dimension alone and the pairs a marketer reads (a store implies its region). */
export const SEGMENTATIONS: ExplainDimension[][] = [
  ['region'], ['store'], ['channel'], ['campaign'],
  ['channel', 'region'], ['channel', 'store'], ['channel', 'campaign'], ['region', 'campaign'],
];

export const EXPLAINED_METRICS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'ctr', 'cvr', 'roi', 'cac'] as const;
export type ExplainedMetric = (typeof EXPLAINED_METRICS)[number];

type SumField = (typeof SUM_FIELDS)[number];
/** numerator and denominator of each figure (a sum's denominator is none) */
function partsOf(metric: ExplainedMetric, storeScope: boolean): [SumField, SumField | null] {
  switch (metric) {
    case 'ctr': return ['clicks', 'exposure'];
    case 'cvr': return ['conversions', storeScope ? 'visits' : 'clicks'];
    case 'roi': return ['revenue', 'spend'];
    case 'cac': return ['spend', 'conversions'];
    default: return [metric, null];
  }
}

/** One combination of the four dimensions ('' = none) with its sums in both spans. */
export interface SegmentRow {
  region: string;
  store: string;
  channel: string;
  campaign: string;
  current: Sums;
  baseline: Sums;
}

export interface Contributor {
  /** the segment: one or two dimensions (null = events without that dimension) */
  segment: Partial<Record<ExplainDimension, string | null>>;
  current: number | null;
  baseline: number | null;
  /** its part of the total's change (a sum: its own change) */
  effect: number;
  /** effect ÷ the total's change: 0.71 = explains 71 %; null when the total did not move */
  share: number | null;
  /** ratios: the part due to the segment's weight changing, and to its own ratio changing */
  mix?: number;
  rate?: number;
  /** the segment's names (answers of the API) */
  label?: string;
  labelEn?: string;
}

export interface Explanation {
  metric: ExplainedMetric;
  kind: 'sum' | 'ratio';
  current: number | null;
  baseline: number | null;
  change: number | null;
  /** change ÷ baseline */
  relative: number | null;
  /** the few segments that explain most, the most specific first where it explains nearly as much */
  top: Contributor[];
  /** per segmentation (e.g. "channel" or "channel×region"): its strongest segments */
  bySegmentation: Record<string, Contributor[]>;
}

const TOP = 5;
const PER_SEGMENTATION = 3;
/** a pair that explains this much of its single dimension's share is shown instead of it */
const SPECIFIC_ENOUGH = 0.8;
/** a segment explaining less than this of the change is not worth a line */
const MIN_SHARE = 0.05;

const ratio = (num: number, den: number) => (den === 0 ? null : num / den);

interface Totals { num: number; den: number }
const add = (t: Totals, sums: Sums, num: SumField, den: SumField | null) => {
  t.num += sums[num];
  t.den += den ? sums[den] : 1;
};

export function explainChange(rows: SegmentRow[], metric: ExplainedMetric, opts: { storeScope: boolean; fixed: ExplainDimension[] }): Explanation {
  const [num, den] = partsOf(metric, opts.storeScope);
  const kind = den ? 'ratio' : 'sum';
  const total0: Totals = { num: 0, den: 0 };
  const total1: Totals = { num: 0, den: 0 };
  for (const row of rows) {
    add(total0, row.baseline, num, den);
    add(total1, row.current, num, den);
  }
  const value = (t: Totals) => (kind === 'sum' ? t.num : ratio(t.num, t.den));
  const [R0, R1] = [value(total0), value(total1)];
  const change = R0 !== null && R1 !== null ? R1 - R0 : null;

  // a dimension fixed by the scope, or with one value in every row (no store in online events), cuts nothing
  const varies = new Set(EXPLAIN_DIMENSIONS.filter((d) => !opts.fixed.includes(d) && new Set(rows.map((r) => r[d])).size > 1));
  const bySegmentation: Record<string, Contributor[]> = {};
  const all: Array<Contributor & { dims: ExplainDimension[] }> = [];
  for (const dims of SEGMENTATIONS) {
    if (!dims.every((d) => varies.has(d))) continue;
    const groups = new Map<string, { segment: Contributor['segment']; t0: Totals; t1: Totals }>();
    for (const row of rows) {
      const key = dims.map((d) => row[d]).join('\u0000');
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { segment: Object.fromEntries(dims.map((d) => [d, row[d] || null])), t0: { num: 0, den: 0 }, t1: { num: 0, den: 0 } }));
      add(group.t0, row.baseline, num, den);
      add(group.t1, row.current, num, den);
    }
    const contributors: Contributor[] = [];
    for (const { segment, t0, t1 } of groups.values()) {
      let contributor: Contributor;
      if (kind === 'sum') {
        const effect = t1.num - t0.num;
        contributor = { segment, current: t1.num, baseline: t0.num, effect, share: change ? effect / change : null };
      } else {
        if (R0 === null || R1 === null || change === null) continue;
        const w0 = total0.den === 0 ? 0 : t0.den / total0.den;
        const w1 = total1.den === 0 ? 0 : t1.den / total1.den;
        const r0 = ratio(t0.num, t0.den) ?? R0;
        const r1 = ratio(t1.num, t1.den) ?? r0;
        const mix = (w1 - w0) * (r0 - R0);
        const rate = w1 * (r1 - r0);
        contributor = { segment, current: ratio(t1.num, t1.den), baseline: ratio(t0.num, t0.den), effect: mix + rate, share: change ? (mix + rate) / change : null, mix, rate };
      }
      contributors.push(contributor);
    }
    const strongest = contributors.sort(byStrength).slice(0, PER_SEGMENTATION);
    bySegmentation[dims.join('×')] = strongest;
    for (const c of contributors) all.push({ ...c, dims });
  }

  // the same rows reached by two cuts (a campaign only one channel runs, and that channel × it):
  // the shorter name says it
  const sameRows = (c: Contributor) => `${c.current?.toPrecision(9)}|${c.baseline?.toPrecision(9)}|${c.effect.toPrecision(9)}`;
  // of the same rows under several names: one that names something ("华南 × no campaign") before
  // one that names nothing ("no campaign"), then the shorter
  const namesNothing = (c: Contributor) => (Object.values(c.segment).every((v) => v === null) ? 1 : 0);
  const ranked = all
    .filter((c) => (c.share === null ? c.effect !== 0 : c.share >= MIN_SHARE))
    .sort((a, b) => byStrength(a, b) || namesNothing(a) - namesNothing(b) || a.dims.length - b.dims.length);
  const pairs = ranked.filter((c) => c.dims.length === 2);
  const top: Contributor[] = [];
  const shown = new Set<string>();
  for (const { dims, ...c } of ranked) {
    if (top.length === TOP) break;
    if (shown.has(sameRows(c))) continue;
    // a single dimension gives way to a pair inside it that explains nearly as much (and is narrower)
    const narrower = dims.length === 1 && pairs.some((p) => p.segment[dims[0]!] === c.segment[dims[0]!] && sameRows(p) !== sameRows(c) && (p.share ?? 0) >= SPECIFIC_ENOUGH * (c.share ?? 0));
    // (and so do the same rows under another name)
    shown.add(sameRows(c));
    if (narrower) continue;
    top.push(c);
  }
  return { metric, kind, current: R1, baseline: R0, change, relative: change !== null && R0 ? change / R0 : null, top, bySegmentation };
}

/** Larger share first (same direction as the total), then larger effect. */
function byStrength(a: Contributor, b: Contributor): number {
  if (a.share !== null && b.share !== null && a.share !== b.share) return b.share - a.share;
  return Math.abs(b.effect) - Math.abs(a.effect);
}
