// The windows rules compare with, summed from the per-minute history the evaluator keeps
// (alerts/minute-history.ts): every one equals the events it covers, recent and a day old,
// money exact; stragglers reach the next cycle, events hours late within the refresh period,
// writes behind the lateness within the settled period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleSchema, type AlertRule } from '../config/alert-schema.js';
import { REFRESH_MS, SETTLED_REFRESH_MS } from '../alerts/minute-history.js';
import { ruleInstances } from '../alerts/instances.js';
import { createWindowReader, historyEndOf, type InstanceReading } from '../alerts/window-read.js';
import { metricPoint } from '../alerts/metric-point.js';
import { deriveMetrics } from '../stream/derive.js';
import { startTestApp, testConfig, type TestApp } from './harness.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const SCALE = 10_000; // valueDecimals 4

interface Sent { id: string; type: 'click' | 'conversion' | 'spend' | 'visit'; ts: number; channel: string; store?: string; region?: string; count: number; value?: number }

const rules: AlertRule[] = [
  ruleSchema.parse({ id: 'revenue-z', name: 'r', nameEn: 'r', metric: 'revenue', groupBy: 'store', window: '5m', detector: { kind: 'zscore', lookback: 12 } }),
  ruleSchema.parse({ id: 'cvr-day', name: 'c', nameEn: 'c', metric: 'cvr', groupBy: 'channel', filter: { region: 'east' }, window: '1m', detector: { kind: 'drop', vs: 'day-ago', ratio: 0.5 } }),
  ruleSchema.parse({ id: 'roi-z', name: 'o', nameEn: 'o', metric: 'roi', window: '10m', detector: { kind: 'zscore', lookback: 6 } }),
  // the same cut as revenue-z with another field and look-back: the two are read from the same rows
  ruleSchema.parse({ id: 'visits-z', name: 'v', nameEn: 'v', metric: 'visits', groupBy: 'store', window: '1m', detector: { kind: 'zscore', lookback: 40 } }),
  // hours of look-back: its windows reach minutes behind the lateness
  ruleSchema.parse({ id: 'revenue-hours', name: 'h', nameEn: 'h', metric: 'revenue', window: '1h', detector: { kind: 'zscore', lookback: 30 } }),
];

describe('history windows from per-minute sums', () => {
  let app: TestApp;
  const sent: Sent[] = [];
  const cfg = testConfig((c) => {
    c.alerts = { ...c.alerts, rules };
  });
  const end0 = Math.floor(Date.now() / 10_000) * 10_000 - 20_000;
  let seq = 0;
  let stores: Array<{ id: string; region: string }>;

  const post = async (events: Sent[]) => {
    sent.push(...events);
    const response = await app.post(events);
    expect(response.status).toBe(202);
    await app.drained();
  };
  /** a conversion, a click, some spend and a visit at ts, money with four decimals */
  const eventsAt = (ts: number, i: number): Sent[] => {
    const store = stores[i % stores.length]!;
    const channel = ['douyin', 'wechat', 'baidu'][i % 3]!;
    const region = i % 2 ? 'east' : 'north';
    return [
      { id: `h-${seq++}`, type: 'conversion', ts, channel, region, count: 1 + (i % 3), value: Math.round(((i * 7919) % 100_000) + 1) / SCALE + 12 },
      { id: `h-${seq++}`, type: 'click', ts, channel, region, count: 3 + (i % 5) },
      { id: `h-${seq++}`, type: 'spend', ts, channel, region, count: 1, value: ((i * 104_729) % 50_000) / SCALE + 3 },
      { id: `h-${seq++}`, type: 'visit', ts, channel: 'store', store: store.id, count: 1 + (i % 4) },
      { id: `h-${seq++}`, type: 'conversion', ts, channel: 'store', store: store.id, count: 1, value: ((i * 31) % 997) / 100 + 5.55 },
    ];
  };

  /** the window [t - window, t) of one instance from the events sent */
  function truthPoint(rule: AlertRule, key: string, t: number, storeScope: boolean) {
    const units = { exposure: 0, clicks: 0, visits: 0, conversions: 0, revenue: 0, spend: 0 };
    for (const e of sent) {
      if (e.ts < t - rule.window || e.ts >= t) continue;
      const region = e.region ?? stores.find((s) => s.id === e.store)?.region;
      if (rule.filter?.region && region !== rule.filter.region) continue;
      if (rule.groupBy === 'store' && e.store !== key) continue;
      if (rule.groupBy === 'channel' && e.channel !== key) continue;
      if (e.type === 'click') units.clicks += e.count;
      if (e.type === 'visit') units.visits += e.count;
      if (e.type === 'conversion') {
        units.conversions += e.count;
        units.revenue += Math.round((e.value ?? 0) * SCALE);
      }
      if (e.type === 'spend') units.spend += Math.round((e.value ?? 0) * SCALE);
    }
    const sums = { ...units, revenue: units.revenue / SCALE, spend: units.spend / SCALE };
    return metricPoint(rule.metric, deriveMetrics(sums, 0, storeScope), t, storeScope);
  }

  /**
   * the ends of the windows an instance compares with at `end`, whole minutes: the previous
   * `lookback` windows, or the one a day before, laid back from the instance's history end (its
   * phase of the minute, less than a minute before `end`)
   */
  function windowEnds(rule: AlertRule, instanceKey: string, end: number): number[] {
    const at = historyEndOf(end, instanceKey);
    expect(end - at).toBeGreaterThanOrEqual(0);
    expect(end - at).toBeLessThan(MIN);
    const ends = rule.detector?.kind === 'zscore' ? Array.from({ length: rule.detector.lookback }, (_, k) => at - (k + 1) * rule.window) : [at - DAY];
    return ends.map((t) => Math.floor(t / MIN) * MIN);
  }

  function expectTruth(readings: Map<string, Map<string, InstanceReading>>, end: number) {
    let nonZero = 0;
    for (const rule of rules) {
      for (const instance of ruleInstances(rule, cfg, [])) {
        const history = readings.get(rule.id)!.get(instance.key)!.history;
        // the windows of this end, not those of an earlier cycle (each equal to its own events as well)
        expect(history.map((p) => p.t), rule.id).toEqual(windowEnds(rule, instance.key, end));
        for (const point of history) {
          expect(point, `${rule.id} ${instance.key} ${new Date(point.t).toISOString()}`).toEqual(truthPoint(rule, instance.key, point.t, instance.storeScope));
          if (point.volume) nonZero++;
        }
      }
    }
    return nonZero;
  }

  const instancesOf = () => rules.map((rule) => ({ rule, instances: ruleInstances(rule, cfg, []) }));

  beforeAll(async () => {
    app = await startTestApp('alert-history', { cfg });
    stores = [...cfg.storeById.values()].slice(0, 3).map((s) => ({ id: s.id, region: s.region }));
    const events: Sent[] = [];
    // the last 80 minutes, and around the same time a day ago
    for (let i = 0; i < 400; i++) events.push(...eventsAt(end0 - 80 * MIN + Math.floor((i * 80 * MIN) / 400) + 1_234, i));
    for (let i = 0; i < 120; i++) events.push(...eventsAt(end0 - DAY - 15 * MIN + Math.floor((i * 30 * MIN) / 120) + 777, i));
    await post(events);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it('sums every window exactly, recent and a day ago, and stays exact as the minutes move', async () => {
    const reader = createWindowReader({ cfg, redis: app.redis, pool: app.db, keys: app.keys });
    expect(expectTruth(await reader.read(instancesOf(), end0, end0 + 5_000), end0)).toBeGreaterThan(40);
    // three minutes of cycles: windows move to new minutes, the history held moves with them
    for (let end = end0 + 10_000; end <= end0 + 3 * MIN; end += 10_000) await reader.read(instancesOf(), end, end + 5_000);
    expect(expectTruth(await reader.read(instancesOf(), end0 + 3 * MIN, end0 + 3 * MIN + 5_000), end0 + 3 * MIN)).toBeGreaterThan(40);
  });

  it('takes stragglers in at the next cycle, and events hours late within the refresh period', async () => {
    const reader = createWindowReader({ cfg, redis: app.redis, pool: app.db, keys: app.keys });
    let end = end0 + 4 * MIN;
    const interval = cfg.alerts.evaluation.interval;
    const last = end + 10_000 + REFRESH_MS + interval;
    await reader.read(instancesOf(), end, end + 5_000);
    // a straggler 7 minutes back; late ones 35 minutes back (far beyond the minutes read every
    // cycle, still compared with at the last cycle) and a day before the last cycle
    await post([...eventsAt(end - 7 * MIN + 500, 1), ...eventsAt(last - 45 * MIN + 500, 2), ...eventsAt(last - DAY - 90_000, 3), ...eventsAt(last - DAY - 100_000, 5)]);
    end += 10_000;
    const next = await reader.read(instancesOf(), end, end + 5_000);
    const straggledAt = end - 10_000 - 7 * MIN + 500;
    const straggler = next.get('revenue-z')!.get(stores[1]!.id)!.history.find((p) => p.t > straggledAt && p.t - 5 * MIN <= straggledAt)!;
    expect(straggler.value).toBeGreaterThan(0);
    expect(straggler).toEqual(truthPoint(rules[0]!, stores[1]!.id, straggler.t, true));
    // one refresh period of cycles at the shipped interval
    for (let t = end + interval; t < last; t += interval) await reader.read(instancesOf(), t, t + 5_000);
    expectTruth(await reader.read(instancesOf(), last, last + 5_000), last);
  }, 120_000);

  it('reads minutes behind the lateness again within the settled period, not every refresh period', async () => {
    // a lateness of 20 minutes: minutes more than 80 back are settled (an hour's margin)
    const short = { ...cfg, pipeline: { ...cfg.pipeline, events: { ...cfg.pipeline.events, lateness: 20 * MIN } } };
    const reader = createWindowReader({ cfg: short, redis: app.redis, pool: app.db, keys: app.keys });
    const interval = cfg.alerts.evaluation.interval;
    let t = end0 + 6 * MIN;
    await reader.read(instancesOf(), t, t + 5_000);
    // 3 hours back, as only a processor's long backlog writes behind the lateness; the settled
    // slices go round from the oldest minute (31 hours back), so they reach it in the period's last part
    const writtenAt = t - 3 * 60 * MIN + 500;
    await post(eventsAt(writtenAt, 11));
    const cycleUntil = async (until: number) => {
      let readings = await reader.read(instancesOf(), (t += interval), t + 5_000);
      while (t + interval <= until) readings = await reader.read(instancesOf(), (t += interval), t + 5_000);
      return readings;
    };
    const holding = (readings: Map<string, Map<string, InstanceReading>>) =>
      readings.get('revenue-hours')!.get('')!.history.find((p) => p.t - 60 * MIN <= writtenAt && writtenAt < p.t)!;
    // a refresh period on, the minutes late events can reach were all read again, not these
    const early = holding(await cycleUntil(t + REFRESH_MS + interval));
    expect(early.value).not.toEqual(truthPoint(rules.find((r) => r.id === 'revenue-hours')!, '', early.t, false).value);
    // a settled period on, they were
    expectTruth(await cycleUntil(t + SETTLED_REFRESH_MS + interval), t);
  }, 300_000);

  it('holds nothing older than the 10 s rollup keeps: windows before its retention sum to nothing', async () => {
    const kept = 25 * MIN;
    const short = { ...cfg, pipeline: { ...cfg.pipeline, retention: { ...cfg.pipeline.retention, rollup10s: kept } } };
    const reader = createWindowReader({ cfg: short, redis: app.redis, pool: app.db, keys: app.keys });
    const rule = rules[0]!;
    const readings = await reader.read([{ rule, instances: ruleInstances(rule, cfg, []) }], end0, end0 + 5_000);
    let old = 0;
    let recent = 0;
    // kept: the minutes within the retention of the rule's newest window's end, whichever instance's
    // phase has it (a window across the cut: its kept part)
    const histories = ruleInstances(rule, cfg, []).map((instance) => ({ instance, history: readings.get(rule.id)!.get(instance.key)!.history }));
    const cut = Math.floor((Math.max(...histories.flatMap(({ history }) => history.map((p) => p.t))) - kept) / MIN) * MIN;
    for (const { instance, history } of histories) {
      for (const point of history) {
        const truth = truthPoint(rule, instance.key, point.t, instance.storeScope);
        if (point.t - rule.window >= cut) {
          expect(point).toEqual(truth);
          if (truth.volume) recent++;
        } else if (point.t <= cut) {
          expect(point.value, new Date(point.t).toISOString()).toBe(0);
          if (truth.volume) old++;
        }
      }
    }
    expect(old).toBeGreaterThan(5);
    expect(recent).toBeGreaterThan(5);
  });
});
