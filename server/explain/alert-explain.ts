// "Why did it move?" for an alert: its rule's figure over the window that breached, against the
// baseline its detector compares with (a threshold rule: the same window a day before), and the
// one line its notifications and console page carry.
import type { AlertRule } from '../../config/alert-schema.js';
import type { AppConfig } from '../../config/load.js';
import { BUCKET_MS, floorTo } from '../../stream/buckets.js';
import type { Pool } from 'pg';
import type { QueryContext } from '../../stream/db/queries.js';
import type { ScreenAlert, Scope } from '../../stream/types.js';
import { EXPLAINED_METRICS, type ExplainedMetric } from './contributions.js';
import { segmentNames } from './names.js';
import { baselineOf, explainMove, type ExplainAnswer, type ExplainRequest } from './explain.js';

/** What of an alert says where and when it moved. */
export type AlertMoment = Pick<ScreenAlert, 'labels' | 'firedAt' | 'activeSince'>;

/** The request explaining an alert, or null when its figure is not a sum or ratio of the rollups (unique users). */
export function alertExplainRequest(rule: AlertRule, alert: AlertMoment): ExplainRequest | null {
  if (!(EXPLAINED_METRICS as readonly string[]).includes(rule.metric)) return null;
  const end = floorTo(Date.parse(alert.firedAt ?? alert.activeSince), BUCKET_MS);
  const current = { from: end - Math.max(BUCKET_MS, floorTo(rule.window, BUCKET_MS)), to: end };
  const vs = rule.detector && (rule.detector.kind === 'drop' || rule.detector.kind === 'rise') ? rule.detector.vs : 'day-ago';
  const { region, store, channel, campaign } = alert.labels;
  const filter: Scope = { ...(region && { region }), ...(store && { store }), ...(channel && { channel }), ...(campaign && { campaign }) };
  return { metric: rule.metric as ExplainedMetric, filter, current, baseline: baselineOf(current, vs) };
}

/**
 * An alert's explanation and the line its notifications and console page carry; null when its
 * figure cannot be split by segment (unique users).
 */
export async function explainAlert(pool: Pool, cfg: AppConfig, ctx: QueryContext, rule: AlertRule, alert: AlertMoment): Promise<{ answer: ExplainAnswer; line: [string, string] | null } | null> {
  const request = alertExplainRequest(rule, alert);
  if (!request) return null;
  const answer = await explainMove(pool, request, ctx);
  return { answer, line: explanationLine(answer, cfg) };
}

/** a share as the wall shows it: past all of the change (others moved the other way) "> 100%" */
const pct = (x: number) => (Math.round(x * 100) > 100 ? '>100%' : `${Math.round(x * 100)}%`);

/** "−32%：抖音 × 华东 解释 71%，活动 双12预热 58%" and its English twin; null when nothing explains it. */
export function explanationLine(answer: ExplainAnswer, cfg: AppConfig, count = 3): [string, string] | null {
  const shown = answer.top.filter((c) => c.share !== null).slice(0, count);
  if (!shown.length || answer.relative === null) return null;
  // from next to nothing (a quiet minute a day ago) a rise reads as thousands of percent: say "> +999%"
  const move = Math.abs(answer.relative) > 9.99 ? `>${answer.relative > 0 ? '+' : '−'}999%` : `${answer.relative >= 0 ? '+' : '−'}${Math.abs(Math.round(answer.relative * 100))}%`;
  const zh = shown.map((c) => `${segmentNames(c.segment, cfg)[0]} 解释 ${pct(c.share!)}`).join('，');
  const en = shown.map((c) => `${segmentNames(c.segment, cfg)[1]} explains ${pct(c.share!)}`).join(', ');
  return [`${move}：${zh}`, `${move}: ${en}`];
}
