// A rule tried on stored history before it is enabled: its windows laid end to end over
// [from, to) from the 10 s rollup, and the very detector of the live alerts run over each
// instance's series (the same code as the backtest CLI).
import type { Pool } from 'pg';
import type { AlertRule } from '../config/alert-schema.js';
import type { AppConfig } from '../config/load.js';
import { DAY, MINUTE } from '../stream/buckets.js';
import { CHANNEL_ROLLUPS, byChannelOnly } from '../stream/db/narrow-rollups.js';
import { dimensionConditions } from '../stream/db/queries.js';
import { deriveMetrics } from '../stream/derive.js';
import type { SumField } from '../stream/types.js';
import { ruleDetector, type SeriesPoint } from './detectors/index.js';
import { ruleInstances } from './instances.js';
import { metricPoint } from './metric-point.js';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { HistoryBudgetSpent, assessSeries, breachesOf, episodesOf, type HistoryBudget } from './series.js';
import type { Assessment } from './assess.js';

/** 30 days of one-minute windows fit */
export const MAX_PREVIEW_WINDOWS = 50_000;
/** points per drawn series: enough for a chart's width, each bucket keeping its lowest and highest */
export const MAX_DRAWN_POINTS = 1_200;
/** series drawn in one answer, at most (the instances with episodes first) */
export const MAX_DRAWN_SERIES = 20;
/** Instances × windows read (the detector's look-back included) in one preview: the work a caller chooses. */
export const MAX_PREVIEW_POINTS = 500_000;
/**
 * earlier windows looked up one judgement at a time, at most (about a second of work): a detector
 * judges a whole series in one pass where it can, else each window from its own history — a
 * seasonal rule whose window does not divide the day reads 1 151 windows for each
 */
export const MAX_PREVIEW_HISTORY_READS = 5_000_000;

export interface PreviewResult {
  ruleId: string;
  from: string;
  to: string;
  windowSeconds: number;
  windows: number;
  /** where the windows the detector read begin: its look-back before `from` (windows without data count as zeros) */
  historyFrom: string;
  instances: Array<{
    key: string;
    labels: Record<string, string>;
    /** every window past its bound */
    findings: Array<{ t: string; value: number | null; score: number }>;
    /** alert episodes as the live lifecycle makes them (for, hysteresis, keepFiringFor): when each began, fired, was back inside the bound for good (recovering) and ended, and its peak */
    episodes: Array<{ start: string; end: string | null; firedAt: string | null; recoveredAt: string | null; wouldNotify: boolean; peak: { t: string; value: number | null; score: number } }>;
    /** with `series`: the instance's windows over the range as [end time ms, value, baseline] (thinned to MAX_DRAWN_POINTS) */
    series?: Array<[number, number | null, number | null]>;
  }>;
  /** a threshold rule's bound, drawn as a line */
  bound?: { below: number } | { above: number };
  /** how many times the rule would have notified over the range (firing episodes) */
  notifications: number;
  /**
   * windows of the range, summed over every instance judged (`windows` × instances), and how many
   * of them the detector could not judge for too little history before them (before the data
   * began; `auto`'s first day): "would not have paged" means little where most were not judged
   */
  judgedWindows: { of: number; unjudged: number };
}

/** What a preview refuses, and why, in English and in Chinese (the console's language) */
export class PreviewError extends Error {
  constructor(message: string, readonly zh: string) {
    super(message);
  }
}

export interface PreviewOptions {
  /** only this instance (its groupBy value; '' for a rule without groupBy) */
  instance?: string;
  /** answer each shown instance's series too, for drawing */
  series?: boolean;
  /** windows laid back from the range's end (as the live evaluation sees the latest one), not from multiples of the window */
  alignToEnd?: boolean;
  /** a range longer than one preview may judge (its windows, or the look-ups of a detector that judges each window alone): its latest windows that fit, laid back from its end */
  shortenToFit?: boolean;
  now?: number;
}

type Assessed = Array<{ point: SeriesPoint; assessment: Assessment }>;

/** A series for a chart: all of it when short, else each bucket's lowest and highest window in time order. */
export function drawnSeries(assessed: Assessed, maxPoints = MAX_DRAWN_POINTS): Array<[number, number | null, number | null]> {
  const row = ({ point, assessment }: Assessed[number]): [number, number | null, number | null] =>
    [point.t, point.value, assessment.kind === 'judged' ? (assessment.judgement.baseline ?? null) : null];
  if (assessed.length <= maxPoints) return assessed.map(row);
  const buckets = maxPoints >> 1;
  const drawn: Array<[number, number | null, number | null]> = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * assessed.length) / buckets);
    const to = Math.floor(((b + 1) * assessed.length) / buckets);
    let lo = -1;
    let hi = -1;
    for (let i = from; i < to; i++) {
      const v = assessed[i]!.point.value;
      if (v === null) continue;
      if (lo < 0 || v < assessed[lo]!.point.value!) lo = i;
      if (hi < 0 || v > assessed[hi]!.point.value!) hi = i;
    }
    if (lo < 0) drawn.push(row(assessed[from]!));
    else for (const i of lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]) drawn.push(row(assessed[i]!));
  }
  return drawn;
}

/** Campaigns with data in [from, to) under the rule's filter, counted up to `cap`. */
async function countCampaigns(pool: Pool, rule: AlertRule, range: unknown[], cap: number): Promise<number> {
  const params = [...range];
  const where = dimensionConditions(rule.filter ?? {}, params).map((c) => `AND ${c}`).join(' ');
  params.push(cap);
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT DISTINCT campaign FROM rollup_10s WHERE bucket >= $1 AND bucket < $2 AND campaign <> '' ${where} LIMIT $${params.length}) c`,
    params,
  );
  return rows[0]!.n;
}

export async function previewRule(pool: Pool, cfg: AppConfig, rule: AlertRule, from: number, requestedTo: number, options: PreviewOptions = {}): Promise<PreviewResult> {
  const now = options.now ?? Date.now();
  const only = options.instance;
  if (only !== undefined && rule.groupBy !== 'campaign' && !ruleInstances(rule, cfg, []).some((i) => i.key === only)) {
    throw new PreviewError(`instance: the rule has no instance "${only}"`, `instance: 规则没有实例 "${only}"`);
  }
  // one instance: only its part of the business is read
  const filter = only !== undefined && rule.groupBy ? { ...rule.filter, [rule.groupBy]: only } : (rule.filter ?? {});
  const windowMs = rule.window;
  // only whole windows that have settled, as the live evaluation sees them
  const to = Math.min(requestedTo, Math.floor((now - cfg.alerts.evaluation.settle) / 10_000) * 10_000);
  if (to <= from) throw new PreviewError('from: the range holds no settled window yet', 'from: 该时段还没有已结算的窗口');
  const start = options.alignToEnd ? to - Math.max(1, Math.floor((to - from) / windowMs)) * windowMs : Math.floor(from / windowMs) * windowMs;
  const windows = Math.floor((to - start) / windowMs);
  if (windows < 1) throw new PreviewError(`from: the range holds no whole ${windowMs / 1000} s window that has settled`, `from: 该时段没有完整且已结算的 ${windowMs / 1000} 秒窗口`);
  /** the range's latest `n` windows, laid back from its end, instead of a refusal (options.shortenToFit) */
  const latest = (n: number, shortenFurther: boolean) =>
    previewRule(pool, cfg, rule, to - n * windowMs, to, { ...options, alignToEnd: true, shortenToFit: shortenFurther, now });
  if (windows > MAX_PREVIEW_WINDOWS) {
    if (options.shortenToFit) return latest(MAX_PREVIEW_WINDOWS, true);
    throw new PreviewError(`${windows} windows of ${windowMs / 1000} s in that range; at most ${MAX_PREVIEW_WINDOWS}`, `该时段有 ${windows} 个 ${windowMs / 1000} 秒窗口，最多 ${MAX_PREVIEW_WINDOWS} 个`);
  }
  const detector = ruleDetector(rule);
  // history reaches back before `from` as far as the detector looks
  const lookBack = detector.historyTimes(start + windowMs, windowMs);
  const reach = Math.max(0, ...lookBack.map((t) => start + windowMs - t));
  const readFrom = start - Math.ceil((reach + windowMs) / windowMs) * windowMs;

  const params: unknown[] = [new Date(readFrom).toISOString(), new Date(start + windows * windowMs).toISOString(), readFrom, windowMs];
  const where = dimensionConditions(filter, params).map((c) => `AND ${c}`);
  const group = rule.groupBy ?? `''`;
  const count = Math.round((start + windows * windowMs - readFrom) / windowMs);

  // bounded before anything is read: campaigns (producers' ids) counted, never more than fit
  const maxInstances = Math.floor(MAX_PREVIEW_POINTS / count);
  const instanceCount = only !== undefined ? 1 : rule.groupBy === 'campaign' ? await countCampaigns(pool, rule, params.slice(0, 2), maxInstances + 1) : ruleInstances(rule, cfg, []).length;
  if (instanceCount > maxInstances) {
    const hours = Math.round(reach / 3_600_000);
    const campaigns = rule.groupBy === 'campaign';
    throw new PreviewError(
      `the preview would judge ${campaigns ? `more than ${maxInstances}` : instanceCount} instances × ${count} windows${reach > 0 ? ` (the detector looks back ${hours} h)` : ''}; at most ${MAX_PREVIEW_POINTS} in all — use a shorter range, a filter or a longer window`,
      `试算将判断${campaigns ? `超过 ${maxInstances}` : ` ${instanceCount}`} 个实例 × ${count} 个窗口${reach > 0 ? `（检测器回看 ${hours} 小时）` : ''}，总共最多 ${MAX_PREVIEW_POINTS} 个——请缩短时段、加筛选或用更长的窗口`,
    );
  }
  const window = `floor((extract(epoch FROM bucket) * 1000 - $3) / $4)::int`;
  // windows of whole minutes, nationwide or by channel: the minutes by channel hold the same sums in far fewer rows
  const table = readFrom % MINUTE === 0 && windowMs % MINUTE === 0 && byChannelOnly(filter, rule.groupBy) ? CHANNEL_ROLLUPS.minute.table : 'rollup_10s';
  const { rows } = await pool.query<Record<SumField, string> & { g: string; k: number }>(
    `SELECT ${group} AS g, ${window} AS k, sum(exposure)::text AS exposure, sum(clicks)::text AS clicks, sum(visits)::text AS visits,
            sum(conversions)::text AS conversions, sum(revenue)::text AS revenue, sum(spend)::text AS spend
     FROM ${table} WHERE bucket >= $1 AND bucket < $2 ${where.join(' ')} GROUP BY 1, 2`,
    params,
  );
  const users = new Map<string, number>();
  if (rule.metric === 'uniqueUsers') {
    const { rows: userRows } = await pool.query<{ g: string; k: number; n: string }>(
      `SELECT coalesce(${group}, '') AS g, ${window.replace('bucket', 'ts')} AS k, count(DISTINCT user_id)::text AS n
       FROM events WHERE ts >= $1 AND ts < $2 AND user_id IS NOT NULL ${where.join(' ')} GROUP BY 1, 2`,
      params,
    );
    for (const row of userRows) users.set(`${row.g}|${row.k}`, Number(row.n));
  }
  const sums = new Map(rows.map((r) => [`${r.g}|${r.k}`, r]));
  const campaigns = rule.groupBy === 'campaign' ? [...new Set(rows.map((r) => r.g))].filter(Boolean).sort() : [];

  const inRange = (t: number) => t > start && t <= to;
  const budget: HistoryBudget = { left: MAX_PREVIEW_HISTORY_READS };
  const judgedWindows = { of: 0, unjudged: 0 };
  const instances: Array<PreviewResult['instances'][number] & { assessed: Assessed }> = [];
  for (const instance of ruleInstances(rule, cfg, campaigns)) {
    if (only !== undefined && instance.key !== only) continue;
    const g = rule.groupBy ? instance.key : '';
    const series: SeriesPoint[] = Array.from({ length: count }, (_, k) => {
      const row = sums.get(`${g}|${k}`);
      const values = {
        exposure: Number(row?.exposure ?? 0), clicks: Number(row?.clicks ?? 0), visits: Number(row?.visits ?? 0),
        conversions: Number(row?.conversions ?? 0), revenue: Number(row?.revenue ?? 0), spend: Number(row?.spend ?? 0),
      };
      return metricPoint(rule.metric, deriveMetrics(values, users.get(`${g}|${k}`) ?? 0, instance.storeScope), readFrom + (k + 1) * windowMs, instance.storeScope);
    });
    let assessed: Assessed;
    try {
      assessed = assessSeries(detector, series, windowMs, rule.minVolume, budget);
    } catch (err) {
      if (!(err instanceof HistoryBudgetSpent)) throw err;
      const divides = DAY % windowMs === 0;
      const why = divides ? '' : ` (its window of ${windowMs / 1000} s does not divide the day, so no window can be judged along the whole series)`;
      // each instance judges its look-back's windows too, before the range's
      const judged = only !== undefined ? 1 : instanceCount;
      const windowsThatFit = Math.max(0, Math.floor(MAX_PREVIEW_HISTORY_READS / (lookBack.length * judged)) - (count - windows));
      const remedies: Array<[string, string]> = [];
      if (windowsThatFit > 0) remedies.push([`a shorter range (at most ${windowsThatFit} windows)`, `缩短时段（最多 ${windowsThatFit} 个窗口）`]);
      remedies.push(['a filter', '加筛选']);
      if (!divides) remedies.push(['a window that divides the day', '用能整除一天的窗口']);
      const either = (words: string[], or: string, comma: string) => (words.length > 1 ? `${words.slice(0, -1).join(comma)}${or}${words.at(-1)}` : words[0]!);
      if (options.shortenToFit && windowsThatFit > 0) return latest(windowsThatFit, false);
      throw new PreviewError(
        `the preview would look up more than ${MAX_PREVIEW_HISTORY_READS} earlier windows one judgement at a time: the detector reads ${lookBack.length} for each window it judges alone${why} — use ${either(remedies.map(([en]) => en), ' or ', ', ')}`,
        `试算需逐个判断时回查超过 ${MAX_PREVIEW_HISTORY_READS} 个更早的窗口：检测器单独判断每个窗口都要读 ${lookBack.length} 个${divides ? '' : `（它的 ${windowMs / 1000} 秒窗口不能整除一天，无法沿整个序列判断）`}——请${either(remedies.map(([, zh]) => zh), '或', '、')}`,
      );
    }
    judgedWindows.of += windows;
    for (const { point, assessment } of assessed) if (assessment.kind === 'unjudged' && inRange(point.t)) judgedWindows.unjudged++;
    const findings = breachesOf(assessed)
      .filter((f) => inRange(f.point.t))
      .map((f) => ({ t: new Date(f.point.t).toISOString(), value: f.point.value, score: f.judgement.score }));
    // the live lifecycle over the same points: what would have paged, and for how long
    const episodes = episodesOf(assessed, rule)
      .filter((e) => inRange(e.onset.point.t))
      .map((e) => ({
        start: new Date(e.onset.point.t).toISOString(),
        end: e.open ? null : new Date(e.end.t).toISOString(),
        firedAt: e.fired ? new Date(e.fired.point.t).toISOString() : null,
        recoveredAt: e.recovered && e.fired ? new Date(e.recovered.t).toISOString() : null,
        wouldNotify: e.fired !== null,
        peak: { t: new Date(e.peak.point.t).toISOString(), value: e.peak.point.value, score: e.peak.judgement.score },
      }));
    instances.push({ key: instance.key, labels: instance.labels, findings, episodes, assessed: options.series ? assessed.filter((a) => inRange(a.point.t)) : [] });
    await yieldToOthers(); // a long preview shares the event loop between instances
  }
  // drawn: the instances with episodes (most first), or else the first — the one asked for, with one
  const shown = only !== undefined ? instances : instances.filter((i) => i.findings.length || i.episodes.length);
  const answered = shown.length || !options.series ? shown : instances.slice(0, 1);
  const drawn = new Set(options.series ? [...answered].sort((a, b) => b.episodes.length - a.episodes.length).slice(0, MAX_DRAWN_SERIES).map((i) => i.key) : []);
  return {
    ruleId: rule.id, from: new Date(start).toISOString(), to: new Date(start + windows * windowMs).toISOString(),
    windowSeconds: windowMs / 1000, windows, historyFrom: new Date(readFrom).toISOString(),
    instances: answered.map(({ assessed, ...instance }) => (drawn.has(instance.key) ? { ...instance, series: drawnSeries(assessed) } : instance)),
    notifications: shown.reduce((a, i) => a + i.episodes.filter((e) => e.wouldNotify).length, 0),
    judgedWindows,
    ...(rule.when ? { bound: rule.when } : {}),
  };
}
