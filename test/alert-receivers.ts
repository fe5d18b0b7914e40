// Local stand-ins for where notifications go: an HTTP server that records every request (the
// webhook, Slack, WeCom, DingTalk and Feishu endpoints) and a real SMTP server.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** what to answer: status and body (JSON-encoded); `hang` never answers */
  reply: { status: number; body: unknown } | 'hang';
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

async function poll<T>(read: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function startHttpReceiver(reply: HttpReceiver['reply'] = { status: 200, body: { ok: true } }): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const receiver: HttpReceiver = {
    url: '',
    requests,
    reply,
    waitFor: (count, timeoutMs = 10_000) => poll(() => (requests.length >= count ? requests.slice() : undefined), timeoutMs, `${count} requests`),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const answer = receiver.reply;
      if (answer === 'hang') return void hanging.add(res);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export interface MailReceiver {
  url: string;
  messages: Array<{ from: string; to: string[]; raw: string }>;
  waitFor(count: number, timeoutMs?: number): Promise<MailReceiver['messages']>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<MailReceiver> {
  const messages: MailReceiver['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor: (count, timeoutMs = 10_000) => poll(() => (messages.length >= count ? messages.slice() : undefined), timeoutMs, `${count} mails`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
