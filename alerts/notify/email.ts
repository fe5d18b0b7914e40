import nodemailer, { type TransportOptions } from 'nodemailer';
import { notificationLines, notificationText, notificationTitle, type NotificationPayload } from '../notification.js';

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** E-mail over SMTP (nodemailer); the transport is made once per notifier. */
export function emailSender(smtpUrl: string, from: string, to: string[], timeoutMs: number) {
  const transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs } as TransportOptions);
  return async (payload: NotificationPayload, signal: AbortSignal): Promise<void> => {
    const item = (line: string, i: number) => {
      const url = payload.alerts[i]?.url;
      return `<li>${escape(line)}${url ? ` <a href="${escape(url)}">处理 · Open</a>` : ''}</li>`;
    };
    const html = `<h3>${escape(notificationTitle(payload))}</h3><ul>${notificationLines(payload).map(item).join('')}</ul>`;
    const sending = transport.sendMail({ from, to, subject: notificationTitle(payload), text: notificationText(payload), html });
    await new Promise<void>((resolve, reject) => {
      const abort = () => reject(new Error('timed out'));
      signal.addEventListener('abort', abort, { once: true });
      sending.then(() => resolve(), reject).finally(() => signal.removeEventListener('abort', abort));
    });
  };
}
