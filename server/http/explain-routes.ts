// GET /api/v1/explain — "why did it move?": the segments that explain a figure's change against
// the same span yesterday (or a week ago, or the span before), for any role within its regions.
import express, { type Request, type Response } from 'express';
import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { BUCKET_MS, DAY, floorTo } from '../../stream/buckets.js';
import type { Storage } from '../../stream/db/migrate.js';
import { queryContextOf } from '../../stream/db/queries.js';
import { authorizeScope } from '../auth/access.js';
import type { Auth, Principal } from '../auth/auth.js';
import { effectiveRules } from '../../alerts/rule-store.js';
import { alertView, getVisibleAlert } from '../../alerts/store.js';
import { explainAlert } from '../explain/alert-explain.js';
import { baselineOf, explainMove } from '../explain/explain.js';
import { withNames } from '../explain/names.js';
import { describeParamError, explainParams } from './query-params.js';

/** the longest span explained in one answer (a month of hours per dimension combination) */
export const MAX_EXPLAIN_SPAN_MS = 31 * DAY;

/** What the routes that read stored history (explain, replay) need. */
export interface HistoryReadDeps {
  cfg: AppConfig;
  auth: Auth;
  storage: Storage;
  /** the statement-limited pool (a replica, when there is one): a caller chooses the span or the instant */
  readPool: Pool;
  /** the primary: an alert that just fired, a rule just edited */
  pool: Pool;
}

export function explainRouter(deps: HistoryReadDeps) {
  const { cfg, auth } = deps;
  const context = queryContextOf(cfg, deps.storage);
  const router = express.Router();

  router.get('/api/v1/explain', auth.requireAuth, async (req: Request, res: Response) => {
    const params = explainParams.safeParse(req.query);
    if (!params.success) return void res.status(400).json({ error: describeParamError(params.error) });
    const { metric, from: fromParam, to: toParam, vs, ...filter } = params.data;
    const decision = authorizeScope(res.locals.principal as Principal, filter, cfg);
    if (!decision.ok) return void res.status(decision.status).json({ error: decision.error });
    // whole 10 s buckets: the rollups' finest step
    const now = Date.now();
    const to = floorTo(Math.min(toParam ?? now, now), BUCKET_MS);
    const from = floorTo(fromParam ?? floorTo(now, DAY, cfg.dayOffsetMs), BUCKET_MS);
    if (from >= to) return void res.status(400).json({ error: 'from: must be before to (both whole 10 s buckets, to no later than now)' });
    if (to - from > MAX_EXPLAIN_SPAN_MS) return void res.status(400).json({ error: `to: the span is ${Math.ceil((to - from) / DAY)} days; at most ${MAX_EXPLAIN_SPAN_MS / DAY}` });
    const current = { from, to };
    res.json(withNames(await explainMove(deps.readPool, { metric, filter: decision.scope, regionsAllowed: decision.regionsAllowed, current, baseline: baselineOf(current, vs) }, context), cfg));
  });

  router.get('/api/v1/alerts/:id/explain', auth.requireAuth, async (req: Request, res: Response) => {
    const row = await getVisibleAlert(deps.pool, String(req.params.id), (res.locals.principal as Principal).regions);
    if (!row) return void res.status(404).json({ error: `no alert "${req.params.id}"` });
    const rule = (await effectiveRules(deps.pool, cfg)).find((r) => r.id === row.rule_id);
    if (!rule) return void res.status(404).json({ error: `the rule "${row.rule_id}" no longer exists` });
    const explained = await explainAlert(deps.readPool, cfg, context, rule, alertView(row));
    if (!explained) return void res.status(400).json({ error: `metric: ${rule.metric} is not a sum or ratio of the rollups; it cannot be split by segment` });
    const { answer, line } = explained;
    res.json({ ...withNames(answer, cfg), summary: line?.[0] ?? null, summaryEn: line?.[1] ?? null });
  });

  return router;
}
