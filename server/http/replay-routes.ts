// GET /api/v1/replay?at=…&region=|store=[&channel=] — "what did the wall show at 14:05?": the
// view's frame as of that instant from the rollups, the alerts active then, and the segments and
// attribution of the runs before it. Same scope rules as the live wall: a manager its regions.
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { readAttribution, recentDays } from '../analytics/attribution-job.js';
import { readSegments } from '../analytics/segments-job.js';
import { authorizeLiveScope, regionsToRead } from '../auth/access.js';
import type { Principal } from '../auth/auth.js';
import { queryContextOf } from '../../stream/db/queries.js';
import { planView } from '../push/view-plan.js';
import { alertsAt } from '../replay/alerts-at.js';
import { replayFrame } from '../replay/replay-frame.js';
import type { HistoryReadDeps } from './explain-routes.js';
import { describeParamError, id, time } from './query-params.js';

export const replayParams = z.strictObject({ at: time, region: id(64).optional(), store: id(64).optional(), channel: id(64).optional() });

export function replayRouter(deps: HistoryReadDeps) {
  const { cfg, auth } = deps;
  const context = queryContextOf(cfg, deps.storage);
  const router = express.Router();
  // as far back as the hourly rollup reaches (older instants have nothing to rebuild)
  const reach = cfg.pipeline.retention.rollup1h;

  router.get('/api/v1/replay', auth.requireAuth, async (req: Request, res: Response) => {
    const params = replayParams.safeParse(req.query);
    if (!params.success) return void res.status(400).json({ error: describeParamError(params.error) });
    const { at, ...scope } = params.data;
    const now = Date.now();
    if (at > now) return void res.status(400).json({ error: 'at: is in the future; replay shows what has happened' });
    if (at < now - reach) return void res.status(400).json({ error: `at: replay reaches back ${Math.floor(reach / 86_400_000)} days (the hourly rollup's retention)` });
    const principal = res.locals.principal as Principal;
    const decision = authorizeLiveScope(principal, scope, cfg);
    if (!decision.ok) return void res.status(decision.status).json({ error: decision.error });
    const plan = planView(cfg, decision.scope);
    const storeRegion = plan.scope.store ? cfg.storeById.get(plan.scope.store)?.region : undefined;
    const read = regionsToRead(principal, plan.scope.region ?? storeRegion, cfg);
    const regions = read.ok ? read.regions : principal.regions;
    const days = recentDays(cfg, cfg.jobs.attribution.days, undefined, at);
    const [frame, alerts, segments, attribution] = await Promise.all([
      replayFrame(deps.readPool, cfg, plan, at, context),
      alertsAt(deps.readPool, at, principal.regions),
      readSegments(deps.readPool, regions, at),
      readAttribution(deps.readPool, cfg, days.from, days.to, undefined, regions),
    ]);
    res.json({ at: new Date(at).toISOString(), frame, alerts, segments, attribution });
  });

  return router;
}
