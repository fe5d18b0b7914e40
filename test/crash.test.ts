import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DIR, loadConfig } from '../config/load.js';
import type { LiveResponse, MetricsResponse } from '../stream/types.js';
import { generateStream, postAll, type GeneratedStream } from './event-factory.js';
import { apiSums, truthSums, withoutUsers } from './ground-truth.js';
import { USER_ID_KEY, sleep, startTestApp, type TestApp } from './harness.js';

// a config copy whose processors claim abandoned entries after 2 s instead of 30 s
const configDir = mkdtempSync(join(tmpdir(), 'mw-crash-config-'));
cpSync(CONFIG_DIR, configDir, { recursive: true, filter: (src) => !src.endsWith('.ts') });
writeFileSync(join(configDir, 'pipeline.yaml'), readFileSync(join(configDir, 'pipeline.yaml'), 'utf8')
  .replace(/claimIdleMs: \d+/, 'claimIdleMs: 2000').replace(/readEntries: \d+/, 'readEntries: 2'));

let app: TestApp;
let stream: GeneratedStream;
const now = Date.now();

function spawnProcessor(name: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'stream/main.ts'], {
    env: {
      ...process.env, CONFIG_DIR: configDir, LOG_LEVEL: 'warn', PROCESSOR_NAME: name, USER_ID_HASH_KEY: USER_ID_KEY,
      REDIS_URL: app.stores.redisUrl, DATABASE_URL: app.stores.databaseUrl, REDIS_PREFIX: app.stores.redisPrefix, DB_SCHEMA: app.stores.dbSchema,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', () => resolve())));

beforeAll(async () => {
  app = await startTestApp('crash', { cfg: loadConfig(configDir), processor: false });
  stream = generateStream(app.cfg, 40_000, 11, now);
  await postAll((events) => app.post(events), stream.deliveries, 500);
});

afterAll(async () => {
  await app?.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe('a processor stopped with SIGTERM, then killed with SIGKILL, in the middle of batches', () => {
  it('loses nothing and counts nothing twice, in the database and in Redis', async () => {
    const total = await app.streamLength();

    // first a graceful stop: SIGTERM in the middle of the work finishes the batch in flight, acks it, exits 0
    const polite = spawnProcessor('crash-term');
    while ((await app.streamLength()) === total) await sleep(25);
    await sleep(100 + Math.random() * 200);
    const stoppedAt = Date.now();
    polite.kill('SIGTERM');
    await exited(polite);
    expect(polite.exitCode).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(await app.pendingOf('crash-term')).toBe(0);
    expect(await app.streamLength()).toBeGreaterThan(0); // it stopped before the end

    let kills = 0;
    let lastLength = total;
    for (let round = 0; round < 6; round++) {
      // two names: a restarted name takes back its own pending entries, the other claims them after 2 s
      const child = spawnProcessor(`crash-${round % 2}`);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const length = await app.streamLength();
        if (length < lastLength) break; // it is processing
        await sleep(25);
      }
      await sleep(50 + Math.random() * 250);
      child.kill('SIGKILL');
      await exited(child);
      kills++;
      lastLength = await app.streamLength();
      expect(lastLength).toBeLessThan(total); // progress was made before the kill
      if (lastLength === 0) break;
    }
    expect(kills).toBeGreaterThanOrEqual(3);

    const survivor = spawnProcessor('crash-final');
    await app.drained(120_000);
    survivor.kill('SIGTERM');
    await exited(survivor);

    const { rows } = await app.db.query('SELECT count(*)::int AS n FROM events');
    expect(rows[0].n).toBe(stream.unique.length);

    const metrics = (await (await app.get(`/api/v1/metrics?from=${now - 36 * 3_600_000}&to=${now + 60_000}&step=1d&groupBy=channel`)).json()) as MetricsResponse;
    for (const series of metrics.series) {
      const channel = series.key.channel;
      for (const point of series.points) {
        const start = Date.parse(point.t);
        const truth = truthSums(stream.unique, (e) => e.channel === channel && e.ts >= start && e.ts < start + 86_400_000);
        expect(apiSums(point)).toEqual(withoutUsers(truth));
      }
    }

    for (const channel of app.cfg.channels.map((c) => c.id)) {
      const live = (await (await app.get(`/api/v1/live?channel=${channel}`)).json()) as LiveResponse;
      const window = live.windows['24h'];
      const truth = truthSums(stream.unique, (e) => e.channel === channel && e.ts >= Date.parse(window.from) && e.ts < Date.parse(window.to));
      expect(apiSums(window)).toEqual(withoutUsers(truth));
    }
  });
});
