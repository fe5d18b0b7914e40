import express, { type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { DAY, STEP_MS, floorTo, liveWindowRange } from '../../stream/buckets.js';
import { newUsersToday } from '../../stream/db/first-seen.js';
import { MAX_POINTS_PER_SERIES, MAX_SERIES_POINTS, alignedRange, groupsThatFit, queryContextOf, queryMetricFields, queryMetrics } from '../../stream/db/queries.js';
import { readHotWindows } from '../../stream/hot-read.js';
import type { Storage } from '../../stream/db/migrate.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import { scopeKeyOf } from '../../stream/scopes.js';
import { LIVE_WINDOWS, type GeoResponse, type LiveResponse } from '../../stream/types.js';
import { authorizeLiveScope, authorizeScope } from '../auth/access.js';
import { SessionEndedError, type Auth, type Principal } from '../auth/auth.js';
import { createLoginLimiter, type LoginLimits } from '../auth/login-limiter.js';
import type { AuditLog } from '../audit/audit.js';
import type { ServerMetrics } from './server-metrics.js';
import { describeParamError, geoParams, liveParams, loginBody, metricsParams } from './query-params.js';

export interface QueryDeps {
  cfg: AppConfig;
  redis: Redis;
  pool: Pool;
  keys: RedisKeys;
  auth: Auth;
  storage: Storage;
  /** for queries whose cost a caller chooses: its statements are cut off at a time limit */
  readPool: Pool;
  /** failed-login limits (default DEFAULT_LOGIN_LIMITS) */
  loginLimits?: LoginLimits;
  audit: AuditLog;
  metrics: Pick<ServerMetrics, 'logins'>;
}

const DEFAULT_RANGE_MS = 3_600_000;

export function queryRouter(deps: QueryDeps) {
  const { cfg, redis, keys, auth, storage, readPool } = deps;
  const moneyScale = 10 ** cfg.pipeline.events.valueDecimals;
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  const context = queryContextOf(cfg, storage);
  const loginLimiter = createLoginLimiter(deps.redis, deps.keys.prefix, deps.loginLimits);
  const principalOf = (res: Response) => res.locals.principal as Principal;

  router.post('/api/v1/auth/login', json, async (req: Request, res: Response) => {
    const body = loginBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: describeParamError(body.error) });
    const { username, password } = body.data;
    const ip = req.ip ?? 'unknown';
    const wait = await loginLimiter.retryAfter(username, ip);
    const actor = auth.knows(username) ? username : null;
    if (wait > 0) {
      deps.metrics.logins.inc({ result: 'blocked' });
      await deps.audit.record({ action: 'login.blocked', actor, ip });
      res.set('Retry-After', String(wait));
      return void res.status(429).json({ error: `too many failed logins; try again in ${wait} s` });
    }
    const session = await auth.login(username, password);
    if (!session) {
      await loginLimiter.failed(username, ip);
      deps.metrics.logins.inc({ result: 'failed' });
      await deps.audit.record({ action: 'login.failed', actor, ip });
      return void res.status(401).json({ error: 'wrong username or password' });
    }
    await loginLimiter.succeeded(username, ip);
    deps.metrics.logins.inc({ result: 'ok' });
    await deps.audit.record({ action: 'login', actor: username, ip, detail: { role: session.role } });
    res.json(session);
  });

  router.post('/api/v1/auth/refresh', auth.requireAuth, async (_req: Request, res: Response) => {
    try {
      res.json(await auth.refresh(principalOf(res)));
    } catch (err) {
      if (err instanceof SessionEndedError) return void res.status(401).json({ error: err.message });
      throw err;
    }
  });

  router.get('/api/v1/metrics', auth.requireAuth, async (req: Request, res: Response) => {
    const params = metricsParams.safeParse(req.query);
    if (!params.success) return void res.status(400).json({ error: describeParamError(params.error) });
    const { from: fromParam, to: toParam, step, groupBy, limit, fields, ...filter } = params.data;
    const to = toParam ?? Date.now();
    const from = fromParam ?? to - DEFAULT_RANGE_MS;
    if (from >= to) return void res.status(400).json({ error: 'from: must be before to' });
    const decision = authorizeScope(principalOf(res), filter, cfg);
    if (!decision.ok) return void res.status(decision.status).json({ error: decision.error });
    const aligned = alignedRange({ from, to, step }, cfg.dayOffsetMs);
    const points = (aligned.to - aligned.from) / STEP_MS[step];
    if (points > MAX_POINTS_PER_SERIES) {
      return void res.status(400).json({ error: `step: ${points} buckets of ${step} in that range; at most ${MAX_POINTS_PER_SERIES}, use a larger step` });
    }
    let groupLimit: number | undefined;
    if (groupBy) {
      // series × points is bounded: the groups that fit beside one "other" series (at least one,
      // since a series holds at most half of MAX_SERIES_POINTS)
      const fit = groupsThatFit(points);
      if (limit !== undefined && limit > fit) {
        return void res.status(400).json({ error: `limit: ${limit} groups (+1 for the rest) × ${points} points exceeds ${MAX_SERIES_POINTS} series × points; at most ${fit} at this step and range` });
      }
      groupLimit = limit ?? fit;
    }
    const query = { from, to, step, groupBy, groupLimit, filter: decision.scope, regionsAllowed: decision.regionsAllowed };
    res.json(await (fields ? queryMetricFields(readPool, query, fields, context) : queryMetrics(readPool, query, context)));
  });

  router.get('/api/v1/live', auth.requireAuth, async (req: Request, res: Response) => {
    const params = liveParams.safeParse(req.query);
    if (!params.success) return void res.status(400).json({ error: describeParamError(params.error) });
    const decision = authorizeLiveScope(principalOf(res), params.data, cfg);
    if (!decision.ok) return void res.status(decision.status).json({ error: decision.error });
    const scopeKey = scopeKeyOf(decision.scope)!;
    const now = Date.now();
    const ranges = LIVE_WINDOWS.map((window) => ({ scope: scopeKey, ...liveWindowRange(window, now) }));
    const todayFrom = floorTo(now, DAY, cfg.dayOffsetMs);
    ranges.push({ scope: scopeKey, from: todayFrom, to: ranges[0]!.to });
    const [values, newUsers] = await Promise.all([
      readHotWindows(redis, keys, ranges, moneyScale),
      newUsersToday(readPool, { todayFrom, to: now, filter: decision.scope }, context.places),
    ]);
    const withRange = (i: number) => ({ from: new Date(ranges[i]!.from).toISOString(), to: new Date(ranges[i]!.to).toISOString(), ...values[i]! });
    const windows = Object.fromEntries(LIVE_WINDOWS.map((window, i) => [window, withRange(i)])) as LiveResponse['windows'];
    const response: LiveResponse = { scope: decision.scope, asOf: new Date(now).toISOString(), windows, today: withRange(LIVE_WINDOWS.length), newUsers };
    res.json(response);
  });

  router.get('/api/v1/geo', auth.requireAuth, async (req: Request, res: Response) => {
    const params = geoParams.safeParse(req.query);
    if (!params.success) return void res.status(400).json({ error: describeParamError(params.error) });
    const principal = principalOf(res);
    const regions = cfg.regions.filter((r) => principal.regions === null || principal.regions.includes(r.id));
    const now = Date.now();
    const range = liveWindowRange(params.data.window, now);
    const scopes = regions.flatMap((r) => [`r:${r.id}`, ...r.stores.map((s) => `s:${s.id}`)]);
    const values = await readHotWindows(redis, keys, scopes.map((scope) => ({ scope, ...range })), moneyScale);
    let i = 0;
    const response: GeoResponse = {
      window: params.data.window,
      asOf: new Date(now).toISOString(),
      regions: regions.map((region) => ({
        id: region.id, name: region.name, nameEn: region.nameEn, provinces: region.provinces,
        live: values[i++]!,
        stores: region.stores.map((store) => ({
          id: store.id, name: store.name, nameEn: store.nameEn, city: store.city, cityEn: store.cityEn, province: store.province, lng: store.lng, lat: store.lat,
          live: values[i++]!,
        })),
      })),
    };
    res.json(response);
  });

  return router;
}
