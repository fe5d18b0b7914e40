// Scheduled jobs on node-cron. Each job runs on one server at a time: a Redis lock with an owner
// token and an expiry, renewed while the job runs; if the renewal fails (the lock lapsed and
// another server may have it) the job is told to abort and its transaction rolls back. Every
// run is recorded in job_runs; a failed run does not stop later ones; admins can trigger a run.
import type { Redis } from 'ioredis';
import cron from 'node-cron';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { leaderLock } from '../../stream/leader-lock.js';

export interface JobContext {
  /** true once this server lost the job's lock: stop and roll back */
  aborted(): boolean;
  log: Logger;
}

export interface JobDefinition {
  name: string;
  /** cron expression (node-cron, with seconds optional) */
  schedule: string;
  /** does the work in its own transaction(s); returns the rows it wrote */
  run(ctx: JobContext): Promise<number>;
  /** after a successful run (e.g. tell the screens) */
  after?: () => Promise<void> | void;
}

export interface JobRun {
  id: string;
  job: string;
  status: 'running' | 'succeeded' | 'failed' | 'abandoned';
  startedAt: string;
  finishedAt: string | null;
  rows: number | null;
  error: string | null;
  trigger: string;
}

const LOCK_TTL_MS = 30_000;
const RENEW_EVERY_MS = 10_000;

export async function migrateJobs(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS job_runs (
    id bigserial PRIMARY KEY, job text NOT NULL, status text NOT NULL, started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz, rows bigint, error text, trigger text NOT NULL, server text NOT NULL)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS job_runs_recent ON job_runs (job, started_at DESC)`);
}

export class JobBusyError extends Error {}

export function startJobRunner(deps: { redis: Redis; pool: Pool; keyPrefix: string; log: Logger; jobs: JobDefinition[]; timezone?: string; schedule?: boolean; lockTtlMs?: number; onFinished?: (run: JobRun, ms: number) => void }) {
  const { redis, pool, log } = deps;
  const server = `${process.pid}@${Math.random().toString(36).slice(2, 8)}`;
  const running = new Map<string, Promise<JobRun>>();

  function toRun(row: Record<string, unknown>): JobRun {
    const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);
    return {
      id: String(row.id), job: String(row.job), status: row.status as JobRun['status'], startedAt: iso(row.started_at)!,
      finishedAt: iso(row.finished_at), rows: row.rows === null ? null : Number(row.rows), error: (row.error as string | null) ?? null, trigger: String(row.trigger),
    };
  }

  async function execute(job: JobDefinition, trigger: string): Promise<JobRun> {
    const ttl = deps.lockTtlMs ?? LOCK_TTL_MS;
    const lock = leaderLock(redis, `${deps.keyPrefix}lock:job:${job.name}`, ttl);
    if (!(await lock.holdOrTake())) throw new JobBusyError(`job "${job.name}" is running on another server`);
    // runs left "running" by a server that died are not running any more: this one holds the lock
    await pool.query(`UPDATE job_runs SET status = 'abandoned', finished_at = now(), error = 'the server running it stopped' WHERE job = $1 AND status = 'running'`, [job.name]);
    const { rows } = await pool.query(`INSERT INTO job_runs (job, status, trigger, server) VALUES ($1, 'running', $2, $3) RETURNING *`, [job.name, trigger, server]);
    const id = String(rows[0].id);
    let lost = false;
    const renew = setInterval(() => {
      void lock.holdOrTake().then((held) => {
        if (!held && !lost) {
          lost = true;
          log.warn({ job: job.name }, 'job lock lost: aborting the run');
        }
      });
    }, Math.min(RENEW_EVERY_MS, ttl / 3));
    const started = Date.now();
    let run: JobRun;
    try {
      const written = await job.run({ aborted: () => lost, log });
      if (lost) throw new Error('the job lock was lost during the run; its writes were rolled back');
      const done = await pool.query(`UPDATE job_runs SET status = 'succeeded', finished_at = now(), rows = $2 WHERE id = $1 RETURNING *`, [id, written]);
      log.info({ job: job.name, rows: written, ms: Date.now() - started }, 'job done');
      await Promise.resolve(job.after?.()).catch((err) => log.warn({ job: job.name, err: (err as Error).message }, 'job follow-up failed'));
      run = toRun(done.rows[0]);
    } catch (err) {
      const message = (err as Error).message;
      log.warn({ job: job.name, err: message }, 'job failed; it runs again at its next time');
      const failed = await pool.query(`UPDATE job_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1 RETURNING *`, [id, message.slice(0, 2000)]);
      run = toRun(failed.rows[0]);
    } finally {
      clearInterval(renew);
      await lock.release();
    }
    deps.onFinished?.(run, Date.now() - started);
    return run;
  }

  /** Runs a job now unless it is running here or elsewhere. */
  function trigger(name: string, by: string): Promise<JobRun> {
    const job = deps.jobs.find((j) => j.name === name);
    if (!job) return Promise.reject(new Error(`no job "${name}"`));
    if (running.has(name)) return Promise.reject(new JobBusyError(`job "${name}" is already running`));
    const run = execute(job, by).finally(() => running.delete(name));
    running.set(name, run);
    return run;
  }

  const tasks = deps.schedule === false ? [] : deps.jobs.map((job) =>
    cron.schedule(job.schedule, () => {
      trigger(job.name, 'schedule').catch((err) => {
        if (!(err instanceof JobBusyError)) log.warn({ job: job.name, err: (err as Error).message }, 'job could not start');
      });
    }, { timezone: deps.timezone }));

  async function history(limit = 50): Promise<JobRun[]> {
    const { rows } = await pool.query(`SELECT * FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map(toRun);
  }

  return {
    jobs: deps.jobs,
    trigger,
    history,
    running: () => [...running.keys()],
    async stop() {
      for (const task of tasks) await task.stop();
      await Promise.allSettled([...running.values()]);
    },
  };
}

export type JobRunner = ReturnType<typeof startJobRunner>;
