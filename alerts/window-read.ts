// Reads what the rules judge: each instance's current window from the hot buckets (Redis), and
// the earlier windows its detector compares with — from Redis while they are within the hot
// retention, else from the database's 10 s rollup (one query per rule). Earlier windows are
// snapped to whole minutes and kept for that minute. Where they are whole minutes of sums, they
// are summed from per-minute sums held in memory (minute-history.ts), which a cycle reads only
// in part; unique users (not additive), campaigns (unbounded) and windows of part of a minute are
// read as ranges and cached for a minute.
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { AlertRule } from '../config/alert-schema.js';
import type { AppConfig } from '../config/load.js';
import { HOUR, MINUTE, floorTo } from '../stream/buckets.js';
import { dimensionConditions } from '../stream/db/queries.js';
import { EMPTY_SUMS, deriveMetrics } from '../stream/derive.js';
import { readHotWindows, type HotRange } from '../stream/hot-read.js';
import type { RedisKeys } from '../stream/redis-keys.js';
import type { MetricValues, SumField, Sums } from '../stream/types.js';
import type { SeriesPoint } from './detectors/index.js';
import { ruleDetector } from './detectors/index.js';
import type { RuleInstance } from './instances.js';
import { metricPoint, sumsPoint, type SummedMetric } from './metric-point.js';
import { createMinuteHistory, fieldsOf, type MinuteSource } from './minute-history.js';
import { rowsInIntervals } from './window-rows.js';

export interface InstanceReading {
  current: SeriesPoint;
  history: SeriesPoint[];
}

const HISTORY_TTL_MS = 60_000;
/**
 * Windows summed from minutes move to the next minute once a minute, each instance at its own
 * phase of it: all moving at once made every twelfth cycle sum ~80 000 windows again (the
 * seasonal rule over 62 stores) and judge them anew, twice a usual cycle's time.
 */
const PHASES = 12;

/** the string's FNV-1a hash: a phase that stays an instance's own whatever else is configured */
function phaseOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % PHASES;
}

/**
 * The time an instance's earlier windows are laid back from, for windows ending at `end`: up to
 * 55 s before it, so its minute-snapped windows move at its own phase of the minute. The newest
 * still ends before the current window begins.
 */
export function historyEndOf(end: number, instanceKey: string): number {
  return end - phaseOf(instanceKey) * (MINUTE / PHASES);
}
/** history older than the hot retention minus this margin is read from the database */
const HOT_MARGIN_MS = 10 * MINUTE;
const REDIS_CHUNK = 4_000;

interface Range {
  from: number;
  to: number;
}

export function createWindowReader(deps: { cfg: AppConfig; redis: Redis; pool: Pool; keys: RedisKeys }) {
  const { cfg, redis, pool, keys } = deps;
  const moneyScale = 10 ** cfg.pipeline.events.valueDecimals;
  const cache = new Map<string, { values: MetricValues; expires: number }>();
  const cacheKey = (scope: string, range: Range, users: boolean) => `${scope}|${range.from}|${range.to}|${users ? 'u' : ''}`;
  // late events land up to the lateness back (later still only behind a processor's backlog: an hour's margin)
  const minutes = createMinuteHistory({ pool, moneyScale, changeableMs: cfg.pipeline.events.lateness + HOUR });
  /** each instance's history windows from minute sums, kept while its windows stay the same */
  let assembled = new Map<string, { windows: string; history: SeriesPoint[] }>();
  /**
   * each rule's history windows at each phase (their ends, metric and sources) as text, and a number
   * naming them: instances compare the number, not a seasonal rule's ~16 KB of window ends each cycle
   */
  let windowsNamed = new Map<string, { text: string; id: number }>();
  let windowsIds = 0;

  /** history summed from minutes: sums of whole minutes, not unique users, and groups the configuration bounds */
  const byMinutes = (rule: AlertRule) => rule.metric !== 'uniqueUsers' && rule.groupBy !== 'campaign' && rule.window % MINUTE === 0;
  const sourcesOf = (rule: AlertRule): MinuteSource[] =>
    fieldsOf(rule.metric).map((field) => ({ filter: rule.filter ?? {}, groupBy: (rule.groupBy ?? null) as MinuteSource['groupBy'], field }));

  /** an instance's history windows summed from the minutes held */
  function minuteWindows(metric: SummedMetric, summers: Array<[SumField, (from: number, to: number) => number]>, ranges: Range[], storeScope: boolean): SeriesPoint[] {
    // one scratch object for all windows: a point keeps only the numbers taken from it
    const sums: Sums = { exposure: 0, clicks: 0, visits: 0, conversions: 0, revenue: 0, spend: 0 };
    return ranges.map((range) => {
      for (const [field, sum] of summers) sums[field] = sum(range.from, range.to);
      return sumsPoint(metric, sums, range.to, storeScope);
    });
  }

  async function readHot(ranges: HotRange[]): Promise<MetricValues[]> {
    const out: MetricValues[] = [];
    for (let i = 0; i < ranges.length; i += REDIS_CHUNK) out.push(...(await readHotWindows(redis, keys, ranges.slice(i, i + REDIS_CHUNK), moneyScale)));
    return out;
  }

  /** Sums per group value and range for one rule, from the 10 s rollup (and distinct users from raw events when wanted). */
  async function readStored(rule: AlertRule, instances: RuleInstance[], ranges: Range[]): Promise<Map<string, Map<number, MetricValues>>> {
    const group = rule.groupBy ?? null;
    const params: unknown[] = [ranges.map((r) => new Date(r.from).toISOString()), ranges.map((r) => new Date(r.to).toISOString())];
    const where = dimensionConditions(rule.filter ?? {}, params);
    if (group === 'campaign') {
      params.push(instances.map((i) => i.key));
      where.push(`campaign = ANY($${params.length}::text[])`);
    }
    const groupColumn = group ? `r.${group}` : `''`;
    const sums = await pool.query<Record<SumField, string> & { k: string; g: string }>(
      `SELECT w.k::int - 1 AS k, ${groupColumn} AS g, sum(exposure)::text AS exposure, sum(clicks)::text AS clicks, sum(visits)::text AS visits,
              sum(conversions)::text AS conversions, sum(revenue)::text AS revenue, sum(spend)::text AS spend
       FROM ${rowsInIntervals('rollup_10s', 'bucket', where)} GROUP BY 1, 2`,
      params,
    );
    const users = new Map<string, number>();
    if (rule.metric === 'uniqueUsers') {
      const { rows } = await pool.query<{ k: string; g: string; n: string }>(
        `SELECT w.k::int - 1 AS k, ${group ? `coalesce(${groupColumn}, '')` : `''`} AS g, count(DISTINCT user_id)::text AS n
         FROM ${rowsInIntervals('events', 'ts', ['user_id IS NOT NULL', ...where])} GROUP BY 1, 2`,
        params,
      );
      for (const row of rows) users.set(`${row.g}|${row.k}`, Number(row.n));
    }
    const byGroup = new Map<string, Map<number, MetricValues>>();
    const storeScopeOf = new Map(instances.map((i) => [i.key, i.storeScope]));
    for (const row of sums.rows) {
      if (group && !storeScopeOf.has(row.g)) continue;
      let perRange = byGroup.get(row.g);
      if (!perRange) byGroup.set(row.g, (perRange = new Map()));
      const values = {
        exposure: Number(row.exposure), clicks: Number(row.clicks), visits: Number(row.visits),
        conversions: Number(row.conversions), revenue: Number(row.revenue), spend: Number(row.spend),
      };
      perRange.set(Number(row.k), deriveMetrics(values, users.get(`${row.g}|${row.k}`) ?? 0, storeScopeOf.get(row.g) ?? false));
    }
    return byGroup;
  }

  /**
   * Every instance's reading for windows ending at event time `end`, keyed rule id → instance key.
   */
  async function read(rules: Array<{ rule: AlertRule; instances: RuleInstance[] }>, end: number, now = Date.now()): Promise<Map<string, Map<string, InstanceReading>>> {
    const hotFrom = now - cfg.pipeline.windows.hotRetention + HOT_MARGIN_MS;
    const hotRanges: HotRange[] = [];
    const hotTargets: Array<{ key: string; users: boolean }> = [];
    const currentAt = new Map<string, number>();
    const currentRead = new Map<string, number>();
    const storedWanted = new Map<AlertRule, Range[]>();
    const minuteNeeds: Parameters<typeof minutes.sync>[0] = [];
    const plans = rules.map(({ rule, instances }) => {
      const users = rule.metric === 'uniqueUsers';
      const rangesEndingAt = (t0: number) => ruleDetector(rule).historyTimes(t0, rule.window).map((t) => {
        const to = floorTo(t, MINUTE);
        return { from: to - rule.window, to };
      });
      const historyRanges = rangesEndingAt(end);
      const minuteSums = historyRanges.length > 0 && byMinutes(rule);
      /** summed from minutes: each instance's windows at its phase (the rule's ranges per history end) */
      const phased = new Map<number, Range[]>();
      if (minuteSums) {
        for (const instance of instances) {
          const at = historyEndOf(end, instance.key);
          if (!phased.has(at)) phased.set(at, rangesEndingAt(at));
        }
        const all = [...phased.values()].flat();
        // nothing older than the 10 s rollup's retention is stored: those windows sum to nothing
        // (as read from it), and a long look-back (auto at 1 h: 108 days) holds at most that
        const to = Math.max(...all.map((r) => r.to));
        const from = Math.max(Math.min(...all.map((r) => r.from)), floorTo(to - cfg.pipeline.retention.rollup10s, MINUTE));
        for (const source of sourcesOf(rule)) minuteNeeds.push({ source, from, to, groups: instances.map((i) => i.key) });
      }
      for (const instance of instances) {
        // rules with one window on one scope read it once
        const current = cacheKey(instance.scope, { from: end - rule.window, to: end }, users);
        let at = currentRead.get(current);
        if (at === undefined) {
          currentRead.set(current, (at = hotRanges.length));
          hotRanges.push({ scope: instance.scope, from: end - rule.window, to: end, users });
          hotTargets.push({ key: '', users });
        }
        currentAt.set(`${rule.id}|${instance.key}`, at);
        if (minuteSums) continue;
        for (const range of historyRanges) {
          const key = cacheKey(instance.scope, range, users);
          if ((cache.get(key)?.expires ?? 0) > now) continue;
          if (range.from >= hotFrom) {
            hotRanges.push({ scope: instance.scope, ...range, users });
            hotTargets.push({ key, users });
          } else {
            const wanted = storedWanted.get(rule) ?? [];
            if (!wanted.some((r) => r.from === range.from && r.to === range.to)) wanted.push(range);
            storedWanted.set(rule, wanted);
          }
        }
      }
      return { rule, instances, historyRanges, phased, users, minuteSums };
    });

    const readAllStored = async () => {
      for (const [rule, ranges] of storedWanted) {
        const instances = rules.find((r) => r.rule === rule)!.instances;
        const stored = await readStored(rule, instances, ranges);
        for (const instance of instances) {
          ranges.forEach((range, k) => {
            const values = stored.get(rule.groupBy ? instance.key : '')?.get(k) ?? deriveMetrics(EMPTY_SUMS, 0, instance.storeScope);
            cache.set(cacheKey(instance.scope, range, rule.metric === 'uniqueUsers'), { values, expires: now + HISTORY_TTL_MS });
          });
        }
      }
    };
    const [hotValues] = await Promise.all([readHot(hotRanges), readAllStored(), minutes.sync(minuteNeeds, cfg.alerts.evaluation.interval)]);
    hotTargets.forEach((target, i) => {
      if (target.key) cache.set(target.key, { values: hotValues[i]!, expires: now + HISTORY_TTL_MS });
    });

    const result = new Map<string, Map<string, InstanceReading>>();
    const kept = new Map<string, { windows: string; history: SeriesPoint[] }>();
    const named = new Map<string, { text: string; id: number }>();
    for (const { rule, instances, historyRanges, phased, users, minuteSums } of plans) {
      const perInstance = new Map<string, InstanceReading>();
      const sources = minuteSums ? sourcesOf(rule) : [];
      const windowsAt = new Map<number, { text: string; id: number }>();
      for (const [at, ranges] of phased) {
        const text = `${rule.metric}|${rule.window}|${ranges.map((r) => r.to).join(',')}|${JSON.stringify(sources)}`;
        const key = `${rule.id}|${at - end}`;
        let windows = windowsNamed.get(key);
        if (windows?.text !== text) windows = { text, id: ++windowsIds };
        named.set(key, windows);
        windowsAt.set(at, windows);
      }
      for (const instance of instances) {
        const current = metricPoint(rule.metric, hotValues[currentAt.get(`${rule.id}|${instance.key}`)!]!, end, instance.storeScope);
        if (minuteSums) {
          const key = `${rule.id}|${instance.key}`;
          const at = historyEndOf(end, instance.key);
          const summers = sources.map((source) => minutes.summer(source, rule.groupBy ? instance.key : ''));
          const instanceWindows = `${windowsAt.get(at)!.id}|${summers.map((s) => s.version).join(',')}`;
          let entry = assembled.get(key);
          if (entry?.windows !== instanceWindows) {
            entry = { windows: instanceWindows, history: minuteWindows(rule.metric as SummedMetric /* byMinutes: never unique users */, summers.map((s, i) => [sources[i]!.field, s.sum]), phased.get(at)!, instance.storeScope) };
          }
          kept.set(key, entry);
          perInstance.set(instance.key, { current, history: entry.history });
          continue;
        }
        const history = historyRanges.flatMap((range) => {
          const cached = cache.get(cacheKey(instance.scope, range, users));
          return cached ? [metricPoint(rule.metric, cached.values, range.to, instance.storeScope)] : [];
        });
        perInstance.set(instance.key, { current, history });
      }
      result.set(rule.id, perInstance);
    }
    assembled = kept;
    windowsNamed = named;
    if (cache.size > 200_000 || Math.random() < 0.02) for (const [key, entry] of cache) if (entry.expires <= now) cache.delete(key);
    return result;
  }

  return { read };
}

export type WindowReader = ReturnType<typeof createWindowReader>;
