// `npm start` runs the server and its stream processors from the esbuild bundles in dist/node/,
// not through tsx: this runs those bundles as processes, as production does, and checks that they
// find their files (config, Lua scripts) and count exactly.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { get, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { projectPath } from '../config/project-root.js';
import { createRedis } from '../stream/connect.js';
import { keysOfStores, streamBacklog } from '../stream/redis-keys.js';
import type { MetricsResponse } from '../stream/types.js';
import { generateStream, postAll, type GeneratedStream } from './event-factory.js';
import { apiSums, truthSums, withoutUsers } from './ground-truth.js';
import { API_KEY, USER_ID_KEY, deleteKeys, sleep, testStores } from './harness.js';
import { freePort } from './bench/processes.js';
import { PROCESSOR_NODE_FLAGS } from '../server/processes.js';
import pg from 'pg';

const cfg = loadConfig();
const stores = testStores('bundle');
const redis = createRedis(stores.redisUrl, 'test-bundle');
const keys = keysOfStores(stores, cfg.pipeline);
const now = Date.now();
let server: ChildProcess;
let url: string;
let stream: GeneratedStream;

const childrenOf = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
const withoutConfigDir = ({ CONFIG_DIR: _dir, ...env }: NodeJS.ProcessEnv) => env;
const commandLineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
/** a GET whose body arrives as sent (fetch would decompress it) */
const rawGet = (path: string, headers: Record<string, string>) =>
  new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    get(`${url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });

beforeAll(async () => {
  // the bundles of the sources under test, not whatever an earlier build left
  execFileSync('npm', ['run', '--silent', 'build:node'], { cwd: projectPath('/'), stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [projectPath('dist/node/server/main.js')], {
    // started from elsewhere than the project: the bundles find their files from their own place
    cwd: '/',
    env: {
      ...withoutConfigDir(process.env), PORT: String(port), PROCESSORS: '2', SIMULATE: '0', JOBS: '0', LOG_LEVEL: 'warn',
      INGEST_API_KEYS: API_KEY, USER_ID_HASH_KEY: USER_ID_KEY, AUTH_SECRET: 'bundle-test-secret-bundle-test-secret-0123',
      REDIS_URL: stores.redisUrl, DATABASE_URL: stores.databaseUrl, REDIS_PREFIX: stores.redisPrefix, DB_SCHEMA: stores.dbSchema,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let tries = 0; !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); tries++) {
    if (tries > 150 || server.exitCode !== null) throw new Error('the bundled server did not become ready');
    await sleep(200);
  }
  stream = generateStream(cfg, 6_000, 23, now);
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
  const db = new pg.Client({ connectionString: stores.databaseUrl });
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS "${stores.dbSchema}" CASCADE`);
  await db.end();
  await deleteKeys(redis, stores.redisPrefix);
  redis.disconnect();
});

describe('the production bundles (npm start)', () => {
  it('run the processors as plain JavaScript, without tsx', async () => {
    let processors: number[] = [];
    for (let tries = 0; processors.length < 2 && tries < 50; tries++) {
      processors = childrenOf(server.pid!).filter((pid) => commandLineOf(pid).some((arg) => arg.endsWith('stream/main.js')));
      if (processors.length < 2) await sleep(200);
    }
    expect(processors).toHaveLength(2);
    for (const pid of processors) {
      const args = commandLineOf(pid);
      expect(args).toContain(projectPath('dist/node/stream/main.js'));
      expect(args.join(' ')).not.toMatch(/tsx/);
      for (const flag of PROCESSOR_NODE_FLAGS) expect(args).toContain(flag);
    }
  });

  it('start processors with the same node flags however they are started (supervisor, npm run processor, compose)', () => {
    const script = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.processor!;
    const compose = readFileSync(projectPath('docker-compose.yml'), 'utf8').split('\n').find((line) => line.includes('dist/node/stream/main.js'))!;
    for (const flag of PROCESSOR_NODE_FLAGS) {
      expect(script.split(' ')).toContain(flag);
      expect(compose).toContain(`"${flag}"`);
    }
  });

  it('count every event exactly, duplicates and late events included', async () => {
    await postAll(
      (events) => fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify(events) }),
      stream.deliveries, 500,
    );
    const deadline = Date.now() + 60_000;
    const pendingOf = async (stream: string) => Number(((await redis.xpending(stream, keys.group)) as [number])[0]);
    while ((await streamBacklog(redis, keys)) > 0 || (await Promise.all(keys.partitions.map((p) => pendingOf(p.stream)))).some((n) => n > 0)) {
      if (Date.now() > deadline) throw new Error('the bundled processors did not drain the stream');
      await sleep(100);
    }
    const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: 'demo' }) });
    const { token } = (await login.json()) as { token: string };
    const response = await fetch(`${url}/api/v1/metrics?from=${now - 36 * 3_600_000}&to=${now + 60_000}&step=1d&groupBy=channel`, { headers: { authorization: `Bearer ${token}` } });
    const metrics = (await response.json()) as MetricsResponse;
    let compared = 0;
    for (const series of metrics.series) {
      for (const point of series.points) {
        const start = Date.parse(point.t);
        const truth = truthSums(stream.unique, (e) => e.channel === series.key.channel && e.ts >= start && e.ts < start + 86_400_000);
        expect(apiSums(point)).toEqual(withoutUsers(truth));
        compared += point.exposure + point.clicks + point.conversions;
      }
    }
    expect(compared).toBeGreaterThan(0);
    expect(stream.deliveries.length).toBeGreaterThan(stream.unique.length); // duplicates were sent
  });

  it("compress the screen's script for a browser that accepts it, brotli before gzip", async () => {
    const script = readdirSync(projectPath('dist/screen/assets')).find((f) => f.endsWith('.js'))!;
    const file = readFileSync(projectPath(`dist/screen/assets/${script}`));
    const asIs = await rawGet(`/assets/${script}`, {});
    expect([asIs.headers['content-encoding'], asIs.body.equals(file)]).toEqual([undefined, true]);
    const br = await rawGet(`/assets/${script}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.length * 2).toBeLessThan(file.length);
    expect(brotliDecompressSync(br.body).equals(file)).toBe(true);
    const gzip = await rawGet(`/assets/${script}`, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(file)).toBe(true);
  });
});
