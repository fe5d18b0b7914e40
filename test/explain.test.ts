// "Why did it move?": planted causes found first, from the rollups through the real pipeline;
// the decomposition's arithmetic; an alert's notification and console answer carrying the line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierSchema, ruleSchema } from '../config/alert-schema.js';
import { createEvaluator } from '../alerts/evaluator.js';
import { startDispatcher } from '../alerts/dispatcher.js';
import { buildNotifiers } from '../alerts/notify/build.js';
import type { NotificationPayload } from '../alerts/notification.js';
import { DAY, floorTo } from '../stream/buckets.js';
import { queryContextOf } from '../stream/db/queries.js';
import { redisKeys } from '../stream/redis-keys.js';
import { createLogger } from '../stream/log.js';
import type { Sums } from '../stream/types.js';
import { explainAlert } from '../server/explain/alert-explain.js';
import { explainChange, type SegmentRow } from '../server/explain/contributions.js';
import type { ExplainAnswer } from '../server/explain/explain.js';
import { seededRandom } from '../server/simulator/generator.js';
import { startHttpReceiver, type HttpReceiver } from './alert-receivers.js';
import { startTestApp, testConfig, type TestApp } from './harness.js';

const sums = (s: Partial<Sums>): Sums => ({ exposure: 0, clicks: 0, visits: 0, conversions: 0, revenue: 0, spend: 0, ...s });
const row = (dims: Partial<Pick<SegmentRow, 'region' | 'store' | 'channel' | 'campaign'>>, baseline: Partial<Sums>, current: Partial<Sums>): SegmentRow =>
  ({ region: '', store: '', channel: '', campaign: '', ...dims, baseline: sums(baseline), current: sums(current) });

describe('the decomposition', () => {
  const random = seededRandom(3);
  const rows: SegmentRow[] = [];
  for (const region of ['east', 'north', 'south']) {
    for (const channel of ['douyin', 'jd', 'wechat']) {
      for (const campaign of ['a', 'b']) {
        const clicks0 = 1000 * (0.5 + random());
        const cvr0 = 0.05 + 0.05 * random();
        // planted: east × douyin sells a third; north converts at half the rate; jd's traffic doubles at a low rate
        const clicks1 = clicks0 * (channel === 'jd' ? 2 : 1) * (0.97 + 0.06 * random());
        const cvr1 = cvr0 * (region === 'north' ? 0.5 : 1) * (channel === 'jd' ? 0.6 : 1);
        const revenue0 = 5000 * (0.5 + random());
        const revenue1 = revenue0 * (0.95 + 0.1 * random()) * (region === 'east' && channel === 'douyin' ? 0.3 : 1);
        rows.push(row({ region, channel, campaign }, { clicks: clicks0, conversions: clicks0 * cvr0, revenue: revenue0 }, { clicks: clicks1, conversions: clicks1 * cvr1, revenue: revenue1 }));
      }
    }
  }

  it('splits a sum\'s change and a ratio\'s (mix + rate) exactly over the segments', () => {
    for (const metric of ['revenue', 'cvr'] as const) {
      const answer = explainChange(rows, metric, { storeScope: false, fixed: [] });
      // three regions, all listed: their effects add up to the change
      const regions = answer.bySegmentation.region!;
      expect(regions).toHaveLength(3);
      expect(regions.reduce((sum, c) => sum + c.effect, 0)).toBeCloseTo(answer.change!, 9);
      expect(regions.reduce((sum, c) => sum + (c.share ?? 0), 0)).toBeCloseTo(1, 9);
      if (metric === 'cvr') for (const c of regions) expect(c.mix! + c.rate!).toBeCloseTo(c.effect, 12);
    }
  });

  it('finds the planted cause first: the pair where revenue fell, the region whose rate fell, the channel whose weight grew', () => {
    const revenue = explainChange(rows, 'revenue', { storeScope: false, fixed: [] });
    expect(revenue.top[0]!.share!).toBeGreaterThan(0.8);
    expect(revenue.top[0]!.segment).toEqual({ channel: 'douyin', region: 'east' });
    const cvr = explainChange(rows, 'cvr', { storeScope: false, fixed: [] });
    const byRegion = cvr.bySegmentation.region!;
    expect(byRegion[0]!.segment).toEqual({ region: 'north' });
    expect(Math.abs(byRegion[0]!.rate!)).toBeGreaterThan(Math.abs(byRegion[0]!.mix!) * 5);
    const jd = cvr.bySegmentation.channel!.find((c) => c.segment.channel === 'jd')!;
    expect(jd.mix!).toBeLessThan(0); // more of the traffic now converts worse
  });

  it('names the same rows once, and a narrower segment before the wider one it explains', () => {
    const rows2 = [
      row({ channel: 'app', campaign: 'member-day', region: 'east' }, { revenue: 1000 }, { revenue: 400 }),
      row({ channel: 'app', campaign: 'member-day', region: 'north' }, { revenue: 1000 }, { revenue: 900 }),
      row({ channel: 'jd', campaign: 'spring', region: 'east' }, { revenue: 1000 }, { revenue: 1010 }),
      row({ channel: 'jd', campaign: 'spring', region: 'north' }, { revenue: 1000 }, { revenue: 990 }),
    ];
    const answer = explainChange(rows2, 'revenue', { storeScope: false, fixed: [] });
    const keys = answer.top.map((c) => JSON.stringify(c.segment));
    // app × east explains most of app's drop and is narrower: it leads, and app gives way to it —
    // and so do member-day and app × member-day, the same rows under other names
    expect(answer.top[0]!.segment).toEqual({ channel: 'app', region: 'east' });
    expect(keys.filter((k) => ['{"channel":"app"}', '{"campaign":"member-day"}', '{"channel":"app","campaign":"member-day"}'].includes(k))).toEqual([]);
    // east × member-day is app × east again: listed once
    expect(keys).not.toContain('{"region":"east","campaign":"member-day"}');
    expect(new Set(answer.top.map((c) => c.effect.toPrecision(9))).size).toBe(answer.top.length);
  });

  it('leaves out what the scope fixes, and one-segment cuts', () => {
    const east = explainChange(rows.filter((r) => r.region === 'east'), 'revenue', { storeScope: false, fixed: ['region'] });
    expect(Object.keys(east.bySegmentation).some((k) => k.includes('region'))).toBe(false);
    expect(east.top[0]!.segment).toEqual({ channel: 'douyin' });
  });
});

describe('explaining through the pipeline', () => {
  let app: TestApp;
  let hook: HttpReceiver;
  const T = floorTo(Date.now(), 600_000) - 600_000;
  const HOUR = 3_600_000;
  const cfg = testConfig((c) => {
    c.alerts = {
      evaluation: { interval: 300, settle: 0, repeatInterval: 4 * HOUR, maxHold: 600_000 },
      rules: [ruleSchema.parse({ id: 'revenue-drop', name: '渠道销售额下滑', nameEn: 'Channel revenue drop', metric: 'revenue', groupBy: 'channel', window: '1h', detector: { kind: 'drop', vs: 'day-ago', ratio: 0.15 }, notify: ['hook'] })],
    };
    c.notifiers = [notifierSchema.parse({ id: 'hook', kind: 'webhook', urlEnv: 'HOOK_URL' })];
  });

  beforeAll(async () => {
    hook = await startHttpReceiver();
    app = await startTestApp('explain', { cfg, alerts: false, env: { HOOK_URL: `${hook.url}/hook` } });
    const random = seededRandom(9);
    const events: object[] = [];
    let n = 0;
    for (const [shift, planted] of [[DAY, false], [0, true]] as const) {
      for (let t = T - HOUR - shift; t < T - shift; t += 60_000) {
        for (const region of ['east', 'north', 'south', 'central']) {
          for (const channel of ['douyin', 'jd', 'wechat']) {
            for (const campaign of ['c-spring', 'c-vip']) {
              const factor = planted && channel === 'douyin' && region === 'east' ? 0.2 : 0.95 + 0.1 * random();
              events.push({ id: `ex-${n++}`, type: 'click', ts: t + 1_000, channel, region, campaign, count: 50 });
              events.push({ id: `ex-${n++}`, type: 'conversion', ts: t + 2_000, channel, region, campaign, count: 2, value: Math.round(400 * factor * 100) / 100 });
            }
          }
        }
      }
    }
    for (let i = 0; i < events.length; i += 5000) expect((await app.post(events.slice(i, i + 5000))).status).toBe(202);
    await app.drained();
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await hook?.close();
  });

  const explainGet = async (query: string, username = 'ops') => {
    const response = await app.get(`/api/v1/explain?${query}`, username);
    return { status: response.status, body: (await response.json()) as ExplainAnswer & { error?: string } };
  };

  it('GET /api/v1/explain: revenue against the same hour yesterday, the planted segment first', async () => {
    const { status, body } = await explainGet(`metric=revenue&from=${T - HOUR}&to=${T}`);
    expect(status).toBe(200);
    expect(body.relative!).toBeLessThan(-0.05);
    expect(body.top[0]!.segment).toEqual({ channel: 'douyin', region: 'east' });
    expect(body.top[0]!.share!).toBeGreaterThan(0.8);
    // the single dimensions it narrows gave way to it
    expect(body.top.some((c) => JSON.stringify(c.segment) === '{"channel":"douyin"}')).toBe(false);
    expect(body.bySegmentation.channel![0]!.segment).toEqual({ channel: 'douyin' });
    // no store in these events: no store segmentation
    expect(Object.keys(body.bySegmentation).some((k) => k.includes('store'))).toBe(false);
    // the exact sums of the rollups
    const metrics = (await (await app.get(`/api/v1/metrics?from=${T - HOUR}&to=${T}&step=1h`)).json()) as { series: Array<{ points: Array<{ revenue: number }> }> };
    expect(body.current).toBeCloseTo(metrics.series[0]!.points.reduce((s, p) => s + p.revenue, 0), 4);
    expect(body.baselineSpan.from).toBe(new Date(T - HOUR - DAY).toISOString());
  });

  it('within a scope: east\'s douyin explains the region\'s drop; a manager reads its region only', async () => {
    const east = await explainGet(`metric=revenue&from=${T - HOUR}&to=${T}&region=east`, 'manager-east');
    expect(east.status).toBe(200);
    expect(east.body.top[0]!.segment.channel).toBe('douyin');
    expect(Object.keys(east.body.bySegmentation).some((k) => k.split('×').includes('region'))).toBe(false);
    expect((await explainGet(`metric=revenue&from=${T - HOUR}&to=${T}&region=north`, 'manager-east')).status).toBe(403);
    const own = await explainGet(`metric=revenue&from=${T - HOUR}&to=${T}`, 'manager-east');
    expect(own.body.current).toBe(east.body.current);
    expect(own.body.top.every((c) => c.segment.region === undefined || c.segment.region === 'east')).toBe(true);
  });

  it('names what is wrong: metric, span, range', async () => {
    expect((await explainGet('metric=uniqueUsers')).body.error).toMatch(/^metric: /);
    expect((await explainGet(`metric=revenue&from=${T - 40 * DAY}&to=${T}`)).body.error).toMatch(/^to: the span is 40 days; at most 31/);
    expect((await explainGet(`metric=revenue&from=${T}&to=${T - HOUR}`)).body.error).toMatch(/^from: must be before to/);
    expect((await explainGet('metric=revenue&vs=month-ago')).body.error).toMatch(/^vs: /);
  });

  it('a firing alert\'s notification says why, and its console answer too', async () => {
    const log = createLogger('explain-test');
    const context = queryContextOf(app.cfg, app.server.storage);
    const evaluator = createEvaluator({
      cfg: app.cfg, redis: app.redis, pool: app.db, keys: redisKeys(app.stores.redisPrefix, app.cfg.pipeline), log, now: () => T,
      explain: async (rule, alert) => (await explainAlert(app.db, app.cfg, context, rule, alert))?.line ?? null,
    });
    const dispatcher = startDispatcher({ pool: app.db, notifiers: buildNotifiers(app.cfg.notifiers, { HOOK_URL: `${hook.url}/hook` }), log, pollMs: 100 });
    try {
      await evaluator.cycle();
      dispatcher.kick();
      await hook.waitFor(1);
      const payload = JSON.parse(hook.requests[0]!.body) as NotificationPayload;
      const douyin = payload.alerts.find((a) => a.labels.channel === 'douyin')!;
      expect(douyin.why).toMatch(/^−\d+%：华东/);
      expect(douyin.whyEn).toMatch(/^−\d+%: East China.* explains \d+%/);
      const alertId = douyin.id;
      const answer = (await (await app.get(`/api/v1/alerts/${alertId}/explain`)).json()) as ExplainAnswer & { summary: string };
      expect(answer.summary).toBe(douyin.why);
      expect(answer.top[0]!.segment.region).toBe('east');
    } finally {
      await dispatcher.stop();
    }
  });
});
