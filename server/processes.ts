import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { StoreSettings } from '../stream/connect.js';

/** Run from the production bundle (dist/node/server/main.js, `npm start`), the processor is the
 *  bundle beside it, plain JavaScript; run from the sources (tests, `tsx server/main.ts`), it goes
 *  through tsx too — whose loader thread and transpiled modules cost a processor ~40 MB more. */
const PROCESSOR_ARGS = import.meta.url.endsWith('.js')
  ? [fileURLToPath(new URL('../stream/main.js', import.meta.url))]
  : ['--import', 'tsx', fileURLToPath(new URL('../stream/main.ts', import.meta.url))];

/** V8 collects lazily up to its default heap size; a batch's garbage is short-lived, so a tighter
 *  heap keeps a processor's RSS near its working set (about 90 MB at rest) instead of 300+ MB.
 *  A processor shares its cores with PostgreSQL, Redis and the server, so V8's parallel GC helper
 *  threads only contend for them: collecting on the main thread costs ~10 % less processor CPU per
 *  event (ingest bench, six runs each way: 29–33 against 31–37 ms per 1 000 events). */
export const PROCESSOR_NODE_FLAGS = ['--max-old-space-size=200', '--single-threaded-gc'];

/** glibc keeps a malloc arena per thread that allocates (V8's GC helpers, libuv's pool) and rarely
 *  gives their freed pages back; two arenas keep a processor's RSS 12–15 MB lower at the same CPU.
 *  The environment's own value wins. */
export const PROCESSOR_ENV = { MALLOC_ARENA_MAX: '2' };

/** Runs N stream processors as child processes, restarting any that dies, until stopped. */
export function superviseProcessors(count: number, stores: StoreSettings, log: Logger) {
  const children = new Map<number, ChildProcess>();
  let stopping = false;

  const launch = (slot: number) => {
    const child = spawn(process.execPath, [...PROCESSOR_NODE_FLAGS, ...PROCESSOR_ARGS], {
      env: {
        ...PROCESSOR_ENV,
        ...process.env,
        REDIS_URL: stores.redisUrl,
        DATABASE_URL: stores.databaseUrl,
        REDIS_PREFIX: stores.redisPrefix,
        DB_SCHEMA: stores.dbSchema,
        // a stable name lets a restarted processor take back its own pending entries at once
        PROCESSOR_NAME: `${hostname()}-p${slot}`,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.set(slot, child);
    child.on('exit', (code, signal) => {
      children.delete(slot);
      if (stopping) return;
      log.warn({ slot, code, signal }, 'stream processor exited; restarting it');
      setTimeout(() => launch(slot), 1000);
    });
  };
  for (let slot = 1; slot <= count; slot++) launch(slot);

  return {
    async stop() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
