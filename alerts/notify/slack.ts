import { linkedLines, notificationTitle, type NotificationPayload } from '../notification.js';

/** Slack's own escaping of &, < and > (no mention or link can be formed) */
const slackEscape = (text: string) => text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
import { postJson } from './notifier.js';

/** Slack incoming webhook: `text` (the fallback) and one mrkdwn section; Slack answers "ok". */
export function slackBody(payload: NotificationPayload) {
  const title = slackEscape(notificationTitle(payload));
  const lines = linkedLines(payload, (url) => `<${url}|处理 · Open>`, slackEscape).map((line) => `• ${line}`);
  return {
    text: title,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: [`*${title}*`, ...lines].join('\n').slice(0, 3000) } }],
  };
}

export async function sendSlack(url: string, payload: NotificationPayload, signal: AbortSignal): Promise<void> {
  await postJson(url, slackBody(payload), signal);
}
