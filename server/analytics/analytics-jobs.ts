// The scheduled analytics jobs (attribution, segments) on the job runner: scheduled unless told
// not to, always runnable by an admin; each tells the screens when it has new results.
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import { startJobRunner, type JobRun, type JobRunner } from '../jobs/runner.js';
import type { ScreenSocket } from '../push/socket.js';
import { attributionSettings, readAttribution, recentDays, runAttribution } from './attribution-job.js';
import { readSegments, runSegments, segmentSettings } from './segments-job.js';

export function startAnalyticsJobs(deps: { cfg: AppConfig; log: Logger; redis: Redis; pool: Pool; keyPrefix: string; schedule: boolean; screen: () => ScreenSocket | undefined; lockTtlMs?: number; onFinished?: (run: JobRun, ms: number) => void }): JobRunner {
  const { cfg, pool, screen } = deps;
  return startJobRunner({
    redis: deps.redis, pool, keyPrefix: deps.keyPrefix, log: deps.log, timezone: cfg.jobs.timezone, schedule: deps.schedule, lockTtlMs: deps.lockTtlMs, onFinished: deps.onFinished,
    jobs: [
      {
        name: 'attribution',
        schedule: cfg.jobs.jobs.attribution.schedule,
        run: (ctx) => runAttribution(pool, cfg, attributionSettings(cfg), ctx),
        after: async () => {
          const { from, to } = recentDays(cfg, cfg.jobs.attribution.days);
          await screen()?.publishPerRegions('attribution', (regions) => readAttribution(pool, cfg, from, to, undefined, regions));
        },
      },
      {
        name: 'segments',
        schedule: cfg.jobs.jobs.segments.schedule,
        run: (ctx) => runSegments(pool, cfg, segmentSettings(cfg), ctx),
        after: () => screen()?.publishPerRegions('segments', (regions) => readSegments(pool, regions)),
      },
    ],
  });
}
