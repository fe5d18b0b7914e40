// One interface for every notification target; one small module per kind.
import type { NotificationPayload } from '../notification.js';

export interface Notifier {
  id: string;
  kind: string;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** why it cannot send (an environment variable unset); such notifications are recorded as skipped */
  unavailable?: string;
  /** resolves when the target accepted the message; throws with the reason otherwise */
  send(payload: NotificationPayload, signal: AbortSignal): Promise<void>;
}

export class DeliveryError extends Error {}

/** POSTs JSON; any status but 2xx is an error carrying the start of the answer. */
export async function postJson(url: string, body: unknown, signal: AbortSignal, headers: Record<string, string> = {}): Promise<string> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text, signal });
  const answer = await response.text();
  if (!response.ok) throw new DeliveryError(`HTTP ${response.status}: ${answer.slice(0, 200)}`);
  return answer;
}

/** Chat robots answer 200 with an error code in the body (WeCom/DingTalk errcode, Feishu code). */
export function checkRobotAnswer(answer: string, codeField: string): void {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(answer) as Record<string, unknown>;
  } catch {
    throw new DeliveryError(`unexpected answer: ${answer.slice(0, 200)}`);
  }
  const code = parsed[codeField] ?? parsed.StatusCode;
  if (code !== 0 && code !== undefined) throw new DeliveryError(`${codeField} ${String(code)}: ${String(parsed.errmsg ?? parsed.msg ?? '')}`);
}
