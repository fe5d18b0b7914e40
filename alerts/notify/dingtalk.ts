import { createHmac } from 'node:crypto';
import { notificationMarkdown, notificationTitle, type NotificationPayload } from '../notification.js';
import { checkRobotAnswer, postJson } from './notifier.js';

/**
 * 钉钉自定义机器人 加签: sign = urlencode(base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret))),
 * timestamp in milliseconds, both appended to the webhook URL.
 */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  const sign = createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
  const signed = new URL(url);
  signed.searchParams.set('timestamp', String(timestampMs));
  signed.searchParams.set('sign', sign);
  return signed.toString();
}

export function dingtalkBody(payload: NotificationPayload) {
  return { msgtype: 'markdown', markdown: { title: notificationTitle(payload).slice(0, 64), text: notificationMarkdown(payload) } };
}

export async function sendDingtalk(url: string, secret: string | undefined, payload: NotificationPayload, signal: AbortSignal): Promise<void> {
  const target = secret ? dingtalkSignedUrl(url, secret, Date.now()) : url;
  checkRobotAnswer(await postJson(target, dingtalkBody(payload), signal), 'errcode');
}
