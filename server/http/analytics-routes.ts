// Jobs and analytics over HTTP: GET /api/v1/jobs (runs), POST /api/v1/jobs/:name/run (admin),
// GET /api/v1/attribution?model=&from=&to=&region= (the whole business, or a region's customers' orders; a manager its regions'),
// GET /api/v1/segments?region= (a manager sees its regions only).
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { AppConfig } from '../../config/load.js';
import { MODELS } from '../analytics/attribution/index.js';
import { readAttribution, recentDays } from '../analytics/attribution-job.js';
import { readSegments } from '../analytics/segments-job.js';
import { regionsToRead } from '../auth/access.js';
import { requireRole, type Auth, type Principal } from '../auth/auth.js';
import { JobBusyError, type JobRunner } from '../jobs/runner.js';
import { describeParamError } from './query-params.js';
import { parseIsoTime } from '../../stream/time-text.js';
import type { AuditLog } from '../audit/audit.js';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-11-23').refine((text) => parseIsoTime(text) !== null, 'no such day');
export const attributionQuery = z.strictObject({ model: z.enum(MODELS).optional(), from: date.optional(), to: date.optional(), region: z.string().min(1).max(64).optional() });
export const segmentsQuery = z.strictObject({ region: z.string().min(1).optional() });

export function analyticsRouter(deps: { cfg: AppConfig; pool: Pool; auth: Auth; audit: AuditLog; jobs?: JobRunner }) {
  const { cfg, pool, auth } = deps;
  const router = express.Router();
  const principalOf = (res: Response) => res.locals.principal as Principal;
  const nationwide = (_req: Request, res: Response, next: NextFunction) => {
    if (principalOf(res).regions !== null) return void res.status(403).json({ error: 'nationwide analytics are not for a regional role' });
    next();
  };

  router.get('/api/v1/jobs', auth.requireAuth, nationwide, async (_req, res) => {
    if (!deps.jobs) return void res.json({ jobs: [], runs: [] });
    const runs = await deps.jobs.history(50);
    res.json({
      jobs: deps.jobs.jobs.map((job) => ({ name: job.name, schedule: job.schedule, running: deps.jobs!.running().includes(job.name), lastRun: runs.find((r) => r.job === job.name) ?? null })),
      runs,
    });
  });

  router.post('/api/v1/jobs/:name/run', auth.requireAuth, requireRole('admin'), async (req, res) => {
    const name = String(req.params.name);
    if (!deps.jobs?.jobs.some((j) => j.name === name)) return void res.status(404).json({ error: `no job "${name}"` });
    try {
      await deps.audit.record({ action: 'job.run', actor: principalOf(res).username, target: name, ip: req.ip });
      const run = await deps.jobs.trigger(name, `admin:${principalOf(res).username}`);
      res.status(run.status === 'succeeded' ? 200 : 500).json({ run });
    } catch (err) {
      if (err instanceof JobBusyError) return void res.status(409).json({ error: err.message });
      throw err;
    }
  });

  // the whole business, or one region's customers' orders (?region=); a manager gets its regions'
  router.get('/api/v1/attribution', auth.requireAuth, async (req, res) => {
    const query = attributionQuery.safeParse(req.query);
    if (!query.success) return void res.status(400).json({ error: describeParamError(query.error) });
    const read = regionsToRead(principalOf(res), query.data.region, cfg);
    if (!read.ok) return void res.status(read.status).json({ error: read.error });
    const { regions } = read;
    const recent = recentDays(cfg, cfg.jobs.attribution.days, query.data.to);
    const { to } = recent;
    const from = query.data.from ?? recent.from;
    if (from > to) return void res.status(400).json({ error: 'from: must not be after to' });
    res.json(await readAttribution(pool, cfg, from, to, query.data.model, regions));
  });

  router.get('/api/v1/segments', auth.requireAuth, async (req, res) => {
    const query = segmentsQuery.safeParse(req.query);
    if (!query.success) return void res.status(400).json({ error: describeParamError(query.error) });
    const read = regionsToRead(principalOf(res), query.data.region, cfg);
    if (!read.ok) return void res.status(read.status).json({ error: read.error });
    const { regions } = read;
    res.json(await readSegments(pool, regions));
  });

  return router;
}
