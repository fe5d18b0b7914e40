// /api/v1/annotations — marketing moments on the time charts. Read by every signed-in role (a
// manager: its regions' and the nationwide ones); created by ops or admin (Bearer) or by a producer
// with an ingest key (X-Api-Key: the campaign system posts its launches); edited and deleted by
// ops or admin. Every change is audited and pushed to the walls that may see it.
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppConfig } from '../../config/load.js';
import { ANNOTATION_KINDS, type AnnotationChange } from '../../stream/types.js';
import type { Pool } from 'pg';
import { MAX_SPAN_MS, countCreatedSince, createAnnotation, deleteAnnotation, listAnnotations, updateAnnotation, type AnnotationFields } from '../annotations/annotations.js';
import type { AuditAction, AuditLog } from '../audit/audit.js';
import { authorizeScope } from '../auth/access.js';
import { requireRole, type Auth, type Principal } from '../auth/auth.js';
import type { IngestKeys } from '../ingest/ingest-keys.js';
import { describeParamError, id, time } from './query-params.js';

const DAY_MS = 86_400_000;
/** the longest range one read covers, and the most annotations it answers (the newest) */
export const MAX_ANNOTATION_RANGE_MS = 400 * DAY_MS;
export const MAX_ANNOTATIONS_READ = 1000;
/** annotations one person or producer may create in 24 hours */
export const MAX_ANNOTATIONS_PER_DAY = 1000;

const text = z.string().trim().min(1).max(280).regex(/^[^\u0000-\u001f\u007f]*$/, 'must be one line without control characters');

export const annotationBody = z.strictObject({
  startsAt: time,
  endsAt: time.optional(),
  text,
  kind: z.enum(ANNOTATION_KINDS).default('other'),
  region: id(64).optional(),
  store: id(64).optional(),
  channel: id(64).optional(),
  campaign: id(128).optional(),
});

export const annotationQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  region: id(64).optional(),
  store: id(64).optional(),
  channel: id(64).optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_ANNOTATIONS_READ)).optional(),
});

type Checked = { ok: true; fields: AnnotationFields } | { ok: false; error: string };

/** The body's scope checked against the configuration (a store brings its region), and its span. */
function checkFields(cfg: AppConfig, body: z.infer<typeof annotationBody>): Checked {
  const { startsAt, endsAt, store, channel } = body;
  let region = body.region;
  if (region !== undefined && !cfg.regionById.has(region)) return { ok: false, error: `region: unknown region "${region}"` };
  if (store !== undefined) {
    const known = cfg.storeById.get(store);
    if (!known) return { ok: false, error: `store: unknown store "${store}"` };
    if (region !== undefined && region !== known.region) return { ok: false, error: `store: "${store}" is in region "${known.region}", not "${region}"` };
    region = known.region;
  }
  if (channel !== undefined && !cfg.channelById.has(channel)) return { ok: false, error: `channel: unknown channel "${channel}"` };
  if (endsAt !== undefined && endsAt <= startsAt) return { ok: false, error: 'endsAt: must be after startsAt' };
  if (endsAt !== undefined && endsAt - startsAt > MAX_SPAN_MS) return { ok: false, error: 'endsAt: an annotation spans at most 90 days' };
  return {
    ok: true,
    fields: { startsAt, endsAt: endsAt ?? null, text: body.text, kind: body.kind, region: region ?? null, store: store ?? null, channel: channel ?? null, campaign: body.campaign ?? null },
  };
}

export function annotationRouter(deps: { cfg: AppConfig; pool: Pool; auth: Auth; audit: AuditLog; ingestKeys: Pick<IngestKeys, 'accepts'>; publishAnnotation?: (change: AnnotationChange) => void }) {
  const { cfg, pool, auth } = deps;
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  const editors = requireRole('ops', 'admin');
  const actorOf = (res: Response) => res.locals.actor as string;
  const audit = (req: Request, res: Response, action: AuditAction, target: string, detail?: Record<string, unknown>) =>
    deps.audit.record({ action, actor: actorOf(res), target, ip: req.ip, detail });

  /** ops or admin signed in, named in the audit by their username */
  const signedInEditor = (req: Request, res: Response, next: NextFunction) =>
    void auth.requireAuth(req, res, () => editors(req, res, () => {
      res.locals.actor = (res.locals.principal as Principal).username;
      next();
    }));
  /** the same, or a producer's ingest key (named in the audit by the key's hash) */
  const editorOrProducer = (req: Request, res: Response, next: NextFunction) => {
    const apiKey = req.get('x-api-key');
    if (apiKey === undefined) return signedInEditor(req, res, next);
    if (!deps.ingestKeys.accepts(apiKey)) return void res.status(401).json({ error: 'unknown API key' });
    res.locals.actor = `producer:${createHash('sha256').update(apiKey).digest('hex').slice(0, 10)}`;
    next();
  };

  router.get('/api/v1/annotations', auth.requireAuth, async (req, res) => {
    const query = annotationQuery.safeParse(req.query);
    if (!query.success) return void res.status(400).json({ error: describeParamError(query.error) });
    const { region, store, channel } = query.data;
    const decision = authorizeScope(res.locals.principal as Principal, { region, store, channel }, cfg);
    if (!decision.ok) return void res.status(decision.status).json({ error: decision.error });
    const now = Date.now();
    const to = query.data.to ?? now + 3_600_000;
    const from = query.data.from ?? to - 2 * DAY_MS;
    if (from >= to) return void res.status(400).json({ error: 'from: must be before to' });
    if (to - from > MAX_ANNOTATION_RANGE_MS) return void res.status(400).json({ error: 'to: a read covers at most 400 days' });
    const annotations = await listAnnotations(pool, {
      from, to, regions: (res.locals.principal as Principal).regions, region: store ? cfg.storeById.get(store)!.region : region, store, channel,
      limit: query.data.limit ?? MAX_ANNOTATIONS_READ,
    });
    res.json({ annotations });
  });

  router.post('/api/v1/annotations', editorOrProducer, json, async (req, res) => {
    const body = annotationBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: describeParamError(body.error) });
    const checked = checkFields(cfg, body.data);
    if (!checked.ok) return void res.status(400).json({ error: checked.error });
    if ((await countCreatedSince(pool, actorOf(res), Date.now() - DAY_MS)) >= MAX_ANNOTATIONS_PER_DAY) {
      return void res.status(429).set('Retry-After', '3600').json({ error: `at most ${MAX_ANNOTATIONS_PER_DAY} annotations in 24 hours from one author` });
    }
    const annotation = await createAnnotation(pool, checked.fields, actorOf(res));
    await audit(req, res, 'annotation.create', annotation.id, { text: annotation.text, startsAt: annotation.startsAt, region: annotation.region, store: annotation.store });
    deps.publishAnnotation?.({ annotation });
    res.status(201).json({ annotation });
  });

  router.put('/api/v1/annotations/:id', signedInEditor, json, async (req, res) => {
    const body = annotationBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: describeParamError(body.error) });
    const checked = checkFields(cfg, body.data);
    if (!checked.ok) return void res.status(400).json({ error: checked.error });
    const annotation = await updateAnnotation(pool, String(req.params.id), checked.fields);
    if (!annotation) return void res.status(404).json({ error: `no annotation "${req.params.id}"` });
    await audit(req, res, 'annotation.update', annotation.id, { text: annotation.text, startsAt: annotation.startsAt });
    deps.publishAnnotation?.({ annotation });
    res.json({ annotation });
  });

  router.delete('/api/v1/annotations/:id', signedInEditor, async (req, res) => {
    const annotation = await deleteAnnotation(pool, String(req.params.id));
    if (!annotation) return void res.status(404).json({ error: `no annotation "${req.params.id}"` });
    await audit(req, res, 'annotation.delete', annotation.id, { text: annotation.text });
    deps.publishAnnotation?.({ deleted: annotation.id, region: annotation.region });
    res.json({ deleted: annotation.id });
  });

  return router;
}
