// Reads the two spans' grouped sums from the rollups and explains the change between them.
import type { Pool } from 'pg';
import { DAY } from '../../stream/buckets.js';
import { groupedSumsOverRange, type GroupedSums, type QueryContext } from '../../stream/db/queries.js';
import { EMPTY_SUMS } from '../../stream/derive.js';
import type { Scope } from '../../stream/types.js';
import { EXPLAIN_DIMENSIONS, explainChange, type Explanation, type ExplainedMetric, type SegmentRow } from './contributions.js';

/** combinations of the four dimensions read per span at most; past it campaigns are folded */
export const MAX_SEGMENT_ROWS = 20_000;

export interface Span {
  from: number;
  to: number;
}

/** The same span a day or a week before, or the span just before. */
export const baselineOf = (span: Span, vs: 'day-ago' | 'week-ago' | 'previous'): Span => {
  const shift = vs === 'day-ago' ? DAY : vs === 'week-ago' ? 7 * DAY : span.to - span.from;
  return { from: span.from - shift, to: span.to - shift };
};

export interface ExplainRequest {
  metric: ExplainedMetric;
  filter: Scope;
  regionsAllowed?: string[];
  current: Span;
  baseline: Span;
}

export interface ExplainAnswer extends Explanation {
  scope: Scope;
  currentSpan: { from: string; to: string };
  baselineSpan: { from: string; to: string };
  /** more campaigns than one answer reads: campaigns were left out of the segments */
  campaignsFolded: boolean;
}

export async function explainMove(pool: Pool, req: ExplainRequest, ctx: QueryContext): Promise<ExplainAnswer> {
  const read = (span: Span, foldCampaigns: boolean) =>
    groupedSumsOverRange(pool, { ...span, filter: req.filter, regionsAllowed: req.regionsAllowed }, ctx, { limit: MAX_SEGMENT_ROWS, foldCampaigns });
  let [current, baseline] = await Promise.all([read(req.current, false), read(req.baseline, false)]);
  const campaignsFolded = !current || !baseline;
  if (campaignsFolded) [current, baseline] = await Promise.all([read(req.current, true), read(req.baseline, true)]);
  const fixed = EXPLAIN_DIMENSIONS.filter((d) => req.filter[d] !== undefined);
  const explanation = explainChange(mergeSpans(current ?? [], baseline ?? []), req.metric, { storeScope: req.filter.store !== undefined, fixed });
  const iso = (span: Span) => ({ from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString() });
  return { ...explanation, scope: req.filter, currentSpan: iso(req.current), baselineSpan: iso(req.baseline), campaignsFolded };
}

function mergeSpans(current: GroupedSums[], baseline: GroupedSums[]): SegmentRow[] {
  const rows = new Map<string, SegmentRow>();
  const rowOf = (g: GroupedSums) => {
    const key = [g.region, g.store, g.channel, g.campaign].join('\u0000');
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { region: g.region, store: g.store, channel: g.channel, campaign: g.campaign, current: EMPTY_SUMS, baseline: EMPTY_SUMS }));
    return row;
  };
  for (const g of current) rowOf(g).current = g.sums;
  for (const g of baseline) rowOf(g).baseline = g.sums;
  return [...rows.values()];
}
