// A PostgreSQL primary of the test's own with a real streaming replica (initdb, pg_basebackup -R),
// from the machine's PostgreSQL binaries, in a temporary folder; stopped and removed at close.
// The primary can be stopped and started again under a running app.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, appendFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './bench/processes.js';

export interface PgPair {
  /** the folder holding both data directories (primary/, replica/) */
  dir: string;
  primaryUrl: string;
  replicaUrl: string;
  stopPrimary(): void;
  startPrimary(): void;
  /** waits until the replica has replayed everything the primary has written */
  caughtUp(timeoutMs?: number): Promise<void>;
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  close(): void;
}

export function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : null;
}

export const replicaAvailable = () => binDir() !== null;

/** PostgreSQL refuses to run as root: as root, commands run as the postgres user. */
export function run(command: string): void {
  if (process.getuid?.() === 0) execFileSync('su', ['postgres', '-c', command], { stdio: 'pipe' });
  else execFileSync('sh', ['-c', command], { stdio: 'pipe' });
}

export async function startPrimaryWithReplica(): Promise<PgPair> {
  const bin = binDir();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'mw-pg-pair-'));
  chmodSync(dir, 0o777);
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const primary = join(dir, 'primary');
  const replica = join(dir, 'replica');
  const options = (port: number) => `-o '-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off'`;
  const startPrimary = () => run(`${bin}/pg_ctl -D ${primary} ${options(primaryPort)} -l ${dir}/primary.log start -w`);
  run(`${bin}/initdb -D ${primary} -A trust -U postgres`);
  appendFileSync(join(primary, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
  startPrimary();
  run(`${bin}/pg_basebackup -h 127.0.0.1 -p ${primaryPort} -U postgres -D ${replica} -R -X stream`);
  run(`${bin}/pg_ctl -D ${replica} ${options(replicaPort)} -l ${dir}/replica.log start -w`);
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`;
  const query = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    dir,
    primaryUrl,
    replicaUrl,
    stopPrimary: () => run(`${bin}/pg_ctl -D ${primary} stop -m fast -w`),
    startPrimary,
    async caughtUp(timeoutMs = 15_000) {
      const [{ lsn }] = await query(primaryUrl, 'SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [{ behind }] = await query(replicaUrl, `SELECT pg_wal_lsn_diff('${lsn}', pg_last_wal_replay_lsn()) > 0 AS behind`);
        if (!behind) return;
        if (Date.now() > deadline) throw new Error('the replica did not catch up');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    pauseReplay: async () => void (await query(replicaUrl, 'SELECT pg_wal_replay_pause()')),
    resumeReplay: async () => void (await query(replicaUrl, 'SELECT pg_wal_replay_resume()')),
    close() {
      for (const data of [replica, primary]) {
        try {
          run(`${bin}/pg_ctl -D ${data} stop -m immediate -w`);
        } catch {
          // already stopped
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
