import { defuseMarkup, notificationLines, notificationTitle, type NotificationPayload } from '../notification.js';

/** Slack's own escaping (&, < and >) after the markup is defused. */
const slackText = (text: string) => defuseMarkup(text).replace(/&/g, '&amp;');
import { postJson } from './notifier.js';

/** Slack incoming webhook: `text` (the fallback) and one mrkdwn section; Slack answers "ok". */
export function slackBody(payload: NotificationPayload) {
  const title = slackText(notificationTitle(payload));
  const lines = notificationLines(payload).map((line) => `• ${slackText(line)}`);
  return {
    text: title,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: [`*${title}*`, ...lines].join('\n').slice(0, 3000) } }],
  };
}

export async function sendSlack(url: string, payload: NotificationPayload, signal: AbortSignal): Promise<void> {
  await postJson(url, slackBody(payload), signal);
}
