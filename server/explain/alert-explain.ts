// "Why did it move?" for an alert: its rule's figure over the window that breached, against the
// baseline its detector compares with (a threshold rule: the same window a day before), and the
// one line its notifications and console page carry.
import type { AlertRule } from '../../config/alert-schema.js';
import type { AppConfig } from '../../config/load.js';
import { BUCKET_MS, floorTo } from '../../stream/buckets.js';
import type { Scope } from '../../stream/types.js';
import { EXPLAINED_METRICS, type Contributor, type ExplainedMetric } from './contributions.js';
import { baselineOf, type ExplainAnswer, type ExplainRequest } from './explain.js';

/** The request explaining an alert, or null when its figure is not a sum or ratio of the rollups (unique users). */
export function alertExplainRequest(rule: AlertRule, alert: { labels: Record<string, string>; firedAt: number | null; activeSince: number }): ExplainRequest | null {
  if (!(EXPLAINED_METRICS as readonly string[]).includes(rule.metric)) return null;
  const end = floorTo(alert.firedAt ?? alert.activeSince, BUCKET_MS);
  const current = { from: end - Math.max(BUCKET_MS, floorTo(rule.window, BUCKET_MS)), to: end };
  const vs = rule.detector && (rule.detector.kind === 'drop' || rule.detector.kind === 'rise') ? rule.detector.vs : 'day-ago';
  const { region, store, channel, campaign } = alert.labels;
  const filter: Scope = { ...(region && { region }), ...(store && { store }), ...(channel && { channel }), ...(campaign && { campaign }) };
  return { metric: rule.metric as ExplainedMetric, filter, current, baseline: baselineOf(current, vs) };
}

/** "抖音 × 华东" / "Douyin × East China" for a segment. */
export function segmentNames(segment: Contributor['segment'], cfg: AppConfig): [string, string] {
  const parts: Array<[string, string]> = [];
  for (const [dim, id] of Object.entries(segment)) {
    if (id === null || id === undefined) parts.push(dim === 'campaign' ? ['无活动', 'no campaign'] : dim === 'region' ? ['未知地区', 'no region'] : ['线上', 'online']);
    else if (dim === 'region') { const r = cfg.regionById.get(id); parts.push(r ? [r.name, r.nameEn] : [id, id]); }
    else if (dim === 'store') { const s = cfg.storeById.get(id); parts.push(s ? [s.name, s.nameEn] : [id, id]); }
    else if (dim === 'channel') { const c = cfg.channelById.get(id); parts.push(c ? [c.name, c.nameEn] : [id, id]); }
    else parts.push([`活动 ${id}`, `campaign ${id}`]);
  }
  return [parts.map((p) => p[0]).join(' × '), parts.map((p) => p[1]).join(' × ')];
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** "−32%：抖音 × 华东 解释 71%，活动 双12预热 58%" and its English twin; null when nothing explains it. */
export function explanationLine(answer: ExplainAnswer, cfg: AppConfig, count = 3): [string, string] | null {
  const shown = answer.top.filter((c) => c.share !== null).slice(0, count);
  if (!shown.length || answer.relative === null) return null;
  const move = `${answer.relative >= 0 ? '+' : '−'}${Math.abs(Math.round(answer.relative * 100))}%`;
  const zh = shown.map((c) => `${segmentNames(c.segment, cfg)[0]} 解释 ${pct(c.share!)}`).join('，');
  const en = shown.map((c) => `${segmentNames(c.segment, cfg)[1]} explains ${pct(c.share!)}`).join(', ');
  return [`${move}：${zh}`, `${move}: ${en}`];
}
