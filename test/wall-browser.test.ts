import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoHistory, postEvents } from '../server/simulator/backfill.js';
import { newGeneratorState } from '../server/simulator/generator.js';
import { startServer, type RunningServer } from '../server/start-server.js';
import { createLogger } from '../stream/log.js';
import type { AttributionView, LiveResponse, MetricsResponse, SegmentsView } from '../stream/types.js';
import { formatCount, formatDateTime } from '../screen/format.js';
import { ruleSchema } from '../config/alert-schema.js';
import { alertView, type AlertRow } from '../alerts/store.js';
import { API_KEY, AUTH_SECRET, USER_ID_KEY, sleep, startTestApp, testConfig, type TestApp } from './harness.js';
import { SCREENSHOT_DIR, clickMapAt, launchChromium, logIn, tileValue } from './browser/chromium.js';
import { startHttpReceiver, type HttpReceiver } from './alert-receivers.js';

const run = promisify(execFile);
let app: TestApp;
let browser: Browser;
let hook: HttpReceiver;
const PUBLIC_URL = 'https://wall.example.cn';
beforeAll(async () => {
  hook = await startHttpReceiver();
  // one alert rule the test can trip at will: a channel spending over ¥1 000 000 in a minute
  const cfg = testConfig((c) => {
    c.alerts = {
      evaluation: { interval: 500, settle: 0, repeatInterval: 3_600_000, maxHold: 600_000 },
      rules: [ruleSchema.parse({ id: 'spend-burst', name: '渠道花费激增', nameEn: 'Channel spend burst', metric: 'spend', groupBy: 'channel', window: '1m', when: { above: 1_000_000 }, severity: 'critical', notify: ['oncall-webhook'] })],
    };
  });
  const env = { ...process.env, ALERT_WEBHOOK_URL: `${hook.url}/hook`, PUBLIC_URL };
  app = await startTestApp('wallbrowser', { cfg, pushIntervalMs: 250, screenDir: 'dist/screen', alerts: true, env });
  await postEvents(app.cfg, `${app.server.url}/api/v1/events`, API_KEY, demoHistory(app.cfg, Date.now(), newGeneratorState(7, 1)));
  await app.drained(120_000);
  browser = await launchChromium();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await hook?.close();
});

async function newPage(width = 1920, height = 1080): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  return context.newPage();
}

let seq = 0;
const post = (events: object[]) => app.post(events.map((e) => ({ id: `wb-${seq++}`, ts: Date.now(), ...e })));

describe('the wall in Chromium', () => {
  it('signs in and shows the nation with the numbers of /api/v1/live', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    expect(await page.getAttribute('.wall', 'data-view')).toBe('all');
    const live = (await (await app.get('/api/v1/live')).json()) as LiveResponse;
    for (const field of ['exposure', 'clicks', 'conversions', 'revenue', 'spend', 'visits'] as const) {
      expect(await tileValue(page, field), field).toBeCloseTo(live.today[field], 4);
    }
    // new users today, their change against the same span yesterday, and the unique users beside them
    expect(live.newUsers!.today).toBeGreaterThan(0);
    expect(await tileValue(page, 'newUsers')).toBe(live.newUsers!.today);
    const newUsersChange = await page.textContent('[data-tile=newUsers] .change');
    if (live.newUsers!.yesterday > 0) expect(newUsersChange).toContain('较昨日同期');
    expect(Number(await page.getAttribute('[data-test=unique-users]', 'data-value'))).toBe(live.today.uniqueUsers);
    expect(await page.textContent('[data-tile=newUsers] .label')).toMatch(/新增用户\s*独立/);
    expect(await page.textContent('[data-test=connection]')).toContain('实时连接');
    await sleep(1_500); // let charts settle for the picture
    await page.screenshot({ path: `${SCREENSHOT_DIR}/nation-1920x1080.png` });
    await page.context().close();
  });

  it('tells someone who keeps typing a wrong password how long to wait', async () => {
    const page = await newPage();
    await page.goto(`${app.server.url}/`);
    const attempt = async (password: string) => {
      await page.fill('input[name=username]', 'manager-south');
      await page.fill('input[name=password]', password);
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')), page.click('button[type=submit]')]);
      await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('button[type=submit]')?.disabled);
      return [answer.status(), await page.textContent('[data-test=login-error]')];
    };
    for (let i = 0; i < 5; i++) expect(await attempt('wrong')).toEqual([401, '用户名或密码错误']);
    expect(await attempt('demo')).toEqual([429, '登录失败次数过多，请 15 分钟后再试']);
    await page.context().close();
  });

  it('shows a firing alert in the ticker within seconds, and who acknowledged it', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    await page.waitForSelector('[data-test=alerts] .quiet');
    expect((await post([{ type: 'spend', channel: 'sms', ts: Date.now() - 11_000, value: 1_500_000 }])).status).toBe(202);
    await page.waitForSelector('[data-test=alerts] .item.firing.critical', { timeout: 5_000 });
    const ticker = await page.textContent('[data-test=alerts]');
    expect(ticker).toContain('告警中');
    // the demo history already holds a little sms spend in that minute
    expect(ticker).toMatch(/渠道花费激增 · 短信：花费 ¥1,50\d,\d{3}（高于 ¥1,000,000）/);
    const { alerts } = (await (await app.get('/api/v1/alerts?state=firing')).json()) as { alerts: Array<{ id: string }> };
    const acked = await fetch(`${app.server.url}/api/v1/alerts/${alerts[0]!.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${await app.token('oncall')}` } });
    expect(acked.status).toBe(200);
    await page.waitForFunction(() => document.querySelector('[data-test=alerts]')?.textContent?.includes('oncall 已确认'), undefined, { timeout: 3_000 });
    await sleep(1_000);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/nation-alert-1920x1080.png` });
    // a fresh page gets the alert from the API, not only from events it happened to see
    const later = await newPage();
    await logIn(later, app.server.url, 'ops');
    await later.waitForFunction(() => document.querySelector('[data-test=alerts]')?.textContent?.includes('oncall 已确认'), undefined, { timeout: 3_000 });
    await later.context().close();
    await page.context().close();
  });

  it("marks annotations on the time charts — a producer's on an open wall within 2 s, one made on the wall, the alerts' firing — and a manager sees no other region's", async () => {
    /** the keys of the marks a chart draws (its first series' markLine and markArea) */
    const marks = (p: Page, chart: string) => p.evaluate((selector) => {
      const el = document.querySelector(`[data-test=${selector}]`) as (HTMLElement & { chart?: { getOption(): { series: Array<{ markLine?: { data: Array<{ name: string }> }; markArea?: { data: Array<Array<{ name: string }>> } }> } } }) | null;
      const series = el?.chart?.getOption().series[0];
      return [...(series?.markLine?.data ?? []).map((d) => d.name), ...(series?.markArea?.data ?? []).map((d) => d[0]!.name)];
    }, chart);
    const annotate = async (body: object) => {
      const response = await fetch(`${app.server.url}/api/v1/annotations`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(201);
      return ((await response.json()) as { annotation: { id: string } }).annotation.id;
    };
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    await page.waitForSelector('[data-test=scope-trend]');
    // the spend burst the test before fired is marked where it fired
    await expect.poll(async () => (await marks(page, 'scope-trend')).some((key) => key.startsWith('fired:')), { timeout: 3_000 }).toBe(true);

    const posted = Date.now();
    const launch = await annotate({ text: '双12预热开始', kind: 'campaign', startsAt: new Date(posted - 12 * 60_000).toISOString() });
    await page.waitForFunction((key) => {
      const el = document.querySelector('[data-test=scope-trend]') as (HTMLElement & { chart?: { getOption(): { series: Array<{ markLine?: { data: Array<{ name: string }> } }> } } }) | null;
      return el?.chart?.getOption().series[0]?.markLine?.data.some((d) => d.name === key);
    }, `annotation:${launch}`, { timeout: 2_000 });
    expect(Date.now() - posted).toBeLessThan(2_000);
    // the other time chart redraws at most once a second
    await expect.poll(() => marks(page, 'channel-trend'), { timeout: 2_000 }).toContain(`annotation:${launch}`);

    // ops marks a span from the wall
    await page.click('[data-test=annotate]');
    await page.fill('[data-test=annotation-dialog] input[name=text]', '满300减50 发券');
    await page.selectOption('[data-test=annotation-dialog] select[name=kind]', 'coupon');
    const minutesAgo = (m: number) => { const d = new Date(Date.now() - m * 60_000); return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16); };
    await page.fill('[data-test=annotation-dialog] input[name=startsAt]', minutesAgo(30));
    await page.fill('[data-test=annotation-dialog] input[name=endsAt]', minutesAgo(20));
    await page.click('[data-test=annotation-dialog] button[type=submit]');
    await page.waitForSelector('[data-test=annotation-dialog]', { state: 'detached' });
    const listed = ((await (await app.get('/api/v1/annotations')).json()) as { annotations: Array<{ id: string; text: string; createdBy: string; kind: string; endsAt: string | null }> }).annotations;
    const coupon = listed.find((a) => a.text === '满300减50 发券')!;
    expect(coupon).toMatchObject({ createdBy: 'ops', kind: 'coupon' });
    expect(coupon.endsAt).not.toBeNull();
    await expect.poll(() => marks(page, 'scope-trend'), { timeout: 3_000 }).toContain(`annotation:${coupon.id}`);
    await sleep(1_200);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/nation-annotations-1920x1080.png` });
    await page.locator('[data-test=scope-trend]').screenshot({ path: `${SCREENSHOT_DIR}/nation-annotations-trend.png` });
    await page.context().close();

    // a manager: its region's and the nationwide ones on its wall, never another region's
    const eastId = await annotate({ text: '华东门店店庆', kind: 'campaign', startsAt: new Date(Date.now() - 10 * 60_000).toISOString(), region: 'east' });
    const northId = await annotate({ text: '华北系统故障', kind: 'outage', startsAt: new Date(Date.now() - 10 * 60_000).toISOString(), region: 'north' });
    const manager = await newPage();
    await logIn(manager, app.server.url, 'manager-east');
    await manager.waitForSelector('[data-test=scope-trend]');
    await expect.poll(() => marks(manager, 'scope-trend'), { timeout: 5_000 }).toContain(`annotation:${eastId}`);
    const managerMarks = await marks(manager, 'scope-trend');
    expect(managerMarks).toContain(`annotation:${launch}`);
    expect(managerMarks).not.toContain(`annotation:${northId}`);
    expect(await manager.$('[data-test=annotate]')).toBeNull();
    const managerList = ((await (await app.get('/api/v1/annotations', 'manager-east')).json()) as { annotations: Array<{ id: string }> }).annotations.map((a) => a.id);
    expect(managerList).toContain(eastId);
    expect(managerList).not.toContain(northId);
    await manager.context().close();
  });

  it('opens the link a notification carries on a phone: sign in, land on the alert, acknowledge and silence it; the wall shows the ack', async () => {
    expect((await post([{ type: 'spend', channel: 'email', region: 'south', ts: Date.now() - 11_000, value: 1_600_000 }])).status).toBe(202);
    type Payload = { status: string; alerts: Array<{ id: string; url?: string; labels: Record<string, string>; why?: string }> };
    let alert: Payload['alerts'][number] | undefined;
    const deadline = Date.now() + 10_000;
    while (!alert && Date.now() < deadline) {
      alert = hook.requests.map((r) => JSON.parse(r.body) as Payload).filter((p) => p.status === 'firing').flatMap((p) => p.alerts).find((a) => a.labels.channel === 'email');
      if (!alert) await sleep(100);
    }
    expect(alert?.url).toBe(`${PUBLIC_URL}/alerts/${alert!.id}`);
    // why it moved: the region the burst came from
    expect(alert?.why).toMatch(/^>?\+\d+%：华南( × 无活动)? 解释 \d+%/);

    // on a phone, from the link (the wall's own address in place of the public one)
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    await page.goto(`${app.server.url}${new URL(alert!.url!).pathname}`);
    await page.fill('input[name=username]', 'oncall');
    await page.fill('input[name=password]', 'demo');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-test=alert-summary]');
    expect(await page.textContent('[data-test=alert-summary]')).toMatch(/渠道花费激增 · 邮件/);
    expect(await page.textContent('[data-test=alert-state]')).toBe('告警中');
    // readable without zooming: the page fits the phone's width
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.waitForSelector('[data-test=alert-why] [data-test=why-row]');
    expect(await page.textContent('[data-test=alert-why] [data-test=why-row] .name')).toMatch(/^华南/);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/console-alert-390x844.png`, fullPage: true });
    await page.click('[data-test=ack]');
    await page.waitForSelector('[data-test=alert-acked]');
    expect(await page.textContent('[data-test=alert-acked]')).toContain('oncall');

    // the wall's ticker says who acknowledged it
    const wall = await newPage();
    await logIn(wall, app.server.url, 'ops');
    await wall.waitForFunction((id) => document.querySelector(`[data-test=alerts] [data-alert="${id}"]`)?.textContent?.includes('oncall 已确认'), alert!.id, { timeout: 5_000 });
    await wall.context().close();

    // the metric around it, with the bound and the episode shaded; the timeline so far
    await page.waitForSelector('[data-test=alert-chart] canvas');
    expect(await page.$('[data-test=alert-latest-part]')).toBeNull(); // drawn whole: no note
    const around = (await (await app.get(`/api/v1/alerts/${alert!.id}/series`, 'oncall')).json()) as { instances: Array<{ key: string; episodes: Array<{ start: string }>; series: Array<[number, number]> }>; bound: unknown };
    expect(around.instances.map((i) => i.key)).toEqual(['email']);
    expect(around.bound).toEqual({ above: 1_000_000 });
    expect(around.instances[0]!.episodes.length).toBe(1);
    expect(Math.max(...around.instances[0]!.series.map(([, v]) => v))).toBeGreaterThanOrEqual(1_600_000); // with the demo's own spend
    const timeline = await page.textContent('[data-test=alert-timeline]');
    expect(timeline).toContain('进入观察');
    expect(timeline).toContain('开始告警');
    expect(timeline).toMatch(/已确认 · oncall/);
    expect(timeline).toContain('通知 oncall-webhook（告警）');
    // every notification and its attempts, in words
    expect(await page.textContent('[data-test=alert-notifications]')).toMatch(/^\s*oncall-webhook · 告警 · 已发送\s*#1 \S+ \S+ ✓ 已送达\s*$/);

    // its labels named in the console's language; the ids a silence matches stay as they are
    const labels = await page.$$eval('.labels li', (items) => items.map((li) => li.textContent!.trim()));
    expect(labels).toEqual(['规则 spend-burst', '指标 花费', '渠道 email', '级别 严重']);

    // silence it until the morning: matchers from its labels, and before saving, the active alerts they match;
    // left without the channel, the silence covers the rule on every channel
    // a preset says how long and until when, in the page's words
    await page.click('[data-test=silence-1h]');
    expect(await page.textContent('[data-test=silence-span]')).toMatch(/^静默 1 小时 · 至 \d{4}\/\d{1,2}\/\d{1,2} \d{2}:\d{2}:\d{2}$/);
    await page.click('[data-test=silence-cancel]');
    await page.click('[data-test=silence-morning]');
    expect(await page.textContent('[data-test=silence-span]')).toMatch(/^至 \d{4}\/\d{1,2}\/\d{1,2} 09:00:00$/);
    expect((await page.textContent('label.matcher:has([data-test=matcher-channel])'))!.trim()).toBe('渠道 = email');
    await page.waitForFunction((id) => document.querySelector(`[data-test=silence-matches] [data-alert="${id}"]`) !== null, alert!.id);
    expect(await page.textContent('[data-test=silence-matches-count]')).toBe('保存后将静默当前 1 条活动告警：');
    await page.click('[data-test=matcher-channel]');
    await page.waitForFunction((id) => document.querySelector(`[data-test=silence-matches] [data-alert="${id}"]`) !== null, alert!.id);
    await page.click('[data-test=silence-save]');
    await page.waitForFunction(() => document.querySelector('[data-test=action-result]')?.textContent?.includes('已静默'));
    const { silences } = (await (await app.get('/api/v1/silences', 'oncall')).json()) as { silences: Array<{ matchers: Array<{ name: string; value: string }>; endsAt: number }> };
    const made = silences.find((x) => x.matchers.some((m) => m.value === 'spend-burst'))!;
    expect(made.matchers).toEqual([{ name: 'rule', value: 'spend-burst', isRegex: false, isEqual: true }]);
    expect(new Date(made.endsAt).getHours()).toBe(9);

    // the silence stops the next notification: another channel bursts, its alert fires silenced, the webhook hears nothing
    const heard = hook.requests.length;
    expect((await post([{ type: 'spend', channel: 'jd', ts: Date.now() - 11_000, value: 1_700_000 }])).status).toBe(202);
    type Listed = { id: string; state: string; silencedBy: string | null; labels: Record<string, string> };
    let silenced: Listed | undefined;
    const firingBy = Date.now() + 10_000;
    while (!silenced && Date.now() < firingBy) {
      const { alerts } = (await (await app.get('/api/v1/alerts?state=firing')).json()) as { alerts: Listed[] };
      silenced = alerts.find((a) => a.labels.channel === 'jd');
      if (!silenced) await sleep(100);
    }
    expect(silenced?.silencedBy).toBeTruthy();
    await sleep(1_500); // a delivery would have reached the receiver by now
    expect(hook.requests.length).toBe(heard);
    // the wall still shows it, marked silenced
    const silencedWall = await newPage();
    await logIn(silencedWall, app.server.url, 'ops');
    await silencedWall.waitForFunction((id) => document.querySelector(`[data-test=alerts] [data-alert="${id}"] .silenced`)?.textContent === '已静默', silenced!.id, { timeout: 5_000 });
    await silencedWall.context().close();
    const silencedPage = await phone.newPage();
    await silencedPage.goto(`${app.server.url}/alerts/${silenced!.id}`);
    await silencedPage.waitForSelector('[data-test=alert-timeline]');
    expect(await silencedPage.textContent('[data-test=alert-timeline]')).toContain('当前处于静默中');
    await silencedPage.close();
    // a manager may not see these nationwide alerts, nor their series
    expect((await app.get(`/api/v1/alerts/${alert!.id}`, 'manager-east')).status).toBe(404);
    expect((await app.get(`/api/v1/alerts/${alert!.id}/series`, 'manager-east')).status).toBe(404);
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: `${SCREENSHOT_DIR}/console-alert-1920x1080.png` });
    await phone.close();

    // ops reads it, but may not act: no buttons, and the API refuses anyway
    const opsContext = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
    const opsPage = await opsContext.newPage();
    await opsPage.goto(`${app.server.url}/alerts/${alert!.id}`);
    await opsPage.fill('input[name=username]', 'ops');
    await opsPage.fill('input[name=password]', 'demo');
    await opsPage.click('button[type=submit]');
    await opsPage.waitForSelector('[data-test=read-only]');
    expect(await opsPage.$('[data-test=ack], [data-test=silence-1h]')).toBeNull();
    // an alert active for 40 days on a 1 min rule: more windows than one preview judges, so its page
    // draws the latest part and says so
    await app.db.query(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at, resolved_at, summary, summary_en)
       SELECT 'forty-days', rule_id, instance, labels, region, severity, 'resolved', now() - interval '40 days', now() - interval '40 days', now() - interval '1 hour', summary, summary_en
       FROM alerts WHERE id = $1`, [alert!.id]);
    await opsPage.goto(`${app.server.url}/alerts/forty-days`);
    await opsPage.waitForSelector('[data-test=alert-chart] canvas');
    const latestPart = await opsPage.textContent('[data-test=alert-latest-part]');
    const drawnFrom = ((await (await app.get('/api/v1/alerts/forty-days/series', 'ops')).json()) as { from: string }).from;
    expect(Date.now() - Date.parse(drawnFrom)).toBeLessThan(36 * 86_400_000); // 50 000 one-minute windows: ~35 days
    expect(latestPart).toContain('图中只画最近一段');
    await opsPage.screenshot({ path: `${SCREENSHOT_DIR}/console-alert-latest-part-390x844.png`, fullPage: true });
    expect(latestPart).toContain(`自 ${formatDateTime(drawnFrom, 'zh')} 起`);
    await app.db.query(`DELETE FROM alerts WHERE id = 'forty-days'`);
    await opsContext.close();
    const refused = await fetch(`${app.server.url}/api/v1/alerts/${alert!.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${await app.token('ops')}` } });
    expect(refused.status).toBe(403);
  });

  it('lists the alerts a role may see, filtered, each opening its page; oncall expires a silence there, ops may not', async () => {
    const open = async (username: string) => {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true, hasTouch: true });
      const page = await context.newPage();
      await page.goto(`${app.server.url}/alerts`);
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', 'demo');
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-test=alerts-page]');
      return page;
    };
    const ops = await open('ops');
    await ops.waitForSelector('[data-test=alert-list] li');
    const { alerts } = (await (await app.get('/api/v1/alerts?state=all&limit=500')).json()) as { alerts: Array<{ id: string; state: string; silencedBy: string | null; labels: Record<string, string> }> };
    expect(await ops.$$eval('[data-test=alert-list] li', (items) => items.map((i) => i.getAttribute('data-alert')))).toEqual(alerts.map((a) => a.id));
    await ops.selectOption('[data-test=filter-dimension]', 'channel=email');
    const emailOnly = await ops.$$eval('[data-test=alert-list] li', (items) => items.map((i) => i.getAttribute('data-alert')));
    expect(emailOnly).toEqual(alerts.filter((a) => a.labels.channel === 'email').map((a) => a.id));
    // the silenced ones (the bursts silenced from the alert page above), within the last hour
    await ops.selectOption('[data-test=filter-dimension]', '');
    await ops.selectOption('[data-test=filter-state]', 'silenced');
    await ops.selectOption('[data-test=filter-since]', '1h');
    const silencedOnly = await ops.$$eval('[data-test=alert-list] li', (items) => items.map((i) => i.getAttribute('data-alert')));
    const expected = alerts.filter((a) => a.silencedBy && a.state !== 'resolved').map((a) => a.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(silencedOnly).toEqual(expected);
    // each card says how severe and that it is silenced: nobody is paged for it
    const badges = await ops.$$eval('[data-test=alert-list] li', (items) => items.map((i) => [...i.querySelectorAll('[data-test=alert-badges] .badge')].map((b) => b.textContent!.trim()).join(' ')));
    const STATE_ZH: Record<string, string> = { firing: '告警中', pending: '观察中', recovering: '恢复中' };
    expect(badges).toEqual(alerts.filter((a) => a.silencedBy && a.state !== 'resolved').map((a) => `严重 ${STATE_ZH[a.state]} 已静默`));
    await ops.selectOption('[data-test=filter-state]', 'all');
    await ops.selectOption('[data-test=filter-since]', '');
    expect(await ops.$('[data-test=silences] [data-test=expire]')).toBeNull(); // ops reads silences, may not expire them
    expect(await ops.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await ops.screenshot({ path: `${SCREENSHOT_DIR}/console-alerts-390x844.png`, fullPage: true });
    await ops.click(`[data-test=alert-list] li[data-alert="${emailOnly[0]}"] a`);
    await ops.waitForSelector('[data-test=alert-summary]');
    expect(ops.url()).toBe(`${app.server.url}/alerts/${emailOnly[0]}`);
    await ops.context().close();

    // a manager sees no nationwide (channel-level) alert, and no silences
    const manager = await open('manager-east');
    await manager.waitForSelector('[data-test=no-alerts]');
    expect(await manager.$('[data-test=silences]')).toBeNull();
    await manager.context().close();

    // oncall expires the silence made from the alert page
    const oncall = await open('oncall');
    await oncall.waitForSelector('[data-test=silences] [data-test=expire]');
    const before = await oncall.$$eval('[data-test=silences] li', (items) => items.length);
    await oncall.click('[data-test=silences] [data-test=expire]');
    await oncall.waitForFunction((n) => document.querySelectorAll('[data-test=silences] li').length === n - 1, before);
    await oncall.context().close();
  });

  it('shows a recovered alert as recovering: on the ticker with when it was back to normal, on its page with how long until it resolves', async () => {
    // wechat spends nowhere near ¥1 000 000 a minute: the running evaluator keeps it recovering (2 h)
    const back = Date.now() - 3 * 60_000;
    const { rows } = await app.db.query<AlertRow>(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at, recovering_since, value, summary, summary_en, updated_at)
       VALUES ('recovering-wechat', 'spend-burst', 'wechat', '{"rule":"spend-burst","channel":"wechat","severity":"critical","metric":"spend"}', NULL, 'critical',
               'recovering', $1, $1, $2, 80000, '渠道花费激增 · 微信：花费 ¥80,000（已回落至 ¥1,000,000 以下）', 'Channel spend burst · WeChat: spend ¥80,000 (back below ¥1,000,000)', now())
       RETURNING *`,
      [new Date(back - 20 * 60_000), new Date(back)],
    );
    const wall = await newPage();
    await logIn(wall, app.server.url, 'ops');
    app.server.screen.publishAlert(alertView(rows[0]!));
    const item = await wall.waitForSelector('[data-test=alerts] .item.recovering[data-alert="recovering-wechat"]', { timeout: 5_000 });
    const clock = await wall.evaluate((t) => new Date(t).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit' }), back);
    expect(await item.textContent()).toContain(`恢复中 ${clock}`);
    // it is not counted among the firing ones
    const firing = await wall.$$eval('[data-test=alerts] .item.firing', (items) => new Set(items.map((i) => i.getAttribute('data-alert'))).size);
    expect(Number((await wall.textContent('[data-test=alerts] .count')) ?? 0)).toBe(firing);
    await sleep(1_000);
    await wall.screenshot({ path: `${SCREENSHOT_DIR}/nation-alert-recovering-1920x1080.png` });
    await wall.context().close();

    for (const [width, height] of [[390, 844], [1920, 1080]] as const) {
      const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
      const page = await context.newPage();
      await page.goto(`${app.server.url}/alerts/recovering-wechat`);
      await page.fill('input[name=username]', 'oncall');
      await page.fill('input[name=password]', 'demo');
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-test=recovering-note]');
      expect(await page.textContent('[data-test=alert-state]')).toBe('恢复中');
      expect(await page.textContent('[data-test=recovering-note]')).toContain('再保持 2h 不越界即恢复');
      expect(await page.textContent('[data-test=alert-recovering]')).toBe(formatDateTime(back, 'zh'));
      expect(await page.textContent('[data-test=alert-timeline]')).toContain('回到正常范围，进入恢复中');
      expect(await page.$('[data-test=ack]')).not.toBeNull(); // still open: it may be acknowledged
      await page.waitForSelector('[data-test=alert-chart] canvas');
      await sleep(500);
      await page.screenshot({ path: `${SCREENSHOT_DIR}/console-alert-recovering-${width}x${height}.png`, fullPage: width < 400 });
      await context.close();
    }
    expect((await app.db.query(`SELECT state FROM alerts WHERE id = 'recovering-wechat'`)).rows).toEqual([{ state: 'recovering' }]);
  });

  it('rules: an admin switches one off and on, a bad field is named at the field, and "try it on history" draws the episodes npm run backtest finds in the same series', async () => {
    const open = async (username: string, path: string, width = 1920, height = 1080) => {
      const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
      const page = await context.newPage();
      await page.goto(`${app.server.url}${path}`);
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', 'demo');
      await page.click('button[type=submit]');
      return page;
    };
    const enabled = async () => ((await (await app.get('/api/v1/alert-rules')).json()) as { rules: Array<{ id: string; enabled: boolean }> }).rules.find((r) => r.id === 'spend-burst')!.enabled;
    const admin = await open('admin', '/rules');
    await admin.waitForSelector('[data-test=rule-list] li[data-rule=spend-burst]');
    await admin.click('[data-rule=spend-burst] [data-test=toggle]');
    await admin.waitForFunction(() => document.querySelector('[data-rule=spend-burst] [data-test=rule-enabled]')?.textContent === '已停用');
    expect(await enabled()).toBe(false);
    await admin.click('[data-rule=spend-burst] [data-test=toggle]');
    await admin.waitForFunction(() => document.querySelector('[data-rule=spend-burst] [data-test=rule-enabled]')?.textContent === '已启用');
    expect(await enabled()).toBe(true);
    const audit = (await (await app.get('/api/v1/audit?limit=20', 'admin')).json()) as { entries: Array<{ action: string; target: string }> };
    expect(audit.entries.filter((e) => e.target === 'spend-burst').map((e) => e.action).slice(0, 2)).toEqual(['rule.enable', 'rule.disable']);

    // a spike of spend twenty hours ago, far past anything the demo history holds, for the draft to find
    const spikeAt = Math.floor((Date.now() - 20 * 3_600_000) / 60_000) * 60_000 + 20_000;
    expect((await post([{ type: 'spend', channel: 'sms', ts: spikeAt, value: 3_000_000 }])).status).toBe(202);
    await app.drained(30_000);

    // a new rule: bad fields are named where they are
    await admin.goto(`${app.server.url}/rules/new`);
    await admin.waitForSelector('[data-test=rule-form]');
    // left empty, a rule reminds at the evaluation's repeatInterval (1 h in this configuration): the field says so
    expect(await admin.getAttribute('[data-test=field-repeatInterval]', 'placeholder')).toBe('默认 1h');
    await admin.fill('[data-test=field-id]', 'spend-auto');
    await admin.fill('[data-test=field-name]', '全国花费异常');
    await admin.fill('[data-test=field-nameEn]', 'Nation spend anomaly');
    await admin.selectOption('[data-test=field-metric]', 'spend');
    await admin.fill('[data-test=field-window]', '90x');
    await admin.click('[data-test=save]');
    await admin.waitForSelector('[data-test=error-window]');
    // told in the console's language (Chinese here)
    expect(await admin.textContent('[data-test=error-window]')).toBe('"90x" 不是时长，应写成 30s、5m、1h 或 7d 这样');
    await admin.screenshot({ path: `${SCREENSHOT_DIR}/console-rule-error-1920x1080.png` });
    // the selects' choices in words, not alerts.yaml's values (which they still send)
    const chosen = (select: string) => admin.$eval(select, (el) => (el as HTMLSelectElement).selectedOptions[0]!.textContent);
    expect([await chosen('[data-test=field-metric]'), await chosen('[data-test=field-detector-direction]'), await chosen('[data-test=field-noData]')]).toEqual(['花费', '双向', '视为正常']);
    await admin.selectOption('[data-test=field-condition]', 'drop');
    expect(await admin.$$eval('[data-test=field-detector-vs] option', (options) => options.map((o) => o.textContent))).toEqual(['上一个窗口', '昨日同一时段', '上周同一时段']);
    await admin.selectOption('[data-test=field-condition]', 'auto');
    await admin.fill('[data-test=field-window]', '1m');
    // the filter offers the configured places by name: a region's stores once the region is
    // chosen, and a store of another region is let go when the region changes
    const optionTexts = (select: string) => admin.$$eval(`${select} option`, (options) => options.map((o) => o.textContent!.trim()));
    expect(await optionTexts('[data-test=field-filter-region]')).toEqual(['不限', ...app.cfg.regions.map((r) => r.name)]);
    expect(await optionTexts('[data-test=field-filter-channel]')).toEqual(['不限', ...app.cfg.channels.map((c) => c.name)]);
    await admin.selectOption('[data-test=field-filter-region]', 'east');
    const east = app.cfg.regions.find((r) => r.id === 'east')!;
    expect(await optionTexts('[data-test=field-filter-store]')).toEqual(['不限', ...east.stores.map((st) => st.name)]);
    await admin.selectOption('[data-test=field-filter-store]', 'sh-jingan');
    await admin.selectOption('[data-test=field-filter-region]', 'north');
    expect(await admin.inputValue('[data-test=field-filter-store]')).toBe('');
    await admin.selectOption('[data-test=field-filter-region]', '');
    // the notifiers by id and kind, ticked rather than typed; the draft sends the ticked ones
    expect(await admin.$$eval('[data-test=field-notify] label', (labels) => labels.map((l) => l.textContent!.replace(/\s+/g, ' ').trim())))
      .toEqual(app.cfg.notifiers.map((n) => `${n.id} ${({ webhook: 'Webhook', email: '邮件', slack: 'Slack', wecom: '企业微信', dingtalk: '钉钉', feishu: '飞书' } as Record<string, string>)[n.kind]}`));
    await admin.check('[data-test=notify-oncall-webhook]');
    // what the run itself refuses (its cost) is said beside the run, not at the form's fields
    await admin.fill('[data-test=field-window]', '10s');
    await admin.click('[data-test=try-30d]');
    await admin.waitForSelector('[data-test=try-error]');
    expect(await admin.textContent('[data-test=try-error]')).toMatch(/^该时段有 \d+ 个 10 秒窗口，最多 50000 个$/);
    expect(await admin.$('[data-test=error-other]')).toBeNull();
    await admin.fill('[data-test=field-window]', '1m');

    // try the draft (condition auto, unsaved) on the last 24 h
    const answered = admin.waitForResponse((r) => r.url().endsWith('/api/v1/alert-rules/preview') && r.status() === 200);
    await admin.click('[data-test=try-24h]');
    expect(((await answered).request().postDataJSON() as { rule: { notify: string[]; filter?: object } }).rule).toMatchObject({ notify: ['oncall-webhook'] });
    const answer = (await (await answered).json()) as { from: string; to: string; historyFrom: string; windowSeconds: number; notifications: number; instances: Array<{ key: string; episodes: Array<{ start: string; end: string | null; peak: { t: string; value: number } }> }> };
    await admin.waitForSelector('[data-test=try-chart] canvas');
    expect(await admin.$('[data-test=try-error]')).toBeNull();
    const drawn = await admin.$$eval('[data-test=try-episodes] li', (items) => items.map((i) => i.getAttribute('data-start')));
    expect(drawn).toEqual(answer.instances[0]!.episodes.map((e) => e.start));
    // the spike is an episode's peak; the episode may have begun a little earlier, when the demo's own traffic steps up (its 10:00 rise)
    const spikeWindowEnd = Math.floor(spikeAt / 60_000) * 60_000 + 60_000;
    const spiked = answer.instances[0]!.episodes.find((e) => Date.parse(e.peak.t) === spikeWindowEnd);
    expect(spiked?.peak.value).toBeGreaterThanOrEqual(3_000_000);
    expect(drawn).toContain(spiked!.start);
    // each episode's peak beside it, to the fen, in the metric's unit: what the on-call reads before opening the chart
    const peakText = await admin.$eval(`[data-test=try-episodes] li[data-start="${spiked!.start}"] [data-test=episode-peak]`, (el) => el.textContent);
    expect(peakText).toBe(`峰值 ¥${spiked!.peak.value.toLocaleString('zh-CN', { maximumFractionDigits: 2 })}`);
    expect(peakText).toMatch(/^峰值 ¥3,0\d\d,\d{3}/);
    // the spike is over within minutes, its alert kept open as recovering for the rule's 2 h: the line says when it was back to normal
    const { recoveredAt } = spiked as unknown as { recoveredAt: string | null };
    expect(Date.parse(recoveredAt!)).toBeGreaterThan(spikeWindowEnd);
    expect(Date.parse(spiked!.end ?? answer.to) - Date.parse(recoveredAt!)).toBeGreaterThanOrEqual(2 * 3_600_000 - 60_000);
    expect(await admin.$eval(`[data-test=try-episodes] li[data-start="${spiked!.start}"] [data-test=episode-recovered]`, (el) => el.textContent))
      .toBe(`（${formatDateTime(recoveredAt, 'zh')} 回到正常，此后为恢复中）`);
    expect(await admin.textContent('[data-test=try-summary]')).toMatch(new RegExp(`^近 24 小时内(会通知 ${answer.notifications} 次|会通知 1 次|不会通知)$`));
    // auto learns a day of data before it judges, and the demo's history goes back 47 h: the range's first hour or so was not judged, and the page says so
    const { of, unjudged } = (answer as unknown as { judgedWindows: { of: number; unjudged: number } }).judgedWindows;
    expect(of).toBe(answer.instances.length * 1440);
    expect(unjudged / of).toBeGreaterThan(0.03);
    expect(unjudged / of).toBeLessThan(0.05);
    expect(await admin.textContent('[data-test=try-unjudged]')).toBe(`其中 ${Math.round((unjudged / of) * 100)}% 的窗口之前历史不足，未作判断（数据开始之前，或自动检测学习的第一天）`);
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1920);
    await admin.screenshot({ path: `${SCREENSHOT_DIR}/console-rule-try-1920x1080.png`, fullPage: true });
    await admin.setViewportSize({ width: 390, height: 844 });
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await admin.screenshot({ path: `${SCREENSHOT_DIR}/console-rule-try-390x844.png`, fullPage: true });

    // the same series exported to CSV (the query API, every minute the detector read, none missing) → npm run backtest
    const windowMs = answer.windowSeconds * 1000;
    const from = Date.parse(answer.historyFrom);
    const to = Date.parse(answer.to);
    const metrics = (await (await app.get(`/api/v1/metrics?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&step=1m`)).json()) as MetricsResponse;
    const spend = new Map(metrics.series[0]!.points.map((p) => [Date.parse(p.t), p.spend]));
    const rows = ['timestamp,value'];
    for (let t = from; t < to; t += windowMs) rows.push(`${new Date(t + windowMs).toISOString()},${spend.get(t) ?? 0}`);
    const csv = join(mkdtempSync(join(tmpdir(), 'try-')), 'spend.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'alerts/backtest-cli.ts', '--input', csv, '--detector', 'auto'], { cwd: process.cwd() });
    const onsets = stdout.trim().split('\n').filter(Boolean).map((line) => Date.parse((JSON.parse(line) as { timestamp: string }).timestamp))
      .filter((t) => t > Date.parse(answer.from) && t <= to);
    expect(drawn.map((start) => Date.parse(start!))).toEqual(onsets);
    await admin.context().close();

    // ops reads a rule, may not edit it; the API refuses anyway
    const ops = await open('ops', '/rules/spend-burst', 390, 844);
    await ops.waitForSelector('[data-test=rule-form] [data-test=read-only]');
    expect(await ops.$('[data-test=save]')).toBeNull();
    expect(await ops.inputValue('[data-test=field-window]')).toBe('1m');
    await ops.context().close();
    // a manager sees no nationwide rule, and no way to run one
    const manager = await open('manager-east', '/rules/spend-burst', 390, 844);
    await manager.waitForSelector('[data-test=rule-problem]');
    expect(await manager.textContent('[data-test=rule-problem]')).toBe('规则不存在，或你无权查看');
    expect(await manager.$('[data-test=try]')).toBeNull();
    await manager.goto(`${app.server.url}/rules`);
    await manager.waitForSelector('[data-test=rules-page]');
    expect(await manager.$('[data-rule=spend-burst]')).toBeNull();
    await manager.context().close();
    const refused = await fetch(`${app.server.url}/api/v1/alert-rules/spend-burst`, { method: 'PATCH', headers: { authorization: `Bearer ${await app.token('ops')}`, 'content-type': 'application/json' }, body: '{"enabled":false}' });
    expect(refused.status).toBe(403);
  });

  it('fills the attribution and segments panels when their jobs have run', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    const run = await fetch(`${app.server.url}/api/v1/jobs/attribution/run`, { method: 'POST', headers: { authorization: `Bearer ${await app.token('admin')}` } });
    expect(run.status).toBe(200);
    // the demo history's known online orders come with their journeys: attribution covers most online revenue
    const nation = (await (await app.get('/api/v1/attribution')).json()) as AttributionView;
    const covered = (view: AttributionView) => view.models.markov!.reduce((sum, c) => sum + c.value, 0) / view.onlineRevenue;
    expect(covered(nation)).toBeGreaterThanOrEqual(0.6);
    expect(covered(nation)).toBeLessThan(1);
    const top = (view: AttributionView) => [...view.models.markov!].sort((a, b) => b.value - a.value).slice(0, 3);
    const shownCredits = async (p: Page) => {
      await p.waitForSelector('[data-test=attribution] tr', { timeout: 5_000 });
      return p.$$eval('[data-test=attribution] tr', (rows) => rows.map((row) => [row.querySelector('.name')!.textContent!.trim(), row.querySelector('.roi')!.classList.contains('low')]));
    };
    const expected = (view: AttributionView) => top(view).map((c) => [app.cfg.channelById.get(c.channel)!.name, c.roi !== null && c.roi < 1.5]);
    expect(await shownCredits(page)).toEqual(expected(nation));
    // several touches per path: first and last touch credit the channels differently
    const firstTouch = new Map(nation.models.first_touch!.map((c) => [c.channel, c.value]));
    expect(nation.models.last_touch!.some((c) => Math.abs(c.value - (firstTouch.get(c.channel) ?? 0)) > 0.05 * c.value)).toBe(true);
    expect(await page.textContent('[data-test=attribution-coverage]')).toBe(`归因覆盖线上销售额 ${Math.round(covered(nation) * 100)}%`);

    // segments: the tiers of the API's answer, in the panel; a manager's wall counts only its region
    expect(await page.textContent('[data-test=segments]').catch(() => null)).toBeNull();
    const segmentsRun = await fetch(`${app.server.url}/api/v1/jobs/segments/run`, { method: 'POST', headers: { authorization: `Bearer ${await app.token('admin')}` } });
    expect(segmentsRun.status).toBe(200);
    await page.waitForSelector('[data-test=segments]', { timeout: 3_000 });
    const shown = async (p: typeof page) => p.$$eval('[data-test=segments] tr', (rows) => rows.map((row) => [row.getAttribute('data-tier'), row.querySelector('.count')!.textContent!.trim()]));
    const formatted = (view: SegmentsView) => view.tiers.map((tier) => [tier.tier, formatCount(tier.customers, 'zh')]);
    const nationwide = (await (await app.get('/api/v1/segments')).json()) as SegmentsView;
    expect(nationwide.tiers.find((tier) => tier.tier === 'high_value')!.customers).toBeGreaterThan(0);
    expect(await shown(page)).toEqual(formatted(nationwide));
    expect(await page.textContent('[data-test=segments]')).toContain('高价值');
    await sleep(1_000);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/nation-attribution-1920x1080.png` });
    const manager = await newPage();
    await logIn(manager, app.server.url, 'manager-east');
    await manager.waitForSelector('[data-test=segments]', { timeout: 5_000 });
    const east = (await (await app.get('/api/v1/segments', 'manager-east')).json()) as SegmentsView;
    expect(east.customers).toBeLessThan(nationwide.customers);
    expect(await shown(manager)).toEqual(formatted(east));
    // and its attribution: its customers' orders only
    const eastAttribution = (await (await app.get('/api/v1/attribution', 'manager-east')).json()) as AttributionView;
    expect(eastAttribution.regions).toEqual(['east']);
    expect(eastAttribution.onlineRevenue).toBeLessThan(nation.onlineRevenue / 2);
    expect(covered(eastAttribution)).toBeGreaterThanOrEqual(0.6);
    expect(await shownCredits(manager)).toEqual(expected(eastAttribution));
    await manager.context().close();
    // ops drilling into a region sees that region's segments
    await page.evaluate(() => (location.hash = '#/region/east'));
    await page.waitForFunction((expected) => document.querySelector('[data-test=segments] tr .count')?.textContent?.trim() === expected, formatted(east)[0]![1], { timeout: 5_000 });
    expect(await shown(page)).toEqual(formatted(east));
    await page.context().close();
  });

  it('shows posted events on the tiles within 2 seconds', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    const before = await tileValue(page, 'conversions');
    const revenueBefore = await tileValue(page, 'revenue');
    const posted = Date.now();
    expect((await post([{ type: 'conversion', channel: 'jd', region: 'south', count: 3, value: 777.7 }])).status).toBe(202);
    await page.waitForFunction((expected) => Number(document.querySelector('[data-tile=conversions]')?.getAttribute('data-value')) === expected, before + 3, { timeout: 2_000 });
    const seenAfter = Date.now() - posted;
    expect(seenAfter).toBeLessThan(2_000);
    expect(await tileValue(page, 'revenue')).toBeCloseTo(revenueBefore + 777.7, 4);
    // a customer never seen before: one more new user; the same customer again: none
    const newBefore = await tileValue(page, 'newUsers');
    expect((await post([{ type: 'click', channel: 'xiaohongshu', region: 'east', count: 1, userId: `wb-new-${Date.now()}` }])).status).toBe(202);
    await page.waitForFunction((expected) => Number(document.querySelector('[data-tile=newUsers]')?.getAttribute('data-value')) === expected, newBefore + 1, { timeout: 2_000 });
    await page.context().close();
  });

  it('asks "why did it move?" of a tile and of an alert: the segments the API ranks, over the wall, closed by hand', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    // the panel's own answer (the API read again a moment later moves with live traffic)
    const [revenueAnswered] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/explain?metric=revenue')),
      page.click('[data-tile=revenue]'),
    ]);
    await page.waitForSelector('[data-test=why-row], [data-test=why-nothing]');
    const answer = (await revenueAnswered.json()) as { top: Array<{ label: string }>; relative: number };
    expect(answer.top.length).toBeGreaterThan(0);
    const rows = await page.$$eval('[data-test=why-row] .name', (els) => els.map((e) => e.textContent?.trim()));
    expect(rows).toEqual(answer.top.map((c) => c.label));
    expect(await page.textContent('[data-test=why-move]')).toContain(`${Math.abs(answer.relative * 100).toFixed(1)}%`);
    await sleep(500);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/why-revenue-1920x1080.png` });
    await page.click('[data-test=why-close]');
    expect(await page.$('[data-test=why-panel]')).toBeNull();
    // a channel's ROI bar: that channel's ROI, its mix and rate apart
    const bar = await page.evaluate(() => {
      const el = document.querySelector('[data-test=roi]') as (HTMLElement & { chart?: { getOption(): { series: Array<{ data: Array<{ value: number; channelId: string }> }> }; convertToPixel(finder: object, value: number[]): number[] } }) | null;
      const first = el!.chart!.getOption().series[0]!.data[0]!;
      // the middle of the first bar on the log axis (from 0.1 to its value)
      const [x, y] = el!.chart!.convertToPixel({ seriesIndex: 0 }, [Math.sqrt(0.1 * first.value), 0]);
      const box = el!.getBoundingClientRect();
      return { x: box.left + x!, y: box.top + y!, channel: first.channelId };
    });
    // the panel's own answer again
    const [answered] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/v1/explain?metric=roi&channel=${bar.channel}`)),
      page.mouse.click(bar.x, bar.y),
    ]);
    await page.waitForSelector('[data-test=why-row], [data-test=why-nothing]');
    expect(await page.textContent('[data-test=why-panel] h2')).toContain('ROI · ');
    const channelAnswer = (await answered.json()) as { top: Array<{ label: string }> };
    const channelRows = await page.$$eval('[data-test=why-row] .name', (els) => els.map((e) => e.textContent?.trim()));
    expect(channelRows).toEqual(channelAnswer.top.map((c) => c.label));
    if (channelRows.length) expect(await page.textContent('[data-test=why-row] .split')).toMatch(/结构 .* · 自身 /);
    await page.click('[data-test=why-close]');
    await page.context().close();
  });

    it('replays a past moment from its address: an amber REPLAY frame, the tiles of /api/v1/replay, steps, and back to live in one click', async () => {
    const at = new Date(Math.floor((Date.now() - 5 * 60_000) / 1000) * 1000);
    const local = new Date(at.getTime() + 8 * 3_600_000).toISOString().replace(/\.\d+Z$/, '+08:00');
    const page = await newPage();
    await logIn(page, app.server.url, 'ops', `?at=${encodeURIComponent(local)}`);
    await page.waitForSelector('[data-test=replay-banner]');
    expect(await page.getAttribute('.wall', 'class')).toContain('replaying');
    expect(await page.$('[data-test=connection]')).toBeNull(); // no "live" anywhere in the header
    const replayed = async (instant: number) => ((await (await app.get(`/api/v1/replay?at=${instant}`)).json()) as { frame: { today: { values: Record<string, number> } } }).frame.today.values;
    const then = await replayed(at.getTime());
    await expect.poll(() => tileValue(page, 'revenue'), { timeout: 5_000 }).toBeCloseTo(then.revenue!, 4);
    expect(await tileValue(page, 'conversions')).toBe(then.conversions);
    const live = (await (await app.get('/api/v1/live')).json()) as LiveResponse;
    expect(live.today.revenue).toBeGreaterThan(then.revenue!); // the past moment is not today's total
    await sleep(800);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/replay-1920x1080.png` });
    // an hour back
    await page.click('[data-step="-1h"]');
    const hourBack = await replayed(at.getTime() - 3_600_000);
    await expect.poll(() => tileValue(page, 'revenue'), { timeout: 5_000 }).toBeCloseTo(hourBack.revenue!, 4);
    expect(new URL(page.url()).searchParams.get('at')).toBe(new Date(at.getTime() - 3_600_000).toISOString());
    // back to live: the banner goes, the address forgets the instant, the tiles are live again
    await page.click('[data-test=replay-exit]');
    await page.waitForSelector('[data-test=replay-banner]', { state: 'detached' });
    expect(new URL(page.url()).searchParams.get('at')).toBeNull();
    await expect.poll(async () => tileValue(page, 'revenue'), { timeout: 5_000 }).toBeCloseTo(((await (await app.get('/api/v1/live')).json()) as LiveResponse).today.revenue, 4);
    expect(await page.textContent('[data-test=connection]')).toContain('实时连接');
    await page.context().close();

    // a manager replays its own region, never another's
    const manager = await newPage();
    await logIn(manager, app.server.url, 'manager-east', `?at=${encodeURIComponent(local)}#/region/north`);
    await manager.waitForSelector('[data-test=replay-banner]');
    await expect.poll(() => manager.getAttribute('.wall', 'data-view'), { timeout: 5_000 }).toBe('r:east');
    const east = ((await (await app.get(`/api/v1/replay?at=${at.getTime()}&region=east`, 'manager-east')).json()) as { frame: { today: { values: Record<string, number> } } }).frame.today.values;
    await expect.poll(() => tileValue(manager, 'revenue'), { timeout: 5_000 }).toBeCloseTo(east.revenue!, 4);
    await manager.context().close();

    // a replay link opened on a phone: the wall's canvas with the REPLAY bar, never the live phone layout
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    await logIn(phonePage, app.server.url, 'ops', `?at=${encodeURIComponent(local)}`);
    await phonePage.waitForSelector('[data-test=replay-banner]');
    await expect.poll(() => tileValue(phonePage, 'revenue'), { timeout: 5_000 }).toBeCloseTo(then.revenue!, 4);
    await phone.close();

    // at 4K
    const tv = await newPage(3840, 2160);
    await logIn(tv, app.server.url, 'ops', `?at=${encodeURIComponent(local)}&kiosk=1`);
    await tv.waitForSelector('[data-test=replay-banner]');
    expect(await tv.$('[data-test=replay-exit]')).toBeNull(); // kiosk: the instant, no controls
    await sleep(800);
    await tv.screenshot({ path: `${SCREENSHOT_DIR}/replay-kiosk-3840x2160.png` });
    await tv.context().close();
  });

    it('drills down: a region on the map, then a store, and back by the breadcrumb', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    page.on('response', (r) => { if (r.status() >= 500) console.log('HTTP', r.status(), r.url()); });
    await page.waitForSelector('[data-test=map]');
    await sleep(500);
    const guangdongNorth: [number, number] = [113.6, 24.6]; // Shaoguan, in the south region, with no store near
    expect([...app.cfg.storeById.values()].every((s) => Math.hypot(s.lng - guangdongNorth[0], s.lat - guangdongNorth[1]) > 1)).toBe(true);
    await clickMapAt(page, guangdongNorth);
    await page.waitForSelector('.wall[data-view="r:south"]');
    expect(await page.textContent('[data-test=breadcrumb]')).toContain('华南');
    await sleep(1_500);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/region-south-1920x1080.png` });
    // the east: Shanghai's five stores within a degree (each named where its name fits)
    await page.evaluate(() => (location.hash = '#/region/east'));
    await page.waitForSelector('.wall[data-view="r:east"]');
    await sleep(1_500);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/region-east-1920x1080.png` });
    await page.evaluate(() => (location.hash = '#/region/south'));
    await page.waitForSelector('.wall[data-view="r:south"]');
    await sleep(500);
    const store = app.cfg.storeById.get('nn-chaoyang')!;
    await clickMapAt(page, [store.lng, store.lat]);
    await page.waitForSelector('.wall[data-view="s:nn-chaoyang"]');
    expect(await page.textContent('[data-test=breadcrumb]')).toContain(store.name);
    const live = (await (await app.get('/api/v1/live?store=nn-chaoyang')).json()) as LiveResponse;
    expect(await tileValue(page, 'visits')).toBe(live.today.visits);
    await sleep(1_500);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/store-nn-chaoyang-1920x1080.png` });
    await page.click('[data-test=breadcrumb] a >> nth=0');
    await page.waitForSelector('.wall[data-view="all"]');
    await page.context().close();
  });

  it('in English at 1080p and 4K, a store\'s header keeps every range button on one line and the breadcrumb clear of them; a store shows spend per visitor, not users', async () => {
    const longest = [...app.cfg.storeById.values()].reduce((a, b) => (b.nameEn.length > a.nameEn.length ? b : a));
    for (const [width, height] of [[1920, 1080], [3840, 2160]] as const) {
      const page = await newPage(width, height);
      await logIn(page, app.server.url, 'ops');
      await page.click('[data-test=lang]');
      await page.evaluate((id) => (location.hash = `#/store/${id}`), longest.id);
      await page.waitForSelector(`.wall[data-view="s:${longest.id}"]`);
      await page.waitForFunction((name) => document.querySelector('[data-test=breadcrumb] .current')?.textContent === name, longest.nameEn);
      const layout = await page.evaluate(() => {
        const box = (el: Element) => el.getBoundingClientRect();
        const buttons = [...document.querySelectorAll('.ranges button')].map((b) => ({ text: b.textContent!.trim(), height: box(b).height }));
        const current = document.querySelector('[data-test=breadcrumb] .current') as HTMLElement;
        return {
          heights: buttons.map((b) => Math.round(b.height)),
          texts: buttons.map((b) => b.text),
          crumbRight: box(document.querySelector('[data-test=breadcrumb]')!).right,
          rangesLeft: box(document.querySelector('.ranges')!).left,
          // neither cut short itself nor clipped by the breadcrumb around it
          currentWhole: current.scrollWidth <= current.clientWidth && box(current).right <= box(document.querySelector('[data-test=breadcrumb]')!).right + 0.5,
          // the way up readable too (the product's name steps aside for it)
          ancestors: [...document.querySelectorAll('[data-test=breadcrumb] a')].map((a) => ({ name: a.textContent, cut: (a as HTMLElement).scrollWidth > (a as HTMLElement).clientWidth })),
        };
      });
      expect(layout.texts).toEqual(['Live', 'Today', '7 days', '30 days']);
      expect(new Set(layout.heights).size, `${width}: range buttons of one height (none wrapped)`).toBe(1);
      expect(layout.crumbRight, `${width}: breadcrumb clear of the range buttons`).toBeLessThanOrEqual(layout.rangesLeft);
      expect(layout.currentWhole, `${width}: the store's name shown whole`).toBe(true);
      expect(layout.ancestors).toEqual([{ name: 'Nation', cut: false }, { name: app.cfg.regionById.get(longest.region)!.nameEn, cut: false }]);
      const live = (await (await app.get(`/api/v1/live?store=${longest.id}`)).json()) as LiveResponse;
      await page.waitForSelector('[data-tile=perVisitor]');
      expect(await page.$('[data-tile=newUsers]')).toBeNull();
      expect(await page.textContent('[data-tile=perVisitor]')).toContain('Revenue / visitor');
      if (live.today.visits > 0) expect(await page.textContent('[data-tile=perVisitor]')).toContain('¥');
      // the store card names its city and region in English too
      const card = await page.textContent('.store-card');
      expect(card).toContain(`City${longest.cityEn}`);
      expect(card).toContain(`Region${app.cfg.regions.find((r) => r.id === longest.region)!.nameEn}`);
      await sleep(1_000);
      await page.screenshot({ path: `${SCREENSHOT_DIR}/store-en-${width}x${height}.png` });
      await page.context().close();
    }
  });

  it('keeps a manager to its region: the wall refuses another region and stays', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'manager-east');
    expect(await page.getAttribute('.wall', 'data-view')).toBe('r:east');
    await page.evaluate(() => (location.hash = '#/region/north'));
    await page.waitForSelector('[data-test=notice]');
    expect(await page.textContent('[data-test=notice]')).toContain('无权');
    await sleep(300);
    expect(await page.getAttribute('.wall', 'data-view')).toBe('r:east');
    await page.evaluate(() => (location.hash = '#/store/bj-sanlitun'));
    await page.waitForSelector('[data-test=notice]');
    expect(await page.getAttribute('.wall', 'data-view')).toBe('r:east');
    await page.context().close();
  });

  it('switches to English and to the 7-day range from the query API', async () => {
    const page = await newPage();
    await logIn(page, app.server.url, 'ops');
    // in Chinese the week's unique users per day fit beside new users, whole
    await page.click('[data-range="7d"]');
    await page.waitForFunction(() => document.querySelector('[data-test=unique-users]')?.textContent?.includes('/日'));
    expect((await page.textContent('[data-test=unique-users]'))!.trim()).toMatch(/^独立 [\d.,]+万? ?\/日$/);
    expect(await page.$eval('[data-test=unique-users]', (el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await page.click('[data-test=lang]');
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.includes('Marketing'));
    await page.click('[data-range="7d"]');
    await page.waitForFunction(() => document.querySelector('[data-test=unique-users]')?.textContent?.includes('unique/day'));
    // the tile has room for part of it: the number comes first, so the ellipsis takes the words, not the figure
    expect((await page.textContent('[data-test=unique-users]'))!.trim()).toMatch(/^[\d.,]+K? unique\/day$/);
    const from = new Date(Date.now() - 6 * 86_400_000);
    const metrics = (await (await app.get(`/api/v1/metrics?step=1d&from=${Math.floor((from.getTime() + 8 * 3_600_000) / 86_400_000) * 86_400_000 - 8 * 3_600_000}`)).json()) as MetricsResponse;
    const revenue = metrics.series[0]!.points.reduce((sum, p) => sum + p.revenue, 0);
    expect(await tileValue(page, 'revenue')).toBeCloseTo(revenue, 2);
    // new users add up over the days; the trend draws them as a line
    const newUsers = metrics.series[0]!.points.reduce((sum, p) => sum + p.newUsers!, 0);
    expect(newUsers).toBeGreaterThan(0);
    expect(await tileValue(page, 'newUsers')).toBe(newUsers);
    // charts redraw at most once a second: the language switched just now may not be drawn yet
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-test=scope-trend]') as (HTMLElement & { chart?: { getOption(): { series: Array<{ id: string; name: string }> } } }) | null;
      return el?.chart?.getOption().series.find((s) => s.id === 'newUsers')?.name === 'New users';
    }, undefined, { timeout: 5_000 }).catch(() => {});
    const drawn = await page.evaluate(() => {
      const el = document.querySelector('[data-test=scope-trend]') as (HTMLElement & { chart?: { getOption(): { series: Array<{ id: string; name: string; data: Array<[string, number | null]> }> } } }) | null;
      const series = el?.chart?.getOption().series.find((s) => s.id === 'newUsers');
      return series && { name: series.name, total: series.data.reduce((sum, [, v]) => sum + (v ?? 0), 0) };
    });
    expect(drawn?.name).toBe('New users');
    // the trend draws whole buckets only: the current one may still be missing
    expect(drawn!.total).toBeGreaterThan(0);
    expect(drawn!.total).toBeLessThanOrEqual(newUsers);
    // the breakdowns (asked for their sums only) draw the week's figures: each channel's ROI, each ranked store's visits
    const weekFrom = Math.floor((from.getTime() + 8 * 3_600_000) / 86_400_000) * 86_400_000 - 8 * 3_600_000;
    const totalsBy = async (by: 'channel' | 'store') => {
      const body = (await (await app.get(`/api/v1/metrics?step=1d&from=${weekFrom}&groupBy=${by}`)).json()) as MetricsResponse;
      return new Map(body.series.map((s) => [s.key[by], s.points.reduce((sum, p) => ({ revenue: sum.revenue + p.revenue, spend: sum.spend + p.spend, visits: sum.visits + p.visits }), { revenue: 0, spend: 0, visits: 0 })]));
    };
    const chartData = (selector: string) => page.$eval(selector, (el) => (el as HTMLElement & { chart: { getOption(): { series: Array<{ data: Array<Record<string, unknown>> }> } } }).chart.getOption().series[0]!.data);
    const [byChannel, byStore, roiBars, rankedStores] = [await totalsBy('channel'), await totalsBy('store'), await chartData('[data-test=roi]'), await chartData('[data-test=ranking]')];
    expect(roiBars.length).toBeGreaterThan(3);
    for (const bar of roiBars) {
      const week = byChannel.get(bar.channelId as string)!;
      expect(bar.roi as number, String(bar.channelId)).toBeCloseTo(week.revenue / week.spend, 6);
    }
    expect(rankedStores.length).toBe(10);
    for (const row of rankedStores) expect(row.value, String(row.storeId)).toBe(byStore.get(row.storeId as string)!.visits);
    await sleep(1_000);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/nation-7d-en-1920x1080.png` });
    await page.context().close();
  });

  it('shows a lost connection and recovers by itself when the server comes back', async () => {
    const start = (port: number) => startServer({
      cfg: app.cfg, stores: app.stores, port, host: '127.0.0.1', demoMode: true, authSecret: AUTH_SECRET, userIdKey: USER_ID_KEY,
      apiKeys: () => [API_KEY], log: createLogger('wallbrowser-2'), jobs: false, pushIntervalMs: 250, screenDir: 'dist/screen',
    });
    let server: RunningServer = await start(0);
    const port = server.port;
    const page = await newPage();
    try {
      await logIn(page, server.url, 'ops');
      await page.waitForSelector('[data-test=connection].live');
      await server.close();
      await page.waitForSelector('[data-test=connection].lost', { timeout: 5_000 });
      await page.waitForSelector('.tiles.stale', { timeout: 20_000 });
      await page.screenshot({ path: `${SCREENSHOT_DIR}/connection-lost-1920x1080.png` });
      server = await start(port);
      await page.waitForSelector('[data-test=connection].live', { timeout: 15_000 });
      const before = await tileValue(page, 'conversions');
      expect((await post([{ type: 'conversion', channel: 'taobao', region: 'east', value: 88 }])).status).toBe(202);
      await page.waitForFunction((expected) => Number(document.querySelector('[data-tile=conversions]')?.getAttribute('data-value')) === expected, before + 1, { timeout: 3_000 });
      expect(await page.$('.tiles.stale')).toBeNull();
    } finally {
      await page.context().close();
      await server.close();
    }
  });

  it('rotates through the views in kiosk mode, without controls', async () => {
    const page = await newPage();
    await page.goto(`${app.server.url}/?kiosk=1&rotate=5`);
    await page.fill('input[name=username]', 'ops');
    await page.fill('input[name=password]', 'demo');
    await page.click('button[type=submit]');
    await page.waitForSelector('.wall[data-view="all"]');
    expect(await page.$('[data-range]')).toBeNull();
    expect(await page.$('[data-test=lang]')).toBeNull();
    await page.waitForSelector(`.wall[data-view="r:${app.cfg.regions[0]!.id}"]`, { timeout: 8_000 });
    await page.waitForSelector(`.wall[data-view="r:${app.cfg.regions[1]!.id}"]`, { timeout: 8_000 });
    await page.context().close();
  });

  it('draws the same wall on a 4K display', async () => {
    const page = await newPage(3840, 2160);
    await logIn(page, app.server.url, 'ops');
    const box = await page.locator('.wall').boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 3840, height: 2160 });
    const canvasWidth = await page.evaluate(() => (document.querySelector('[data-test=map] canvas') as HTMLCanvasElement).width);
    const cssWidth = await page.evaluate(() => (document.querySelector('[data-test=map] canvas') as HTMLCanvasElement).offsetWidth);
    expect(canvasWidth).toBe(cssWidth * 2); // drawn at the display's resolution, not stretched
    const scroll = await page.evaluate(() => ({ x: document.documentElement.scrollWidth, y: document.documentElement.scrollHeight }));
    expect(scroll).toEqual({ x: 3840, y: 2160 });
    await sleep(1_500);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/nation-3840x2160.png` });
    await page.context().close();
  });
});
