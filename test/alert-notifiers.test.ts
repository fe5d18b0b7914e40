// Every notifier against a local stand-in of its endpoint: the documented message formats and
// signatures (computed here independently), error answers, and the backtest CLI.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierSchema, type NotifierSpec } from '../config/alert-schema.js';
import { PUBLIC_URL_PATTERN, notificationPayload, type NotificationPayload } from '../alerts/notification.js';
import { buildNotifiers } from '../alerts/notify/build.js';
import { dingtalkBody } from '../alerts/notify/dingtalk.js';
import { feishuBody } from '../alerts/notify/feishu.js';
import { slackBody } from '../alerts/notify/slack.js';
import { wecomBody } from '../alerts/notify/wecom.js';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type MailReceiver } from './alert-receivers.js';

const run = promisify(execFile);

const payload: NotificationPayload = {
  version: 1,
  status: 'firing',
  utcOffset: '+08:00',
  rule: { id: 'channel-cvr-drop', name: '渠道转化率骤降', nameEn: 'Channel conversion rate collapse', severity: 'critical', metric: 'cvr', windowSeconds: 60 },
  alerts: [{
    id: 'a1', ruleId: 'channel-cvr-drop', state: 'firing', severity: 'critical', labels: { rule: 'channel-cvr-drop', channel: 'douyin' },
    summary: '渠道转化率骤降 · 抖音：转化率 0.91%（较昨日同期 −62%）', summaryEn: 'Channel conversion rate collapse · Douyin: conversion rate 0.91% (−62% vs a day ago)',
    value: 0.0091, activeSince: '2026-11-23T02:00:00.000Z', firedAt: '2026-11-23T02:01:00.000Z', recoveringSince: null, resolvedAt: null,
    ackedBy: null, ackedAt: null, silencedBy: null, at: '2026-11-23T02:01:00.000Z', repeat: false,
  }],
};

let http: HttpReceiver;
let mail: MailReceiver;
beforeAll(async () => {
  http = await startHttpReceiver();
  mail = await startSmtpReceiver();
});
afterAll(async () => {
  await http.close();
  await mail.close();
});

async function sendWith(spec: Record<string, unknown>, env: Record<string, string>) {
  const parsed = notifierSchema.parse(spec) as NotifierSpec;
  const notifier = buildNotifiers([parsed], env).get(parsed.id)!;
  expect(notifier.unavailable).toBeUndefined();
  const before = http.requests.length;
  await notifier.send(payload, AbortSignal.timeout(3_000));
  return http.requests[before]!;
}

describe('notifiers', () => {
  it('webhook: the payload as JSON, signed with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
    http.reply = { status: 200, body: {} };
    const request = await sendWith({ id: 'hook', kind: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' }, { HOOK_URL: `${http.url}/hook`, HOOK_SECRET: 's3cret' });
    expect(JSON.parse(request.body)).toEqual(payload);
    const timestamp = String(request.headers['x-wall-timestamp']);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(request.headers['x-wall-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(`${timestamp}.${request.body}`).digest('hex')}`);
  });

  it('WeCom group robot: msgtype markdown with the summaries; a non-zero errcode is a failure', async () => {
    http.reply = { status: 200, body: { errcode: 0, errmsg: 'ok' } };
    const request = await sendWith({ id: 'wecom', kind: 'wecom', urlEnv: 'WECOM_URL' }, { WECOM_URL: `${http.url}/cgi-bin/webhook/send?key=k1` });
    expect(request.path).toBe('/cgi-bin/webhook/send?key=k1');
    const body = JSON.parse(request.body);
    expect(Object.keys(body).sort()).toEqual(['markdown', 'msgtype']);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content).toContain('抖音：转化率 0.91%');
    expect(body.markdown.content).toContain('since 10:01'); // 02:01 UTC at +08:00
    expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
    http.reply = { status: 200, body: { errcode: 93000, errmsg: 'invalid webhook url' } };
    await expect(sendWith({ id: 'wecom', kind: 'wecom', urlEnv: 'WECOM_URL' }, { WECOM_URL: `${http.url}/x` })).rejects.toThrow(/errcode 93000: invalid webhook url/);
  });

  it('DingTalk robot: timestamp (ms) and sign = base64(HmacSHA256(secret, timestamp + "\\n" + secret)) on the URL', async () => {
    http.reply = { status: 200, body: { errcode: 0, errmsg: 'ok' } };
    const secret = 'SEC0123456789abcdef';
    const request = await sendWith({ id: 'ding', kind: 'dingtalk', urlEnv: 'DING_URL', secretEnv: 'DING_SECRET' }, { DING_URL: `${http.url}/robot/send?access_token=tok`, DING_SECRET: secret });
    const url = new URL(request.path, http.url);
    expect(url.searchParams.get('access_token')).toBe('tok');
    const timestamp = url.searchParams.get('timestamp')!;
    expect(Math.abs(Number(timestamp) - Date.now())).toBeLessThan(5_000);
    expect(url.searchParams.get('sign')).toBe(createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64'));
    expect(request.path).toContain('sign=' + encodeURIComponent(url.searchParams.get('sign')!).replace(/%20/g, '+'));
    const body = JSON.parse(request.body);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toContain('渠道转化率骤降');
    expect(body.markdown.text).toContain('Douyin: conversion rate 0.91%');
  });

  it('Feishu bot: timestamp (s) and sign = base64(HmacSHA256(key = timestamp + "\\n" + secret, "")) in the body; code ≠ 0 fails', async () => {
    http.reply = { status: 200, body: { code: 0, msg: 'success', data: {} } };
    const secret = 'feishu-secret';
    const request = await sendWith({ id: 'fs', kind: 'feishu', urlEnv: 'FS_URL', secretEnv: 'FS_SECRET' }, { FS_URL: `${http.url}/open-apis/bot/v2/hook/abc`, FS_SECRET: secret });
    const body = JSON.parse(request.body);
    expect(typeof body.timestamp).toBe('string');
    expect(Math.abs(Number(body.timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(body.sign).toBe(createHmac('sha256', `${body.timestamp}\n${secret}`).update('').digest('base64'));
    expect(body.msg_type).toBe('text');
    expect(body.content.text).toContain('渠道转化率骤降 · 抖音');
    http.reply = { status: 200, body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' } };
    await expect(sendWith({ id: 'fs', kind: 'feishu', urlEnv: 'FS_URL', secretEnv: 'FS_SECRET' }, { FS_URL: `${http.url}/h`, FS_SECRET: 'wrong' })).rejects.toThrow(/code 19021/);
  });

  it('Slack incoming webhook: text and a mrkdwn section; HTTP errors fail', async () => {
    http.reply = { status: 200, body: 'ok' };
    const request = await sendWith({ id: 'slack', kind: 'slack', urlEnv: 'SLACK_URL' }, { SLACK_URL: `${http.url}/services/T/B/X` });
    const body = JSON.parse(request.body);
    expect(body.text).toContain('[FIRING] Channel conversion rate collapse');
    expect(body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    http.reply = { status: 404, body: 'no_service' };
    await expect(sendWith({ id: 'slack', kind: 'slack', urlEnv: 'SLACK_URL' }, { SLACK_URL: `${http.url}/x` })).rejects.toThrow(/HTTP 404/);
  });

  it('campaign names chosen by producers cannot format, link, mention or add lines in any chat target', async () => {
    const hostile = '<!channel> *big* [win](http://evil.example) <at user_id="all"></at> `x`\n## fake line';
    const alert = { ...payload.alerts[0]!, labels: { ...payload.alerts[0]!.labels, campaign: hostile }, summary: `活动 ${hostile}`, summaryEn: `campaign ${hostile}` };
    const tainted: NotificationPayload = { ...payload, alerts: [alert] };
    const lines = [
      ...slackBody(tainted).blocks[0]!.text.text.split('\n').slice(1),
      ...wecomBody(tainted).markdown.content.split('\n').slice(1),
      ...dingtalkBody(tainted).markdown.text.split('\n').slice(1),
      ...(feishuBody(tainted, undefined, 0).content as { text: string }).text.split('\n').slice(1),
    ];
    expect(lines).toHaveLength(4); // one line per alert in each: the newline in the name did not add one
    for (const line of lines) {
      expect(line).not.toMatch(/[<>*`[\]#]/);
      expect(line).toContain('＜!channel＞');
    }
  });

  it('links each alert to its page when PUBLIC_URL is set, in every chat format, and not otherwise', () => {
    const rule = { id: 'r', name: '规则', nameEn: 'Rule', severity: 'critical', metric: 'cvr', window: 60_000 } as Parameters<typeof notificationPayload>[0];
    const linked = notificationPayload(rule, 'firing', payload.alerts, '+08:00', 'https://wall.example.cn/');
    const url = 'https://wall.example.cn/alerts/a1';
    expect(linked.alerts[0]!.url).toBe(url);
    expect(wecomBody(linked).markdown.content).toContain(`[处理 · Open](${url})`);
    expect(dingtalkBody(linked).markdown.text).toContain(`[处理 · Open](${url})`);
    expect(slackBody(linked).blocks[0]!.text.text).toContain(`<${url}|处理 · Open>`);
    expect((feishuBody(linked, undefined, 0).content as { text: string }).text).toContain(url);
    const plain = notificationPayload(rule, 'firing', payload.alerts, '+08:00');
    expect(plain.alerts[0]!.url).toBeUndefined();
    expect(wecomBody(plain).markdown.content).not.toContain('http');
    expect(PUBLIC_URL_PATTERN.test('https://wall.example.cn')).toBe(true);
    expect(PUBLIC_URL_PATTERN.test('javascript:alert(1)')).toBe(false);
    expect(PUBLIC_URL_PATTERN.test('https://x.cn/a) [b](c')).toBe(false);
  });

  it('e-mail over SMTP reaches the recipients', async () => {
    const spec = notifierSchema.parse({ id: 'mail', kind: 'email', smtpUrlEnv: 'SMTP_URL', from: 'wall@example.com', to: ['oncall@example.com', 'ops@example.com'] });
    const notifier = buildNotifiers([spec], { SMTP_URL: mail.url }).get('mail')!;
    await notifier.send(payload, AbortSignal.timeout(5_000));
    const [message] = await mail.waitFor(1);
    expect(message!.to).toEqual(['oncall@example.com', 'ops@example.com']);
    expect(message!.raw).toMatch(/^Subject: /m);
    expect(message!.raw).toContain('FIRING');
  });

  it('a notifier whose environment is unset says which variable is missing', () => {
    const spec = notifierSchema.parse({ id: 'hook', kind: 'webhook', urlEnv: 'NOT_SET_ANYWHERE' });
    expect(buildNotifiers([spec], {}).get('hook')!.unavailable).toBe('NOT_SET_ANYWHERE is not set');
  });
});

describe('npm run backtest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'backtest-'));
  const csv = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const backtest = (...args: string[]) => run('npm', ['run', '-s', 'backtest', '--', ...args], { encoding: 'utf8' });

  it('prints one JSON line per point where the detector fires (--points)', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `2026-11-01 10:${String(i).padStart(2, '0')}:00,${i === 20 ? 30 : 100 + (i % 3)}`);
    const file = csv('step.csv', `timestamp,value\n${rows.join('\n')}\n`);
    const { stdout } = await backtest('--input', file, '--detector', 'drop', '--param', 'ratio=0.5', '--points');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ timestamp: '2026-11-01 10:20:00', value: 30, score: Number((30 / 101 - 1).toFixed(6)) }]);
    const z = await backtest('--input', file, '--detector', 'zscore', '--param', 'threshold=4', '--param', 'lookback=10', '--points');
    expect(z.stdout.trim().split('\n').map((l) => JSON.parse(l).timestamp)).toEqual(['2026-11-01 10:20:00']);
  });

  it('prints one line per alert episode by default: at its onset, ended by hysteresis and keepFiringFor, held back by `for`', async () => {
    // an hour-long collapse (minutes 20–79) and a two-minute dip (minute 100)
    const rows = Array.from({ length: 120 }, (_, i) => {
      const t = new Date(Date.UTC(2026, 10, 1, 2, i)).toISOString().slice(0, 19).replace('T', ' ');
      return `${t},${(i >= 20 && i < 80) || i === 100 || i === 101 ? 30 : 100 + (i % 3)}`;
    });
    const file = csv('episodes.csv', `timestamp,value\n${rows.join('\n')}\n`);
    const points = await backtest('--input', file, '--detector', 'below', '--param', 'threshold=50', '--points');
    expect(points.stdout.trim().split('\n')).toHaveLength(62);
    const onsets = async (...params: string[]) =>
      (await backtest('--input', file, '--detector', 'below', '--param', 'threshold=50', ...params.flatMap((p) => ['--param', p]))).stdout.trim().split('\n').map((l) => JSON.parse(l));
    // by default an alert stays open 2 h after it recovers (keepFiringFor): the dip 20 minutes later is the same alert
    expect(await onsets()).toEqual([{ timestamp: '2026-11-01 02:20:00', value: 30, score: 30 }]);
    const separate = [{ timestamp: '2026-11-01 02:20:00', value: 30, score: 30 }, { timestamp: '2026-11-01 03:40:00', value: 30, score: 30 }];
    expect(await onsets('keepFiringFor=0s')).toEqual(separate);
    expect(await onsets('keepFiringFor=19m')).toEqual(separate);
    expect(await onsets('keepFiringFor=21m')).toEqual(separate.slice(0, 1));
    // for=5m: the two-minute dip never fires, so it is no alert
    expect((await onsets('for=5m', 'keepFiringFor=0s')).map((e) => e.timestamp)).toEqual(['2026-11-01 02:20:00']);
  });

  it('auto learns a daily pattern in 22 000 points and alerts once on the spike in it (its speed is in the bench)', async () => {
    const rows: string[] = [];
    let state = 1;
    for (let i = 0; i < 22_000; i++) {
      state = (state * 48271) % 2147483647;
      const t = new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ');
      const daily = 100 + 30 * Math.sin((2 * Math.PI * (i % 288)) / 288);
      rows.push(`${t},${(daily + (state / 2147483647) * 5 + (i === 15_000 ? 200 : 0)).toFixed(3)}`);
    }
    const file = csv('long.csv', `timestamp,value\n${rows.join('\n')}\n`);
    const { stdout } = await backtest('--input', file, '--detector', 'auto');
    const onsets = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).timestamp);
    expect(onsets).toEqual([rows[15_000]!.split(',')[0]]);
  }, 60_000);

  it('names bad input and exits 2', async () => {
    const bad = csv('bad.csv', 'timestamp,value\n2026-11-01 10:00:00,1\nyesterday,2\n');
    const failure = await backtest('--input', bad, '--detector', 'zscore').catch((err) => err);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('line 3: timestamp "yesterday"');
    const unknown = await backtest('--input', bad, '--detector', 'magic').catch((err) => err);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--detector magic: not one of');
    const param = await backtest('--input', bad, '--detector', 'ewma', '--param', 'alpha=2').catch((err) => err);
    expect(param.code).toBe(2);
    expect(param.stderr).toMatch(/--param alpha: /);
    const good = csv('good.csv', 'timestamp,value\n2026-11-01 10:00:00,1\n2026-11-01 10:01:00,2\n');
    const keep = await backtest('--input', good, '--detector', 'below', '--param', 'threshold=1', '--param', 'keepFiringFor=soon').catch((err) => err);
    expect([keep.code, keep.stderr]).toEqual([2, expect.stringContaining('--param keepFiringFor=soon: not a duration like 2h')]);
  });
});
