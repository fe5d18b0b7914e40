// One line per alert for the ticker and the notifications, in Chinese and in English.
import type { AlertMetric, AlertRule } from '../config/alert-schema.js';
import type { AppConfig } from '../config/load.js';
import type { Judgement } from './detectors/index.js';
import { metricUnit } from './metric-unit.js';

const METRIC_NAMES: Record<AlertMetric, [string, string]> = {
  exposure: ['曝光', 'exposure'], clicks: ['点击', 'clicks'], visits: ['客流', 'foot traffic'], conversions: ['订单', 'orders'],
  revenue: ['营收', 'revenue'], spend: ['花费', 'spend'], uniqueUsers: ['独立用户', 'unique users'], ctr: ['点击率', 'CTR'],
  cvr: ['转化率', 'conversion rate'], roi: ['ROI', 'ROI'], cac: ['获客成本', 'CAC'],
};
const VS_NAMES = { previous: ['较上一窗口', 'vs the previous window'], 'day-ago': ['较昨日同期', 'vs a day ago'], 'week-ago': ['较上周同期', 'vs a week ago'] } as const;

// made once: toLocaleString builds a formatter on every call (the evaluator describes every active alert each cycle)
const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatMetric(metric: AlertMetric, value: number | null): string {
  if (value === null) return '—';
  switch (metricUnit(metric)) {
    case 'percent': return `${(value * 100).toFixed(2)}%`;
    case 'ratio': return value.toFixed(2);
    case 'money': return `¥${WHOLE.format(value)}`;
    case 'count': return WHOLE.format(Math.round(value));
  }
}

const sigmas = (score: number) => (Math.abs(score) >= 1000 ? `${score < 0 ? '<−' : '>'}999σ` : `${score.toFixed(1)}σ`);
const percent = (change: number) => `${change >= 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(0)}%`;

/** What the labels name, e.g. "抖音" / "Douyin", "华东 · 杭州武林店". */
export function instanceNames(labels: Record<string, string>, cfg: AppConfig): [string, string] {
  const parts: Array<[string, string]> = [];
  if (labels.store) {
    const store = cfg.storeById.get(labels.store);
    parts.push(store ? [store.name, store.nameEn] : [labels.store, labels.store]);
  } else if (labels.region) {
    const region = cfg.regionById.get(labels.region);
    parts.push(region ? [region.name, region.nameEn] : [labels.region, labels.region]);
  }
  if (labels.channel) {
    const channel = cfg.channelById.get(labels.channel);
    parts.push(channel ? [channel.name, channel.nameEn] : [labels.channel, labels.channel]);
  }
  if (labels.campaign) parts.push([`活动 ${labels.campaign}`, `campaign ${labels.campaign}`]);
  if (!parts.length) parts.push(['全国', 'Nation']);
  return [parts.map((p) => p[0]).join(' · '), parts.map((p) => p[1]).join(' · ')];
}

/**
 * "渠道转化率骤降 · 抖音：转化率 0.91%（较昨日同期 −62%）" and its English twin. A resolved
 * threshold alert says the value is back inside the bound, not "above" it beside a value that is not.
 */
export function summarize(rule: AlertRule, labels: Record<string, string>, value: number | null, judgement: Judgement | undefined, cfg: AppConfig, resolved = false): [string, string] {
  const [whereZh, whereEn] = instanceNames(labels, cfg);
  const [metricZh, metricEn] = METRIC_NAMES[rule.metric];
  const shown = formatMetric(rule.metric, value);
  let zh = '';
  let en = '';
  if (rule.when) {
    const below = 'below' in rule.when;
    const bound = formatMetric(rule.metric, below ? (rule.when as { below: number }).below : (rule.when as { above: number }).above);
    zh = resolved ? `已${below ? '回升至' : '回落至'} ${bound} ${below ? '以上' : '以下'}` : `${below ? '低于' : '高于'} ${bound}`;
    en = resolved ? `back ${below ? 'above' : 'below'} ${bound}` : `${below ? 'below' : 'above'} ${bound}`;
  } else if (judgement && rule.detector) {
    const d = rule.detector;
    if (judgement.unchangedFor) {
      zh = `连续 ${judgement.unchangedFor} 个窗口丝毫未变，此前从未这么久`;
      en = `unchanged for ${judgement.unchangedFor} windows, longer than ever before`;
    } else if (d.kind === 'drop' || d.kind === 'rise') {
      zh = `${VS_NAMES[d.vs][0]} ${percent(judgement.score)}`;
      en = `${percent(judgement.score)} ${VS_NAMES[d.vs][1]}`;
    } else {
      const base = formatMetric(rule.metric, judgement.baseline ?? null);
      zh = `${d.kind === 'seasonal' ? '偏离日常' : '偏离均值'} ${sigmas(judgement.score)}（基线 ${base}）`;
      en = `${sigmas(judgement.score)} off the ${d.kind === 'seasonal' ? 'daily profile' : 'mean'} (baseline ${base})`;
    }
  }
  return [
    `${rule.name} · ${whereZh}：${metricZh} ${shown}${zh ? `（${zh}）` : ''}`,
    `${rule.nameEn} · ${whereEn}: ${metricEn} ${shown}${en ? ` (${en})` : ''}`,
  ];
}
