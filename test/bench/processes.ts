import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreSettings } from '../../stream/connect.js';
import { PROCESSOR_ENV } from '../../server/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export function storeEnv(stores: StoreSettings): NodeJS.ProcessEnv {
  return { REDIS_URL: stores.redisUrl, DATABASE_URL: stores.databaseUrl, REDIS_PREFIX: stores.redisPrefix, DB_SCHEMA: stores.dbSchema };
}

/** Builds the production bundles (dist/node/) of the sources as they are now, once per bench run. */
export function buildBundles(): void {
  execFileSync('npm', ['run', '--silent', 'build:node'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** BENCH_PROFILE_DIR: every process the bench starts writes a V8 CPU profile there when it stops (to find where a figure's time goes). */
const profileFlags = () => (process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []);

/**
 * BENCH_GC_DIR: every processor the bench starts logs its garbage collections there
 * (`--trace-gc`, gc-<name>.log) and writes a heap snapshot there on SIGUSR2.
 */
function gcTrace(entry: 'server' | 'stream', name: string | undefined): { flags: string[]; stdout: number | 'ignore' } {
  const dir = process.env.BENCH_GC_DIR;
  if (!dir || entry !== 'stream') return { flags: [], stdout: 'ignore' };
  mkdirSync(dir, { recursive: true });
  return { flags: ['--trace-gc', '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`], stdout: openSync(join(dir, `gc-${name ?? process.pid}.log`), 'w') };
}

/** Runs the server or a stream processor as production does (`npm start`): its bundle, plain JavaScript. */
export function spawnApp(entry: 'server' | 'stream', env: NodeJS.ProcessEnv, nodeFlags: string[] = []): ChildProcess {
  const gc = gcTrace(entry, env.PROCESSOR_NAME);
  const child = spawn(process.execPath, [...nodeFlags, ...gc.flags, ...profileFlags(), `${ROOT}dist/node/${entry}/main.js`], {
    cwd: ROOT, env: { ...(entry === 'stream' && PROCESSOR_ENV), ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', gc.stdout, 'inherit'],
  });
  if (typeof gc.stdout === 'number') closeSync(gc.stdout); // the child holds its own copy
  return child;
}

export async function waitReady(url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready within ${ms} ms`);
}

export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  });
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ

/** CPU seconds (user + system) a process has used so far, from /proc; 0 once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The pids of every running process whose command name is `name` (e.g. postgres, redis-server). */
export function pidsNamed(name: string): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

export type CpuRoles = Record<string, () => number[]>;

/** CPU seconds per role between start() and stop(), from /proc (a process that ended in between is not counted); 'load generator' is this process. */
export function cpuMeter(roles: CpuRoles) {
  const read = () => Object.fromEntries(Object.entries(roles).map(([role, pids]) => [role, new Map(pids().map((pid) => [pid, cpuSecondsOf(pid)]))]));
  let before = read();
  let selfBefore = process.cpuUsage();
  return {
    start() {
      before = read();
      selfBefore = process.cpuUsage();
    },
    stop(): Record<string, number> {
      const after = read();
      const self = process.cpuUsage(selfBefore);
      const out: Record<string, number> = { 'load generator': (self.user + self.system) / 1e6 };
      for (const [role, pids] of Object.entries(after)) {
        let sum = 0;
        // a process started in between (a new database connection) counts whole
        for (const [pid, seconds] of pids) sum += seconds - (before[role]!.get(pid) ?? 0);
        out[role] = sum;
      }
      return out;
    },
  };
}
