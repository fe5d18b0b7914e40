// Every cost a caller chooses is bounded, and the bound is answered with a clear 4xx, not a stall:
// series × points of /api/v1/metrics over thousands of producer-chosen campaigns, rule previews,
// silence patterns built to backtrack, and one producer trying to take the whole stream backlog.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PREVIEW_HISTORY_READS } from '../alerts/preview.js';
import { MAX_ACTIVE_SILENCES, silencing, type Silence } from '../alerts/silences.js';
import { MAX_CAMPAIGN_INSTANCES, busiestCampaigns } from '../alerts/evaluator.js';
import { ruleInstances } from '../alerts/instances.js';
import { MAX_RULES } from '../alerts/rule-store.js';
import { MAX_SERIES_POINTS } from '../stream/db/queries.js';
import type { MetricsResponse } from '../stream/types.js';
import { API_KEY, sleep, startTestApp, testConfig, type TestApp } from './harness.js';

let app: TestApp;
const HOUR = 3_600_000;
const now = Math.floor(Date.now() / 10_000) * 10_000;
const CAMPAIGNS = 2000;
const SPAN = 27 * HOUR;

beforeAll(async () => {
  app = await startTestApp('bounds', { processor: false, cfg: testConfig((cfg) => (cfg.pipeline.ingest.maxBacklogEntries = 20)) });
  // 2000 campaigns (ids come from producers), each active in 40 buckets spread over the last 27 h
  await app.db.query(
    `INSERT INTO rollup_10s (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend)
     SELECT to_timestamp((($1::bigint - (b * 2437 + c * 7919) % $2::bigint) / 10000) * 10), 'douyin', 'east', '', 'camp-' || c,
            c, 0, 0, b % 3, (c % 97) * 1.25, 0
     FROM generate_series(1, $3::int) c, generate_series(1, 40) b
     ON CONFLICT DO NOTHING`,
    [now - 20_000, SPAN - 30_000, CAMPAIGNS],
  );
  // and the same rows at the hourly level, as the sink would have written them (on TimescaleDB
  // the hourly rollup is a continuous aggregate of these rows: refreshed instead)
  if (app.server.storage === 'timescaledb') await app.db.query(`CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)`);
  else {
    await app.db.query(
      `INSERT INTO rollup_1h (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend)
       SELECT date_bin('1 hour', bucket, 'epoch'), channel, region, store, campaign, sum(exposure), sum(clicks), sum(visits), sum(conversions), sum(revenue), sum(spend)
       FROM rollup_10s GROUP BY 1, 2, 3, 4, 5`,
    );
  }
}, 120_000);
afterAll(async () => app?.close());

async function json<T>(path: string, who = 'ops'): Promise<{ status: number; body: T }> {
  const response = await app.get(path, who);
  return { status: response.status, body: (await response.json()) as T };
}

/** /healthz round trips while `work` runs: the server must stay responsive throughout */
async function healthDuring<T>(work: Promise<T>): Promise<{ result: T; slowestMs: number }> {
  let done = false;
  const times: number[] = [];
  const probe = (async () => {
    while (!done) {
      const started = performance.now();
      await fetch(`${app.server.url}/healthz`);
      times.push(performance.now() - started);
      await sleep(20);
    }
  })();
  const result = await work.finally(() => (done = true));
  await probe;
  return { result, slowestMs: Math.max(0, ...times) };
}

describe('GET /api/v1/metrics over thousands of campaigns', () => {
  const from = now - SPAN;

  it('at 10 s over 27 h answers the most active campaign and the rest as "other", bounded, with the server responsive', async () => {
    const { result, slowestMs } = await healthDuring(json<MetricsResponse>(`/api/v1/metrics?from=${from}&to=${now}&step=10s&groupBy=campaign`));
    expect(result.status).toBe(200);
    const points = SPAN / 10_000;
    expect(result.body.groups).toEqual({ total: CAMPAIGNS, shown: Math.floor(MAX_SERIES_POINTS / points) - 1, limit: Math.floor(MAX_SERIES_POINTS / points) - 1 });
    expect(result.body.series).toHaveLength(result.body.groups!.shown + 1);
    expect(result.body.series.at(-1)).toMatchObject({ key: {}, other: true });
    expect(result.body.series.length * points).toBeLessThanOrEqual(MAX_SERIES_POINTS);
    expect(slowestMs).toBeLessThan(1000);
  });

  it('sums every campaign exactly: the shown ones and "other" add up to the whole', async () => {
    const { body } = await json<MetricsResponse>(`/api/v1/metrics?from=${from}&to=${now}&step=1h&groupBy=campaign&limit=50`);
    expect(body.groups).toMatchObject({ total: CAMPAIGNS, shown: 50 });
    const total = (field: 'exposure' | 'conversions' | 'revenue') => body.series.reduce((sum, s) => sum + s.points.reduce((a, p) => a + p[field], 0), 0);
    const { rows } = await app.db.query(`SELECT sum(exposure)::float8 AS exposure, sum(conversions)::float8 AS conversions, sum(revenue)::float8 AS revenue FROM rollup_1h`);
    expect(total('exposure')).toBe(rows[0].exposure);
    expect(total('conversions')).toBe(rows[0].conversions);
    expect(total('revenue')).toBeCloseTo(rows[0].revenue, 4);
    // the most active first: no campaign left in "other" has more revenue than one shown
    const revenueOf = (s: MetricsResponse['series'][number]) => s.points.reduce((a, p) => a + p.revenue, 0);
    const shownLeast = Math.min(...body.series.filter((s) => !s.other).map(revenueOf));
    const { rows: best } = await app.db.query(`SELECT campaign, sum(revenue)::float8 AS r FROM rollup_1h GROUP BY 1 ORDER BY 2 DESC OFFSET 50 LIMIT 1`);
    expect(best[0].r).toBeLessThanOrEqual(shownLeast);
  });

  it('answers 400 naming the limit when the groups asked for cannot fit', async () => {
    const tooMany = await json<{ error: string }>(`/api/v1/metrics?from=${from}&to=${now}&step=10s&groupBy=campaign&limit=5`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatch(/^limit: 5 groups .* exceeds 20000 series × points; at most 1 /);
    const noRoom = await json<{ error: string }>(`/api/v1/metrics?from=${now - 40 * HOUR}&to=${now}&step=10s&groupBy=campaign`);
    expect(noRoom.status).toBe(400);
    expect(noRoom.body.error).toBe('step: 14400 buckets of 10s in that range; at most 10000, use a larger step');
    const notNumber = await json<{ error: string }>(`/api/v1/metrics?groupBy=campaign&limit=lots`);
    expect(notNumber.status).toBe(400);
    expect(notNumber.body.error).toMatch(/^limit:/);
  });
});

describe('rule previews', () => {
  it('refuse work beyond their bound before reading, naming it', async () => {
    const draft = { id: 'draft', name: '草稿', nameEn: 'Draft', metric: 'exposure', groupBy: 'campaign', window: '10s', when: { above: 1e9 } };
    const response = await fetch(`${app.server.url}/api/v1/alert-rules/preview`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('admin')}` },
      body: JSON.stringify({ rule: draft, from: now - 20 * HOUR, to: now }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/^the preview would judge more than \d+ instances × \d+ windows; at most 500000 in all/);
    // the console's language asked for, the same refusal in Chinese
    const inChinese = await fetch(`${app.server.url}/api/v1/alert-rules/preview`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('admin')}`, 'accept-language': 'zh-CN' },
      body: JSON.stringify({ rule: draft, from: now - 20 * HOUR, to: now }),
    });
    expect(((await inChinese.json()) as { error: string }).error).toMatch(/^试算将判断超过 \d+ 个实例 × \d+ 个窗口，总共最多 500000 个——请缩短时段、加筛选或用更长的窗口$/);
    const small = await fetch(`${app.server.url}/api/v1/alert-rules/preview`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('admin')}` },
      body: JSON.stringify({ rule: { ...draft, window: '1h' }, from: now - 20 * HOUR, to: now }),
    });
    expect(small.status).toBe(200);
  });

  it('stop a detector that must judge each window from its own history once it has read its bound, naming why', async () => {
    // a seasonal window that does not divide the day: no window is judged along the series, each
    // reads 1 151 earlier ones; 62 stores × 30 days of 7 min windows would take ~20 s of CPU
    const draft = { id: 'draft', name: '草稿', nameEn: 'Draft', metric: 'exposure', groupBy: 'store', window: '7m', detector: { kind: 'seasonal' } };
    const token = await app.token('admin');
    const preview = (rule: object, language = 'en') => fetch(`${app.server.url}/api/v1/alert-rules/preview`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'accept-language': language },
      body: JSON.stringify({ rule, from: now - 30 * 24 * HOUR, to: now }),
    });
    const refused = await preview(draft);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe(
      `the preview would look up more than ${MAX_PREVIEW_HISTORY_READS} earlier windows one judgement at a time: the detector reads 1151 for each window it judges alone ` +
      // 62 stores' look-backs alone pass the bound: no shorter range would do
      '(its window of 420 s does not divide the day, so no window can be judged along the whole series) — use a filter or a window that divides the day',
    );
    // one store: its last days fit, and the refusal says how many windows would
    const { groupBy: _byStore, ...ungrouped } = draft;
    const oneStore = { ...ungrouped, filter: { store: 'sh-jingan' } };
    const one = await preview(oneStore);
    expect(one.status).toBe(400);
    const named = /— use a shorter range \(at most (\d+) windows\), a filter or a window that divides the day$/.exec(((await one.json()) as { error: string }).error);
    const fit = Number(named?.[1]);
    expect(((await (await preview(oneStore, 'zh-CN')).json()) as { error: string }).error).toBe(
      `试算需逐个判断时回查超过 ${MAX_PREVIEW_HISTORY_READS} 个更早的窗口：检测器单独判断每个窗口都要读 1151 个（它的 420 秒窗口不能整除一天，无法沿整个序列判断）` +
      `——请缩短时段（最多 ${fit} 个窗口）、加筛选或用能整除一天的窗口`,
    );
    // what is left of the bound after the store's look-back (8 days): a few days of the 30 (6 171 windows)
    expect(fit).toBeGreaterThan(1000);
    expect(fit).toBeLessThan(Math.floor(MAX_PREVIEW_HISTORY_READS / 1151) - 1000);
    // a window that divides the day is judged along each store's series, well within the bound
    expect((await preview({ ...draft, window: '10m' })).status).toBe(200);

    // the page of an alert of that rule active for a month: the latest windows that fit are drawn, not a refusal
    const saved = await fetch(`${app.server.url}/api/v1/alert-rules/seasonal-7m`, {
      method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...oneStore, id: 'seasonal-7m' }),
    });
    expect(saved.status).toBe(200);
    await app.db.query(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at, summary, summary_en)
       VALUES ('month-long', 'seasonal-7m', '', '{"rule":"seasonal-7m"}', 'east', 'warning', 'firing', now() - interval '30 days', now() - interval '30 days', 's', 's')`,
    );
    const page = await app.get('/api/v1/alerts/month-long/series', 'ops');
    expect(page.status).toBe(200);
    const drawn = (await page.json()) as { windows: number; instances: Array<{ key: string; series: unknown[] }> };
    expect(drawn.windows).toBe(fit);
    expect(drawn.instances.map((i) => [i.key, i.series.length > 0])).toEqual([['', true]]);
    await app.db.query(`DELETE FROM alerts WHERE id = 'month-long'`);
    const removed = await fetch(`${app.server.url}/api/v1/alert-rules/seasonal-7m`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(removed.status).toBe(204);
  });
});

describe('rules', () => {
  it('grouped by campaign follow only the busiest campaigns: producers choose campaign ids, each would be judged every cycle', async () => {
    const from = now - 20 * HOUR;
    const { list, more } = await busiestCampaigns(app.db, from, MAX_CAMPAIGN_INSTANCES);
    const { rows } = await app.db.query<{ campaign: string; n: string }>(
      `SELECT campaign, (exposure + clicks + visits + conversions)::text AS n FROM rollup_10s WHERE bucket >= $1 AND campaign <> ''`, [new Date(from)]);
    const volume = new Map<string, number>();
    for (const row of rows) volume.set(row.campaign, (volume.get(row.campaign) ?? 0) + Number(row.n));
    const truth = [...volume.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).slice(0, MAX_CAMPAIGN_INSTANCES).map(([c]) => c).sort();
    expect(volume.size).toBeGreaterThan(MAX_CAMPAIGN_INSTANCES);
    expect(more).toBe(true);
    expect(list).toEqual(truth);
    const rule = { ...app.cfg.alerts.rules[0]!, groupBy: 'campaign' as const };
    expect(ruleInstances(rule, app.cfg, list)).toHaveLength(MAX_CAMPAIGN_INSTANCES);
  });

  it('number at most MAX_RULES: a new one beyond is refused with 409 naming the limit, an existing one can still change', async () => {
    const token = await app.token('admin');
    const put = (id: string, above = 1e9) => fetch(`${app.server.url}/api/v1/alert-rules/${id}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: id, nameEn: id, metric: 'exposure', window: '1m', when: { above } }),
    });
    const have = app.cfg.alerts.rules.length;
    for (let i = have; i < MAX_RULES - 10; i++) expect((await put(`bulk-${i}`)).status).toBe(200);
    // 30 admins saving new rules at the same instant for the last 10 places: 10 get them
    const racing = await Promise.all(Array.from({ length: 30 }, (_, i) => put(`race-${i}`)));
    expect(racing.filter((r) => r.status === 200)).toHaveLength(10);
    expect(racing.filter((r) => r.status === 409)).toHaveLength(20);
    const listed = (await (await app.get('/api/v1/alert-rules', 'admin')).json()) as { rules: unknown[] };
    expect(listed.rules).toHaveLength(MAX_RULES);
    const refused = await put('one-too-many');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toMatch(new RegExp(`^rules: at most ${MAX_RULES}`));
    expect((await put(`bulk-${have}`, 5)).status).toBe(200);
    await app.db.query(`DELETE FROM alert_rule_overrides WHERE id LIKE 'bulk-%' OR id LIKE 'race-%'`);
  });
});

describe('silence matchers', () => {
  const post = async (matchers: unknown[]) => fetch(`${app.server.url}/api/v1/silences`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('oncall')}` },
    body: JSON.stringify({ matchers, duration: '1h', comment: 'test' }),
  });

  it('match in linear time (RE2): a pattern built to backtrack cannot stall the evaluator', () => {
    const silence: Silence = { id: 's', matchers: [{ name: 'campaign', value: '(.*.*)*x', isRegex: true, isEqual: true }], startsAt: 0, endsAt: Date.now() + HOUR, createdBy: 'x', comment: '' };
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect(silencing([silence], { campaign: `${'a'.repeat(5000)}${i}` }, Date.now())).toBeUndefined();
    expect(silencing([silence], { campaign: 'aax' }, Date.now())).toBe(silence);
    // JavaScript's backtracking RegExp would not finish this in a lifetime
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('are refused with a 400 when not RE2 (backreferences, lookaround), and their number is bounded', async () => {
    const backreference = await post([{ name: 'campaign', value: '(a)\\1', isRegex: true }]);
    expect(backreference.status).toBe(400);
    expect(((await backreference.json()) as { error: string }).error).toMatch(/^matchers\.0\.value: not a valid RE2 regular expression/);
    expect((await post([{ name: 'campaign', value: '(?=a)', isRegex: true }])).status).toBe(400);
    expect((await post([{ name: 'campaign', value: '(.*.*)*x', isRegex: true }])).status).toBe(201);
    await app.db.query(
      `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment)
       SELECT 'bulk-' || i, '[]', now(), now() + interval '1 hour', 'test', 'bulk' FROM generate_series(1, $1::int) i`,
      [MAX_ACTIVE_SILENCES],
    );
    const full = await post([{ name: 'campaign', value: 'x' }]);
    expect(full.status).toBe(409);
    expect(((await full.json()) as { error: string }).error).toMatch(/500 active silences/);
  });
});

describe('the stream backlog', () => {
  it('keeps its last quarter for other producers when one floods it', async () => {
    const created = await fetch(`${app.server.url}/api/v1/ingest-keys`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await app.token('admin')}` },
      body: JSON.stringify({ name: 'second producer' }),
    });
    const otherKey = ((await created.json()) as { key: string }).key;
    await sleep(5_500); // every server refreshes its ingest keys within 5 s
    let serial = 0;
    const postAs = async (apiKey: string) => {
      const response = await app.post([{ id: `fair-${serial++}`, type: 'click', ts: Date.now(), channel: 'app' }], { apiKey });
      return { status: response.status, error: response.status === 202 ? '' : ((await response.json()) as { error: string }).error };
    };
    // the flooding producer: stopped at three quarters of the backlog (15 of 20 entries), with the reason
    const flood: Array<{ status: number; error: string }> = [];
    for (let i = 0; i < 20; i++) flood.push(await postAs(API_KEY));
    expect(flood.slice(0, 15).every((r) => r.status === 202)).toBe(true);
    expect(flood.slice(15).every((r) => r.status === 429 && /fair share/.test(r.error))).toBe(true);
    // the other producer still gets in, up to the hard limit
    const other: number[] = [];
    for (let i = 0; i < 7; i++) other.push((await postAs(otherKey)).status);
    expect(other.slice(0, 5)).toEqual(Array(5).fill(202));
    expect(other.slice(5)).toEqual([429, 429]);
  });
});
