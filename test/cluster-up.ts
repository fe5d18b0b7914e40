// `npm run cluster:up` / `npm run cluster:down`: for developers, the engines the cluster tests use,
// left running — a 3-master + 3-replica Redis Cluster (appendfsync always) and a PostgreSQL primary
// with a streaming replica — and the environment that points the app at them.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binDir, run, startPrimaryWithReplica } from './pg-replica.js';
import { startRedisCluster } from './redis-cluster.js';

const STATE = join('.data', 'cluster.json');

interface State {
  redis: { dir: string; pids: number[] };
  postgres: { dir: string };
  env: Record<string, string>;
}

async function up(): Promise<void> {
  if (existsSync(STATE)) throw new Error(`already up (${STATE}); npm run cluster:down first`);
  const redis = await startRedisCluster({ detached: true });
  const postgres = await startPrimaryWithReplica();
  const env = { REDIS_URL: redis.url, STREAM_PARTITIONS: '4', INGEST_REPLICAS_TO_WAIT: '1', DATABASE_URL: postgres.primaryUrl, DATABASE_READ_URL: postgres.replicaUrl };
  const state: State = { redis: { dir: redis.dir, pids: redis.nodes.map((n) => n.process!.pid!) }, postgres: { dir: postgres.dir }, env };
  mkdirSync('.data', { recursive: true });
  writeFileSync(STATE, JSON.stringify(state, null, 2));
  process.stdout.write(`Redis Cluster (3 masters, 3 replicas) and PostgreSQL (primary + streaming replica) are up.\nStart the app against them with:\n\n${Object.entries(env).map(([k, v]) => `export ${k}='${v}'`).join('\n')}\n\nStop them with: npm run cluster:down\n`);
  process.exit(0);
}

function down(): void {
  if (!existsSync(STATE)) return void process.stdout.write('nothing is up\n');
  const state = JSON.parse(readFileSync(STATE, 'utf8')) as State;
  for (const pid of state.redis.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const bin = binDir();
  for (const data of ['replica', 'primary']) {
    try {
      if (bin) run(`${bin}/pg_ctl -D ${join(state.postgres.dir, data)} stop -m fast -w`);
    } catch {
      // already stopped
    }
  }
  rmSync(state.redis.dir, { recursive: true, force: true });
  rmSync(state.postgres.dir, { recursive: true, force: true });
  rmSync(STATE);
  process.stdout.write('stopped and removed\n');
}

if (process.argv[2] === 'down') down();
else await up();
