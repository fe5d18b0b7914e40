// The notifiers of notifiers.yaml, with their URLs and secrets taken from the environment.
import type { NotifierSpec } from '../../config/alert-schema.js';
import type { Notifier } from './notifier.js';
import { sendDingtalk } from './dingtalk.js';
import { emailSender } from './email.js';
import { sendFeishu } from './feishu.js';
import { sendSlack } from './slack.js';
import { sendWebhook } from './webhook.js';
import { sendWecom } from './wecom.js';

export function buildNotifiers(specs: NotifierSpec[], env: NodeJS.ProcessEnv = process.env): Map<string, Notifier> {
  return new Map(specs.map((spec) => [spec.id, buildNotifier(spec, env)]));
}

function buildNotifier(spec: NotifierSpec, env: NodeJS.ProcessEnv): Notifier {
  const base = { id: spec.id, kind: spec.kind, timeoutMs: spec.timeout, retries: spec.retries, backoffMs: spec.backoff };
  const unavailable = (reason: string): Notifier => ({ ...base, unavailable: reason, send: async () => { throw new Error(reason); } });
  if (spec.kind === 'email') {
    const smtpUrl = env[spec.smtpUrlEnv];
    if (!smtpUrl) return unavailable(`${spec.smtpUrlEnv} is not set`);
    const send = emailSender(smtpUrl, spec.from, spec.to, spec.timeout);
    return { ...base, send };
  }
  const url = spec.url ?? env[spec.urlEnv!];
  if (!url) return unavailable(`${spec.urlEnv} is not set`);
  // an unset secret sends unsigned: a robot that demands a signature then refuses, and says so
  const secret = 'secretEnv' in spec && spec.secretEnv ? env[spec.secretEnv] || undefined : undefined;
  switch (spec.kind) {
    case 'webhook':
      return { ...base, send: (p, signal) => sendWebhook(url, secret, p, signal) };
    case 'slack':
      return { ...base, send: (p, signal) => sendSlack(url, p, signal) };
    case 'wecom':
      return { ...base, send: (p, signal) => sendWecom(url, p, signal) };
    case 'dingtalk':
      return { ...base, send: (p, signal) => sendDingtalk(url, secret, p, signal) };
    case 'feishu':
      return { ...base, send: (p, signal) => sendFeishu(url, secret, p, signal) };
  }
}
