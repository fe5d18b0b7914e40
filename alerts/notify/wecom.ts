import { notificationMarkdown, type NotificationPayload } from '../notification.js';
import { checkRobotAnswer, postJson } from './notifier.js';

/** 企业微信群机器人: {"msgtype":"markdown","markdown":{"content":…}} (content at most 4096 bytes); answers {"errcode":0}. */
export function wecomBody(payload: NotificationPayload) {
  let content = notificationMarkdown(payload);
  while (Buffer.byteLength(content) > 4096) content = content.slice(0, -64);
  return { msgtype: 'markdown', markdown: { content } };
}

export async function sendWecom(url: string, payload: NotificationPayload, signal: AbortSignal): Promise<void> {
  checkRobotAnswer(await postJson(url, wecomBody(payload), signal), 'errcode');
}
