// What a notification says, neutral of where it goes: the rule, whether it fires or resolves,
// and its alerts. Each notifier turns it into its target's format.
import type { AlertRule } from '../config/alert-schema.js';
import { offsetMs } from '../config/load.js';
import type { ScreenAlert } from '../stream/types.js';

export interface NotificationAlert extends ScreenAlert {
  /** a reminder of an alert still firing (repeatInterval) */
  repeat: boolean;
  /** the alert's page in the on-call console (PUBLIC_URL/alerts/<id>), when PUBLIC_URL is set */
  url?: string;
  /** why it moved: the segments that explain the change ("−32%：抖音 × 华东 解释 71%") */
  why?: string;
  whyEn?: string;
}

export interface NotificationPayload {
  version: 1;
  status: 'firing' | 'resolved';
  /** the operations room's UTC offset (pipeline.yaml windows.utcOffset), for the times in the text */
  utcOffset: string;
  rule: { id: string; name: string; nameEn: string; severity: string; metric: string; windowSeconds: number };
  alerts: NotificationAlert[];
}

/** What PUBLIC_URL must look like: it goes into chat markup as it is (the alert ids are UUIDs). */
export const PUBLIC_URL_PATTERN = /^https?:\/\/[^\s<>|()[\]"']+$/;

/** The page of an alert in the on-call console, under the public address of the wall. */
export const alertPageUrl = (publicUrl: string, alertId: string) => `${publicUrl.replace(/\/+$/, '')}/alerts/${encodeURIComponent(alertId)}`;

export function notificationPayload(rule: AlertRule, status: 'firing' | 'resolved', alerts: NotificationAlert[], utcOffset: string, publicUrl?: string): NotificationPayload {
  return {
    version: 1,
    status,
    utcOffset,
    rule: { id: rule.id, name: rule.name, nameEn: rule.nameEn, severity: rule.severity, metric: rule.metric, windowSeconds: rule.window / 1000 },
    alerts: publicUrl ? alerts.map((a) => ({ ...a, url: alertPageUrl(publicUrl, a.id) })) : alerts,
  };
}

const SEVERITY_ZH: Record<string, string> = { critical: '严重', warning: '警告', info: '提示' };

/** HH:MM at the given offset, e.g. "+08:00" */
function clock(iso: string | null, utcOffset: string): string {
  return iso ? new Date(Date.parse(iso) + offsetMs(utcOffset)).toISOString().slice(11, 16) : '';
}

/** "【严重·告警】渠道转化率骤降（2 项）" / "[FIRING] …" — a subject line, Chinese then English. */
export function notificationTitle(p: NotificationPayload): string {
  const zh = p.status === 'firing' ? `【${SEVERITY_ZH[p.rule.severity] ?? p.rule.severity}·告警】` : '【已恢复】';
  return `${zh}${p.rule.name}（${p.alerts.length} 项） / [${p.status.toUpperCase()}] ${p.rule.nameEn}`;
}

/** One line per alert; times at the operations room's offset. */
export function notificationLines(p: NotificationPayload): string[] {
  return p.alerts.map((a) => {
    // kept open after it recovered (keepFiringFor): when it was back to normal, not only when it was let go
    const back = a.recoveringSince ? `back to normal ${clock(a.recoveringSince, p.utcOffset)}, ` : '';
    const when = p.status === 'firing' ? `${a.repeat ? '仍在告警 · still firing · ' : ''}since ${clock(a.firedAt ?? a.activeSince, p.utcOffset)}` : `${back}resolved ${clock(a.resolvedAt, p.utcOffset)}`;
    const why = a.why ? ` · 原因 ${a.why} / why: ${a.whyEn}` : '';
    return `${a.summary} — ${a.summaryEn} (${when})${why}`;
  });
}

// ASCII that builds markup in some target (markdown emphasis, links and headings; WeCom's <font>;
// Feishu's <at user_id="all">; Slack's <!channel> and <url|text>) → its full-width twin, which
// reads the same to a person and means nothing to any of them. No dialect shares one escape syntax.
const MARKUP: Record<string, string> = {
  '*': '＊', _: '＿', '`': '｀', '[': '［', ']': '］', '<': '＜', '>': '＞', '#': '＃', '~': '～', '|': '｜', '\\': '＼',
};

/**
 * Text a producer chose (campaign ids end up in the alert lines; titles hold only rule names, which
 * admins write), made inert for a chat target: on one
 * line (control characters become spaces) and with no character that starts markup or a mention.
 */
export function defuseMarkup(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ').replace(/[*_`[\]<>#~|\\]/g, (c) => MARKUP[c]!);
}

/** Each alert's line, defused (then `escape`d as the target needs), with its link as `link(url)` renders it. */
export function linkedLines(p: NotificationPayload, link: (url: string) => string, escape = (text: string) => text): string[] {
  return notificationLines(p).map((line, i) => {
    const text = escape(defuseMarkup(line));
    const url = p.alerts[i]?.url;
    return url ? `${text} ${link(url)}` : text;
  });
}

export function notificationMarkdown(p: NotificationPayload): string {
  return [`**${notificationTitle(p)}**`, ...linkedLines(p, (url) => `[处理 · Open](${url})`).map((line) => `- ${line}`)].join('\n');
}

export function notificationText(p: NotificationPayload): string {
  return [notificationTitle(p), ...linkedLines(p, (url) => url).map((line) => `• ${line}`)].join('\n');
}
