// Alerts end to end with real Redis, PostgreSQL, HTTP and SMTP servers and Socket.IO clients.
// The evaluator runs on a clock the test moves (event time), over events posted through ingest.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleSchema, notifierSchema } from '../config/alert-schema.js';
import { startDispatcher } from '../alerts/dispatcher.js';
import { createEvaluator, startEvaluator } from '../alerts/evaluator.js';
import type { NotificationPayload } from '../alerts/notification.js';
import { buildNotifiers } from '../alerts/notify/build.js';
import { createLogger } from '../stream/log.js';
import { redisKeys } from '../stream/redis-keys.js';
import type { ScreenAlert } from '../stream/types.js';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type MailReceiver } from './alert-receivers.js';
import { sleep, startTestApp, testConfig, type TestApp } from './harness.js';

const MIN = 60_000;
const log = createLogger('alerts-test');
const T0 = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;

let app: TestApp;
let hook: HttpReceiver;
let slow: HttpReceiver;
let mail: MailReceiver;
const sockets: Socket[] = [];

const rules = [
  ruleSchema.parse({
    id: 'cvr-drop', name: '渠道转化率骤降', nameEn: 'Conversion rate collapse', metric: 'cvr', groupBy: 'channel', window: '1m',
    detector: { kind: 'drop', vs: 'previous', ratio: 0.5 }, for: '20s', minVolume: 100, severity: 'critical', notify: ['hook', 'mail', 'slow'],
  }),
  ruleSchema.parse({
    id: 'cvr-day-ago', name: '转化率低于昨日', nameEn: 'Conversion rate below yesterday', metric: 'cvr', groupBy: 'channel', window: '1m',
    detector: { kind: 'drop', vs: 'day-ago', ratio: 0.5 }, minVolume: 100, repeatInterval: '35s', notify: ['hook'],
  }),
];

function cfgForTest() {
  return testConfig((cfg) => {
    cfg.alerts = { evaluation: { interval: 300, settle: 0, repeatInterval: 4 * 3_600_000, maxHold: 600_000 }, rules };
    cfg.notifiers = [
      notifierSchema.parse({ id: 'hook', kind: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' }),
      notifierSchema.parse({ id: 'mail', kind: 'email', smtpUrlEnv: 'SMTP_URL', from: 'wall@example.com', to: ['oncall@example.com'] }),
      notifierSchema.parse({ id: 'slow', kind: 'webhook', urlEnv: 'SLOW_URL', timeout: '300ms', retries: 2, backoff: '200ms' }),
    ];
  });
}

/** clicks and conversions of one channel, per 10 s bucket over [from, to) */
function traffic(channel: string, from: number, to: number, clicksPerBucket: number, conversionsPerBucket: number, tag: string) {
  const events = [];
  for (let t = from; t < to; t += 10_000) {
    events.push({ id: `${tag}-${channel}-c-${t}`, type: 'click', ts: t + 1_000, channel, count: clicksPerBucket });
    if (conversionsPerBucket) events.push({ id: `${tag}-${channel}-o-${t}`, type: 'conversion', ts: t + 2_000, channel, count: conversionsPerBucket, value: 100 * conversionsPerBucket });
  }
  return events;
}

async function post(events: unknown[]) {
  const response = await app.post(events);
  expect(response.status).toBe(202);
  expect(((await response.json()) as { rejected: unknown[] }).rejected).toEqual([]);
  await app.drained();
}

function alertsOf(socket: Socket): ScreenAlert[] {
  const seen: ScreenAlert[] = [];
  socket.on('alert', (a: ScreenAlert) => seen.push(a));
  return seen;
}

async function screenSocket(username: string): Promise<Socket> {
  const socket = io(`${app.server.url}/screen`, { auth: { token: await app.token(username) }, transports: ['websocket'] });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('connect_error', reject); });
  return socket;
}

const payloads = (receiver: HttpReceiver) => receiver.requests.map((r) => JSON.parse(r.body) as NotificationPayload);

let env: Record<string, string>;
let clock = T0;
const evaluatorAt = () => createEvaluator({ cfg: app.cfg, redis: app.redis, pool: app.db, keys: redisKeys(app.stores.redisPrefix, app.cfg.pipeline), log, now: () => clock, onAlert: (a) => app.server.screen.publishAlert(a), onNotificationsQueued: () => dispatcher.kick() });
let dispatcher: ReturnType<typeof startDispatcher>;

beforeAll(async () => {
  [hook, slow, mail] = await Promise.all([startHttpReceiver(), startHttpReceiver('hang'), startSmtpReceiver()]);
  env = { HOOK_URL: `${hook.url}/hook`, HOOK_SECRET: 'test-secret', SLOW_URL: `${slow.url}/slow`, SMTP_URL: mail.url };
  app = await startTestApp('alerts', { cfg: cfgForTest(), alerts: false, env });
  dispatcher = startDispatcher({ pool: app.db, notifiers: buildNotifiers(app.cfg.notifiers, env), log, pollMs: 100 });
  // douyin and jd: normal for two minutes (10 % cvr), then collapsed (1 %); baidu: normal a day ago, collapsed now
  await post([
    ...traffic('douyin', T0 - 3 * MIN, T0 - MIN, 100, 10, 'n'), ...traffic('douyin', T0 - MIN, T0 + 2 * MIN, 100, 1, 'x'),
    ...traffic('jd', T0 - 3 * MIN, T0 - MIN, 100, 10, 'n'), ...traffic('jd', T0 - MIN, T0 + MIN, 100, 1, 'x'),
    ...traffic('baidu', T0 - 1440 * MIN - MIN, T0 - 1440 * MIN, 100, 10, 'n'), ...traffic('baidu', T0 - MIN, T0, 100, 1, 'x'),
  ]);
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await dispatcher?.stop();
  await app?.close();
  await Promise.all([hook?.close(), slow?.close(), mail?.close()]);
});

describe('alerts', () => {
  let opsAlerts: ScreenAlert[];
  let managerAlerts: ScreenAlert[];
  let douyinId: string;

  it('a collapsing conversion rate goes pending, then fires after `for`, and reaches the webhook and the mailbox', async () => {
    const silence = await fetch(`${app.server.url}/api/v1/silences`, {
      method: 'POST', headers: { authorization: `Bearer ${await app.token('oncall')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: [{ name: 'channel', value: 'jd' }], startsAt: T0 - 10 * MIN, endsAt: T0 + 60 * MIN, comment: 'jd maintenance' }),
    });
    expect(silence.status).toBe(201);
    for (const [language, error] of [['en', 'endsAt: must be after startsAt'], ['zh-CN', 'endsAt: 结束时间须晚于开始时间']]) {
      const backwards = await fetch(`${app.server.url}/api/v1/silences`, {
        method: 'POST', headers: { authorization: `Bearer ${await app.token('oncall')}`, 'content-type': 'application/json', 'accept-language': language! },
        body: JSON.stringify({ matchers: [{ name: 'channel', value: 'jd' }], startsAt: T0, endsAt: T0 - MIN, comment: 'backwards' }),
      });
      expect([backwards.status, ((await backwards.json()) as { error: string }).error]).toEqual([400, error]);
    }
    // the silence form's own fields, refused in the console's language
    const silenceRefusal = async (language: string, body: Record<string, unknown>) => {
      const refused = await fetch(`${app.server.url}/api/v1/silences`, {
        method: 'POST', headers: { authorization: `Bearer ${await app.token('oncall')}`, 'content-type': 'application/json', 'accept-language': language },
        body: JSON.stringify({ matchers: [{ name: 'channel', value: 'jd' }], duration: '1h', comment: 'c', ...body }),
      });
      expect(refused.status).toBe(400);
      return ((await refused.json()) as { error: string }).error;
    };
    expect(await silenceRefusal('zh-CN', { matchers: [{ name: 'channel', value: '(a)\\1', isRegex: true }] })).toMatch(/^matchers\.0\.value: 不是有效的 RE2 正则表达式（.+）；RE2 不支持反向引用和环视$/);
    expect(await silenceRefusal('en', { matchers: [{ name: 'channel', value: '(a)\\1', isRegex: true }] })).toMatch(/^matchers\.0\.value: not a valid RE2 regular expression/);
    expect(await silenceRefusal('zh-CN', { duration: '2 hours' })).toBe('duration: "2 hours" 不是时长，应写成 30m 或 2h 这样');
    expect(await silenceRefusal('zh-CN', { endsAt: T0 + MIN })).toBe('endsAt: 结束时间（endsAt）和时长（duration）须给且只给一个');
    expect(await silenceRefusal('zh-CN', { startsAt: 'yesterday' })).toBe('startsAt: "yesterday" 既不是毫秒时间戳，也不是带时区的 ISO-8601 时间（1970 至 9999 年间）');
    expect(await silenceRefusal('en', { startsAt: -5 })).toBe('startsAt: "-5" is neither epoch milliseconds nor an existing ISO-8601 time with a zone (between 1970 and 9999)');
    expect(await silenceRefusal('zh-CN', { comment: '' })).toMatch(/^comment: .*[\u4e00-\u9fff]/);
    expect(await silenceRefusal('en', { comment: '' })).toMatch(/^comment: Too small/);
    opsAlerts = alertsOf(await screenSocket('ops'));
    managerAlerts = alertsOf(await screenSocket('manager-east'));
    const evaluator = evaluatorAt();

    clock = T0;
    await evaluator.cycle();
    const pending = await app.db.query(`SELECT id, state, labels FROM alerts WHERE rule_id = 'cvr-drop' ORDER BY labels->>'channel'`);
    expect(pending.rows.map((r) => [r.labels.channel, r.state])).toEqual([['douyin', 'pending'], ['jd', 'pending']]);
    douyinId = pending.rows[0].id;

    clock = T0 + 10_000;
    expect((await evaluator.cycle()).transitions).toBe(0); // 10 s of 20 s `for`
    clock = T0 + 20_000;
    const fired = Date.now();
    await evaluator.cycle();
    const [request] = await hook.waitFor(2);
    const byRule = Object.fromEntries(payloads(hook).map((p) => [p.rule.id, p]));
    expect(byRule['cvr-drop']!.status).toBe('firing');
    expect(byRule['cvr-drop']!.alerts.map((a) => a.labels.channel)).toEqual(['douyin']); // jd is silenced
    expect(byRule['cvr-drop']!.alerts[0]!.summaryEn).toContain('Douyin: conversion rate 1.00% (−90% vs the previous window)');
    // the timed-out notifier (300 ms) delays nobody: the webhook had it long before
    const cvrRequest = hook.requests.find((r) => JSON.parse(r.body).rule.id === 'cvr-drop')!;
    expect(cvrRequest.at - fired).toBeLessThan(300);
    expect(request!.headers['x-wall-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const [message] = await mail.waitFor(1);
    expect(message!.to).toEqual(['oncall@example.com']);

    const states = await app.db.query(`SELECT labels->>'channel' AS channel, state, silenced_by FROM alerts WHERE rule_id = 'cvr-drop' ORDER BY 1`);
    expect(states.rows.map((r) => [r.channel, r.state, Boolean(r.silenced_by)])).toEqual([['douyin', 'firing', false], ['jd', 'firing', true]]);
    await sleep(300);
    expect(opsAlerts.filter((a) => a.id === douyinId).map((a) => a.state)).toEqual(['pending', 'firing']);
    expect(managerAlerts).toEqual([]); // nationwide channel alerts are not a region's
  });

  it('compares with the same window a day ago, read from the database, and fires at once with for: 0', async () => {
    const dayAgo = payloads(hook).find((p) => p.rule.id === 'cvr-day-ago')!;
    expect(dayAgo.alerts.map((a) => [a.labels.channel, a.state])).toEqual([['baidu', 'firing']]);
    expect(dayAgo.alerts[0]!.summaryEn).toContain('−90% vs a day ago');
  });

  it('retries a notifier that times out, records every attempt, and gives up after its retries', async () => {
    await slow.waitFor(3, 5_000);
    await sleep(700);
    const { rows } = await app.db.query(
      `SELECT n.delivery, n.attempts, array_agg(a.detail ORDER BY a.attempt) AS details
       FROM alert_notifications n JOIN alert_notification_attempts a ON a.notification_id = n.id WHERE n.notifier = 'slow' GROUP BY n.id`,
    );
    expect(rows).toEqual([{ delivery: 'failed', attempts: 3, details: ['timed out after 300 ms', 'timed out after 300 ms', 'timed out after 300 ms'] }]);
    const gaps = slow.requests.slice(1).map((r, i) => r.at - slow.requests[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(300 + 200 - 50);
    expect(gaps[1]).toBeGreaterThanOrEqual(300 + 400 - 50);
    // the alert's own page lists its notifications and every attempt
    const detail = (await (await app.get(`/api/v1/alerts/${douyinId}`)).json()) as { notifications: Array<{ notifier: string; delivery: string; attempts_log: unknown[] }> };
    expect(detail.notifications.map((n) => [n.notifier, n.delivery, n.attempts_log.length]).sort()).toEqual([['hook', 'sent', 1], ['mail', 'sent', 1], ['slow', 'failed', 3]]);
    expect((await app.get(`/api/v1/alerts/${douyinId}`, 'manager-east')).status).toBe(404);
  });

  it('keeps its state across a restart and never notifies twice, even with two evaluators at once; reminds once per repeatInterval', async () => {
    const before = hook.requests.length;
    clock = T0 + 30_000;
    const restarted = evaluatorAt();
    const report = await restarted.cycle();
    expect(report.transitions).toBe(0);
    await sleep(500);
    expect(hook.requests.length).toBe(before);
    // 40 s after baidu fired, past its 35 s repeatInterval: two evaluators at once send one reminder
    clock = T0 + 40_000;
    await Promise.all([evaluatorAt().cycle(), evaluatorAt().cycle()]);
    await hook.waitFor(before + 1);
    await sleep(500);
    const sent = payloads(hook).slice(before);
    expect(sent.map((p) => [p.rule.id, p.status, p.alerts.map((a) => [a.labels.channel, a.repeat])])).toEqual([['cvr-day-ago', 'firing', [['baidu', true]]]]);
    const { rows } = await app.db.query(`SELECT rule_id, count(*)::int AS n FROM alert_notifications WHERE notifier = 'hook' GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([{ rule_id: 'cvr-day-ago', n: 2 }, { rule_id: 'cvr-drop', n: 1 }]);
  });

  it('records an acknowledgement, refuses roles that may not ack, and tells the screens', async () => {
    const ack = (username: string, language = 'en') =>
      app.token(username).then((token) => fetch(`${app.server.url}/api/v1/alerts/${douyinId}/ack`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'accept-language': language } }));
    expect((await ack('ops')).status).toBe(403);
    expect((await ack('manager-east')).status).toBe(403);
    const acked = await ack('oncall');
    expect(acked.status).toBe(200);
    expect(((await acked.json()) as { alert: ScreenAlert }).alert).toMatchObject({ ackedBy: 'oncall', state: 'firing' });
    const again = await ack('admin');
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe('already acknowledged by oncall');
    // the console's language asked for: told in Chinese
    expect(((await (await ack('admin', 'zh-CN')).json()) as { error: string }).error).toBe('已由 oncall 确认');
    await sleep(300);
    expect(opsAlerts.at(-1)).toMatchObject({ id: douyinId, ackedBy: 'oncall' });
    const listed = (await (await app.get('/api/v1/alerts?state=firing')).json()) as { alerts: ScreenAlert[] };
    expect(listed.alerts.find((a) => a.id === douyinId)?.ackedBy).toBe('oncall');
    const managerList = (await (await app.get('/api/v1/alerts?state=all', 'manager-east')).json()) as { alerts: ScreenAlert[] };
    expect(managerList.alerts).toEqual([]);
  });

  it('once the rate recovers, keeps the alerts open (recovering) without a word for keepFiringFor, then resolves and says so to those it told', async () => {
    await post(traffic('douyin', T0 + 2 * MIN, T0 + 3 * MIN, 100, 10, 'r'));
    const before = hook.requests.length;
    const seen = opsAlerts.length;
    clock = T0 + 3 * MIN;
    await evaluatorAt().cycle();
    const states = async () => (await app.db.query(`SELECT rule_id, labels->>'channel' AS channel, state, recovering_since FROM alerts WHERE state <> 'cleared' ORDER BY 1, 2`)).rows;
    // baidu's window is empty now: a ratio over nothing, which the rule (noData: ok) takes as fine
    expect(await states()).toEqual([
      { rule_id: 'cvr-day-ago', channel: 'baidu', state: 'recovering', recovering_since: new Date(T0 + 3 * MIN) },
      { rule_id: 'cvr-drop', channel: 'douyin', state: 'recovering', recovering_since: new Date(T0 + 3 * MIN) },
      { rule_id: 'cvr-drop', channel: 'jd', state: 'recovering', recovering_since: new Date(T0 + 3 * MIN) },
    ]);
    await sleep(500);
    expect(hook.requests.length).toBe(before); // recovering is no news to anyone paged: the resolved notice waits
    const recovering = opsAlerts.slice(seen).find((a) => a.id === douyinId)!;
    expect(recovering).toMatchObject({ state: 'recovering', recoveringSince: new Date(T0 + 3 * MIN).toISOString() });
    expect(recovering.summary).toContain('转化率 10.00%'); // what it reads now
    // still open: listed among the active alerts
    const active = (await (await app.get('/api/v1/alerts?state=active')).json()) as { alerts: ScreenAlert[] };
    expect(active.alerts.filter((a) => a.state === 'recovering').map((a) => a.labels.channel).sort()).toEqual(['baidu', 'douyin', 'jd']);

    clock = T0 + 3 * MIN + 2 * 3_600_000; // the rules' default keepFiringFor later, every window since fine (empty)
    await evaluatorAt().cycle();
    await hook.waitFor(before + 2);
    await sleep(300);
    const resolved = payloads(hook).slice(before).map((p) => [p.rule.id, p.status, p.alerts.map((a) => a.labels.channel)]);
    expect(resolved.sort()).toEqual([['cvr-day-ago', 'resolved', ['baidu']], ['cvr-drop', 'resolved', ['douyin']]]);
    // the notice says when it was back to normal, not only when it was let go
    const line = payloads(hook).slice(before).find((p) => p.rule.id === 'cvr-drop')!.alerts[0]!;
    expect(line.recoveringSince).toBe(new Date(T0 + 3 * MIN).toISOString());
    // jd (silenced all along) resolved too, but nobody had been told it fired
    const { rows } = await app.db.query(`SELECT labels->>'channel' AS channel, state FROM alerts WHERE rule_id = 'cvr-drop' ORDER BY 1`);
    expect(rows).toEqual([{ channel: 'douyin', state: 'resolved' }, { channel: 'jd', state: 'resolved' }]);
    await sleep(300);
    expect(opsAlerts.filter((a) => a.id === douyinId).at(-1)!.state).toBe('resolved');
  });

  it('a breach while recovering is the same alert firing again, with no new page; it resolves keepFiringFor after its last recovery', async () => {
    // its own rule and channel (sms spend), on an evaluator of its own that also keeps the file's rules
    const spendRule = ruleSchema.parse({ id: 'sms-spend', name: '短信花费过高', nameEn: 'SMS spend high', metric: 'spend', groupBy: 'channel', filter: {}, window: '1m', when: { above: 1_000 }, keepFiringFor: '2m', notify: ['hook'] });
    const cfg = { ...app.cfg, alerts: { evaluation: { ...app.cfg.alerts.evaluation, maxHold: 0 }, rules: [...rules, spendRule] } };
    let at = T0;
    const evaluator = createEvaluator({ cfg, redis: app.redis, pool: app.db, keys: redisKeys(app.stores.redisPrefix, cfg.pipeline), log, now: () => at, onAlert: (a) => app.server.screen.publishAlert(a), onNotificationsQueued: () => dispatcher.kick() });
    const spend = (minute: number, value: number) => post([{ id: `sms-spend-${minute}`, type: 'spend', ts: T0 + minute * MIN + 30_000, channel: 'sms', value }]);
    const row = async () => (await app.db.query(`SELECT id, state, fired_at, recovering_since, last_notified_at FROM alerts WHERE rule_id = 'sms-spend' AND state <> 'cleared' ORDER BY updated_at DESC`)).rows;
    const pages = () => payloads(hook).filter((p) => p.rule.id === 'sms-spend').map((p) => p.status);
    const seen = opsAlerts.length;
    const cycleAt = async (minute: number) => { at = T0 + minute * MIN; await evaluator.cycle(); await sleep(200); };
    const until = async (done: () => boolean) => { for (const deadline = Date.now() + 10_000; !done() && Date.now() < deadline;) await sleep(50); };

    await spend(0, 2_000);
    await cycleAt(1);
    await until(() => pages().length === 1);
    const [fired] = await row();
    expect([fired.state, pages()]).toEqual(['firing', ['firing']]);
    await cycleAt(2); // nothing spent in [1, 2): back to normal
    expect(await row()).toMatchObject([{ id: fired.id, state: 'recovering', recovering_since: new Date(T0 + 2 * MIN) }]);
    await spend(2, 3_000);
    await cycleAt(3); // over again within 2 minutes: the same alert, firing as it was, nobody paged twice
    expect(await row()).toEqual([{ ...fired, recovering_since: null }]);
    await cycleAt(4);
    await cycleAt(5); // one minute since its last recovery: still recovering
    expect(await row()).toMatchObject([{ id: fired.id, state: 'recovering', recovering_since: new Date(T0 + 4 * MIN) }]);
    expect(pages()).toEqual(['firing']);
    await cycleAt(6);
    await until(() => pages().length === 2);
    expect([(await row())[0].state, pages()]).toEqual(['resolved', ['firing', 'resolved']]);
    // the wall saw every step of it, one alert throughout
    const steps = opsAlerts.slice(seen).filter((a) => a.ruleId === 'sms-spend');
    expect(steps.map((a) => [a.id, a.state])).toEqual([[fired.id, 'firing'], [fired.id, 'recovering'], [fired.id, 'firing'], [fired.id, 'recovering'], [fired.id, 'resolved']]);
  });

  it('the running evaluator fires on fresh events within seconds, on the server that holds the lock', async () => {
    const spendRule = ruleSchema.parse({ id: 'spend-burst', name: '花费激增', nameEn: 'Spend burst', metric: 'spend', groupBy: 'channel', window: '1m', when: { above: 50_000 }, notify: ['hook'] });
    const cfg = { ...app.cfg, alerts: { evaluation: { interval: 300, settle: 0, repeatInterval: 3_600_000, maxHold: 600_000 }, rules: [spendRule] } };
    const seen = opsAlerts.length;
    const reports: unknown[] = [];
    const loops = [0, 1].map(() => startEvaluator({ cfg, redis: app.redis, pool: app.db, keys: redisKeys(app.stores.redisPrefix, cfg.pipeline), log, onAlert: (a) => app.server.screen.publishAlert(a), onCycle: (r) => reports.push(r) }));
    try {
      const posted = Date.now();
      await post([{ id: 'burst-1', type: 'spend', ts: Date.now() - 12_000, channel: 'email', value: 80_000 }]);
      const deadline = Date.now() + 5_000;
      while (!opsAlerts.slice(seen).some((a) => a.ruleId === 'spend-burst') && Date.now() < deadline) await sleep(50);
      const fired = opsAlerts.slice(seen).filter((a) => a.ruleId === 'spend-burst');
      expect(fired.map((a) => [a.labels.channel, a.state]), JSON.stringify(reports.slice(-2))).toEqual([['email', 'firing']]);
      expect(Date.now() - posted).toBeLessThan(3_000);
      // and its notification reaches the webhook (before the next test counts requests)
      const deadline2 = Date.now() + 3_000;
      while (!payloads(hook).some((p) => p.rule.id === 'spend-burst') && Date.now() < deadline2) await sleep(50);
      expect(payloads(hook).filter((p) => p.rule.id === 'spend-burst').map((p) => p.alerts.map((a) => a.labels.channel))).toEqual([['email']]);
    } finally {
      await Promise.all(loops.map((l) => l.stop()));
    }
  });

  it('previews a rule over stored history with the same detector, and tries a rule not in the file', async () => {
    const call = async (path: string, body: unknown, username = 'ops') =>
      fetch(`${app.server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${await app.token(username)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const range = { from: T0 - 3 * MIN, to: T0 + 4 * MIN };
    const preview = await call('/api/v1/alert-rules/cvr-drop/preview', range);
    expect(preview.status).toBe(200);
    const found = ((await preview.json()) as { instances: Array<{ key: string; findings: Array<{ t: string; score: number }> }> }).instances;
    expect(found.map((i) => [i.key, i.findings.map((f) => Date.parse(f.t) - T0)])).toEqual([['douyin', [0]], ['jd', [0]]]);
    expect(found[0]!.findings[0]!.score).toBeCloseTo(-0.9, 6);
    expect((await call('/api/v1/alert-rules/cvr-drop/preview', range, 'manager-east')).status).toBe(403);

    const draft = { id: 'draft', name: '草稿', nameEn: 'Draft', metric: 'clicks', groupBy: 'channel', window: '1m', when: { above: 500 } };
    expect((await call('/api/v1/alert-rules/preview', { rule: draft, ...range }, 'oncall')).status).toBe(403);
    const tried = await call('/api/v1/alert-rules/preview', { rule: draft, ...range }, 'admin');
    const triedBody = (await tried.json()) as {
      notifications: number;
      instances: Array<{ key: string; findings: Array<{ t: string }>; episodes: Array<{ start: string; end: string | null; wouldNotify: boolean }> }>;
    };
    expect(triedBody.instances.map((i) => [i.key, i.findings.length])).toEqual([['douyin', 6], ['baidu', 1], ['jd', 4]]);
    // episodes, not points: each begins at a breaching window, consecutive breaching minutes are one episode
    for (const instance of triedBody.instances) {
      const starts = instance.findings.map((f) => Date.parse(f.t)).filter((t, i, all) => i === 0 || t - all[i - 1]! > MIN);
      expect(instance.episodes.map((e) => Date.parse(e.start))).toEqual(starts);
      expect(instance.episodes.every((e) => e.wouldNotify)).toBe(true); // no `for`: each fires at once
    }
    expect(triedBody.notifications).toBe(triedBody.instances.reduce((a, i) => a + i.episodes.length, 0));
    expect(triedBody.notifications).toBeLessThan(11);
    // a threshold judges every window; auto only once a day of data is behind one (it learns the
    // day first): douyin's and jd's data began minutes ago, baidu's a day and a minute before T0 —
    // so of its 7 windows, those ending from T0 − 1 min on (5). The answer says how many were not judged.
    const windows = 7 * app.cfg.channels.length;
    expect((triedBody as unknown as { judgedWindows: object }).judgedWindows).toEqual({ of: windows, unjudged: 0 });
    const learning = (await (await call('/api/v1/alert-rules/preview', { rule: { ...draft, when: undefined, detector: { kind: 'auto' } }, ...range }, 'admin')).json()) as {
      judgedWindows: object; instances: Array<{ key: string; episodes: unknown[] }>;
    };
    expect(learning.judgedWindows).toEqual({ of: windows, unjudged: windows - 5 });
    expect(learning.instances.filter((i) => i.episodes.length).map((i) => i.key)).toEqual(['baidu']);
    const bad = await call('/api/v1/alert-rules/preview', { rule: { ...draft, filter: { region: 'atlantis' } }, ...range }, 'admin');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('rule.filter.region: unknown region "atlantis"');
  });

  it('lets an admin add, replace and delete rules through the API; the next cycle evaluates the new set', async () => {
    const send = async (method: string, path: string, body: unknown, username = 'admin', language?: string) =>
      fetch(`${app.server.url}${path}`, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: { authorization: `Bearer ${await app.token(username)}`, 'content-type': 'application/json', ...(language ? { 'accept-language': language } : {}) },
      });
    const rule = { name: '点击过多', nameEn: 'Too many clicks', metric: 'clicks', groupBy: 'channel', window: '1m', when: { above: 500 }, notify: ['hook'] };
    // the console asks in its language: each reason in Chinese, ours and zod's, the field as named in the rule
    const refusedIn = async (language: string | undefined, change: Record<string, unknown>) =>
      ((await (await send('PUT', '/api/v1/alert-rules/clicks-high', { ...rule, ...change }, 'admin', language)).json()) as { error: string }).error;
    expect(await refusedIn('zh-CN', { window: '90x' })).toBe('window: "90x" 不是时长，应写成 30s、5m、1h 或 7d 这样');
    expect(await refusedIn('zh-CN,zh;q=0.9,en;q=0.8', { window: '15s' })).toBe('window: 须为 10 秒的整数倍');
    expect(await refusedIn('zh-CN', { notify: ['pager'] })).toBe('notify[0]: notifiers.yaml 中没有通知渠道 "pager"');
    expect(await refusedIn('zh-CN', { metric: 'profit' })).toMatch(/^metric: 无效选项/);
    // the console offers only configured places; a request naming another is refused at the field
    expect(await refusedIn('zh-CN', { filter: { region: 'atlantis' } })).toBe('filter.region: 没有区域 "atlantis"');
    expect(await refusedIn('en', { filter: { region: 'east', store: 'bj-zhongguancun' } })).toBe('filter.store: store "bj-zhongguancun" is not in region "east"');
    expect(await refusedIn('en', { window: '90x' })).toBe('window: "90x" is not a duration like 30s, 5m, 1h or 7d');
    expect(await refusedIn('en-US,en;q=0.9,zh;q=0.5', { window: '15s' })).toBe('window: must be a whole number of 10 s buckets');
    expect(await refusedIn('en', { keepFiringFor: '8d' })).toBe('keepFiringFor: at most 7d (an alert kept open longer would hide the next incident)');
    expect(await refusedIn('zh-CN', { keepFiringFor: 'soon' })).toBe('keepFiringFor: "soon" 不是时长，应写成 30s、5m、1h 或 7d 这样');
    expect((await send('PUT', '/api/v1/alert-rules/clicks-high', rule, 'oncall')).status).toBe(403);
    const bad = await send('PUT', '/api/v1/alert-rules/clicks-high', { ...rule, metric: 'profit' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^metric: /);
    const unknownNotifier = await send('PUT', '/api/v1/alert-rules/clicks-high', { ...rule, notify: ['pager'] });
    expect(((await unknownNotifier.json()) as { error: string }).error).toBe('notify[0]: no notifier "pager" in notifiers.yaml');
    const saved = await send('PUT', '/api/v1/alert-rules/clicks-high', rule);
    expect(saved.status).toBe(200);
    expect(((await saved.json()) as { rule: { source: string; updatedBy: string; window: number } }).rule).toMatchObject({ source: 'api', updatedBy: 'admin', window: 60_000 });
    expect((await send('DELETE', '/api/v1/alert-rules/cvr-day-ago', undefined)).status).toBe(204);
    const listed = (await (await app.get('/api/v1/alert-rules')).json()) as { rules: Array<{ id: string; source: string }> };
    expect(listed.rules.map((r) => [r.id, r.source])).toEqual([['cvr-drop', 'file'], ['clicks-high', 'api']]);

    const before = hook.requests.length;
    clock = T0 + 3 * MIN;
    await evaluatorAt().cycle();
    await hook.waitFor(before + 1);
    expect(payloads(hook).slice(before).map((p) => [p.rule.id, p.alerts.map((a) => a.labels.channel)])).toEqual([['clicks-high', ['douyin']]]);

    expect((await send('DELETE', '/api/v1/alert-rules/clicks-high', undefined)).status).toBe(204);
    const gone = await send('DELETE', '/api/v1/alert-rules/clicks-high', undefined, 'admin', 'zh-CN');
    expect([gone.status, ((await gone.json()) as { error: string }).error]).toEqual([404, '没有规则 "clicks-high"']);
    await evaluatorAt().cycle();
    const { rows } = await app.db.query(`SELECT state FROM alerts WHERE rule_id = 'clicks-high'`);
    expect(rows).toEqual([{ state: 'resolved' }]); // a deleted rule's alerts end with it

    // a rule deleted while its alert is still pending: the alert goes (it never paged), and the cycle goes on
    expect((await send('PUT', '/api/v1/alert-rules/clicks-high-slow', { ...rule, for: '10m' })).status).toBe(200);
    await evaluatorAt().cycle();
    expect((await app.db.query(`SELECT state FROM alerts WHERE rule_id = 'clicks-high-slow'`)).rows).toEqual([{ state: 'pending' }]);
    expect((await send('DELETE', '/api/v1/alert-rules/clicks-high-slow', undefined)).status).toBe(204);
    await evaluatorAt().cycle();
    expect((await app.db.query(`SELECT state FROM alerts WHERE rule_id = 'clicks-high-slow'`)).rows).toEqual([]);
  });

  it('draws the latest part of an alert active for weeks on a one-minute rule (more windows than one preview holds)', async () => {
    await app.db.query(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at, summary, summary_en)
       VALUES ('weeks-old', 'cvr-drop', 'douyin', '{"rule":"cvr-drop","channel":"douyin"}', NULL, 'warning', 'resolved', now() - interval '40 days', now() - interval '40 days', 's', 's')`,
    );
    await app.db.query(`UPDATE alerts SET resolved_at = now() - interval '1 hour' WHERE id = 'weeks-old'`);
    const response = await app.get('/api/v1/alerts/weeks-old/series');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { windows: number; instances: Array<{ key: string }> };
    expect(body.windows).toBeLessThanOrEqual(50_000);
    expect(body.windows).toBeGreaterThan(40_000);
    expect(body.instances.map((i) => i.key)).toEqual(['douyin']);
    await app.db.query(`DELETE FROM alerts WHERE id = 'weeks-old'`);
  });

  it('switches a rule off and on without deleting it (audited), and answers each rule as alerts.yaml states it, which PUT takes back unchanged', async () => {
    const send = async (method: string, path: string, body: unknown, username = 'admin') =>
      fetch(`${app.server.url}${path}`, { method, headers: { authorization: `Bearer ${await app.token(username)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    type Listed = { rules: Array<{ id: string; enabled: boolean; window: number; document: Record<string, unknown> }> };
    const listed = async () => ((await (await app.get('/api/v1/alert-rules')).json()) as Listed).rules.find((r) => r.id === 'cvr-drop')!;
    const before = await listed();
    expect(before.document).toMatchObject({ id: 'cvr-drop', window: '1m', for: '20s', enabled: true });
    expect((await send('PUT', '/api/v1/alert-rules/cvr-drop', before.document)).status).toBe(200);
    const { document: _d, ...rest } = before;
    const { document: _a, ...after } = await listed();
    expect(after).toMatchObject({ ...rest, source: 'api' });

    expect(((await (await send('PATCH', '/api/v1/alert-rules/cvr-drop', { enabled: 'no' })).json()) as { error: string }).error).toMatch(/^enabled: /);
    expect((await send('PATCH', '/api/v1/alert-rules/cvr-drop', { enabled: false }, 'oncall')).status).toBe(403);
    expect((await send('PATCH', '/api/v1/alert-rules/cvr-drop', { enabled: false })).status).toBe(200);
    expect((await listed()).enabled).toBe(false);
    expect((await evaluatorAt().cycle()).instances).toBe(0); // an off rule is not evaluated
    expect((await send('PATCH', '/api/v1/alert-rules/cvr-drop', { enabled: true })).status).toBe(200);
    expect(await listed()).toMatchObject({ enabled: true, window: 60_000 });
    const audit = (await (await app.get('/api/v1/audit?limit=3', 'admin')).json()) as { entries: Array<{ action: string; target: string }> };
    expect(audit.entries.map((e) => [e.action, e.target])).toEqual([['rule.enable', 'cvr-drop'], ['rule.disable', 'cvr-drop'], ['rule.update', 'cvr-drop']]);
  });

  it('holds evaluation while the pipeline is behind the windows, and resumes once it caught up', async () => {
    await app.processor!.stop();
    const response = await app.post(traffic('wechat', T0, T0 + 10_000, 100, 0, 'held'));
    expect(response.status).toBe(202);
    clock = Date.now() + 20_000; // windows ending after the unprocessed entry was ingested
    const held = await evaluatorAt().cycle();
    expect(held.held).toBe(true);
    expect(held.lagMs).toBeGreaterThan(5_000);
    await app.startProcessor();
    await app.drained();
    const resumed = await evaluatorAt().cycle();
    expect(resumed).toMatchObject({ held: false, lagMs: 0 });
    expect(resumed.instances).toBe(app.cfg.channels.length); // cvr-drop only: cvr-day-ago was deleted above
  });
});
