import { createHmac } from 'node:crypto';
import type { NotificationPayload } from '../notification.js';
import { postJson } from './notifier.js';

export const SIGNATURE_HEADER = 'x-wall-signature';
export const TIMESTAMP_HEADER = 'x-wall-timestamp';

/** HMAC-SHA256 over "<timestamp>.<body>", so a captured request cannot be replayed later with another time. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The generic webhook: the payload as JSON, signed when a secret is configured. */
export async function sendWebhook(url: string, secret: string | undefined, payload: NotificationPayload, signal: AbortSignal): Promise<void> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {};
  if (secret) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers[TIMESTAMP_HEADER] = timestamp;
    headers[SIGNATURE_HEADER] = webhookSignature(secret, timestamp, body);
  }
  await postJson(url, body, signal, headers);
}
