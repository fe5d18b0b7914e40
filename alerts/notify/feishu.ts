import { createHmac } from 'node:crypto';
import { notificationText, type NotificationPayload } from '../notification.js';
import { checkRobotAnswer, postJson } from './notifier.js';

/**
 * 飞书自定义机器人 签名校验: sign = base64(HmacSHA256(key = timestamp + "\n" + secret, message = "")),
 * timestamp in seconds; both go in the body.
 */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

export function feishuBody(payload: NotificationPayload, secret: string | undefined, timestampSeconds: number) {
  const body: Record<string, unknown> = { msg_type: 'text', content: { text: notificationText(payload) } };
  if (secret) Object.assign(body, { timestamp: String(timestampSeconds), sign: feishuSign(secret, timestampSeconds) });
  return body;
}

export async function sendFeishu(url: string, secret: string | undefined, payload: NotificationPayload, signal: AbortSignal): Promise<void> {
  checkRobotAnswer(await postJson(url, feishuBody(payload, secret, Math.floor(Date.now() / 1000)), signal), 'code');
}
