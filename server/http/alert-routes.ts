// The alerts API (CONTRACT §4): list and acknowledge alerts, silences, rules and their preview
// over stored history. ops reads; oncall also acks and silences; admin also previews rules
// (and everything oncall does); a manager reads only its regions' alerts.
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { AlertRule } from '../../config/alert-schema.js';
import type { AppConfig } from '../../config/load.js';
import { parseDurationMs } from '../../config/duration.js';
import { PreviewError, previewRule } from '../../alerts/preview.js';
import { ruleInstances } from '../../alerts/instances.js';
import { MAX_RULES, RuleError, deleteRule, durationText, effectiveRules, ruleDocument, saveRule, saveRuleWithinLimit, validateRule } from '../../alerts/rule-store.js';
import { parseIn, type ErrorLanguage } from '../../config/localized-parse.js';
import { MAX_ACTIVE_SILENCES, matcherSchema, regexError, silencing } from '../../alerts/silences.js';
import { acknowledge, alertView, createSilence, expireSilence, getAlert, getVisibleAlert, listAlerts, listSilences, notificationsOf } from '../../alerts/store.js';
import { OPEN_ALERT_STATES_SQL, type ScreenAlert } from '../../stream/types.js';
import { requireRole, type Auth, type Principal } from '../auth/auth.js';
import { describeParamError, time as textTime } from './query-params.js';
import type { AuditAction, AuditLog } from '../audit/audit.js';

export interface AlertRouteDeps {
  cfg: AppConfig;
  pool: Pool;
  /** for previews: statements stopped at a time limit */
  readPool: Pool;
  auth: Auth;
  publishAlert?: (alert: ScreenAlert) => void;
  audit: AuditLog;
}

/** in a JSON body a time may also be a number (read as its text, so a bad one is named as a bad text is) */
const time = z.preprocess((value) => (typeof value === 'number' ? String(value) : value), textTime);
export const listQuery = z.strictObject({
  state: z.enum(['pending', 'firing', 'recovering', 'resolved', 'active', 'all']).default('all'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export const matchers = z.array(matcherSchema).min(1).max(20).superRefine((list, ctx) => {
  for (const [i, m] of list.entries()) {
    if (!m.isRegex) continue;
    const error = regexError(m.value);
    if (error) {
      ctx.addIssue({
        code: 'custom', path: [i, 'value'],
        message: `not a valid RE2 regular expression (${error}); RE2 has no backreferences or lookaround`,
        params: { zh: `不是有效的 RE2 正则表达式（${error}）；RE2 不支持反向引用和环视` },
      });
    }
  }
});
export const silenceBody = z
  .strictObject({
    matchers,
    startsAt: time.optional(),
    endsAt: time.optional(),
    /** instead of endsAt: "2h" */
    duration: z.string().optional(),
    comment: z.string().min(1).max(500),
  })
  .superRefine((body, ctx) => {
    if (Boolean(body.endsAt) === Boolean(body.duration)) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'give exactly one of endsAt or duration', params: { zh: '结束时间（endsAt）和时长（duration）须给且只给一个' } });
    if (body.duration !== undefined && !parseDurationMs(body.duration)) ctx.addIssue({ code: 'custom', path: ['duration'], message: `"${body.duration}" is not a duration like 30m or 2h`, params: { zh: `"${body.duration}" 不是时长，应写成 30m 或 2h 这样` } });
  });
export const previewBody = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  /** also answer the drawn series of the instances shown */
  series: z.boolean().optional(),
  /** only this instance (a channel, region, store or campaign id; '' for a rule without groupBy) */
  instance: z.string().max(200).optional(),
});

const MAX_SILENCE_MS = 30 * 86_400_000;

/** the console's errors in Chinese when the caller prefers it (the console sends its language), else English */
const errorLanguage = (req: Request): ErrorLanguage => (req.acceptsLanguages('en', 'zh') === 'zh' ? 'zh' : 'en');
/** an error the console shows as it is, in the caller's language */
const refuse = (res: Response, status: number, en: string, zh: string) => void res.status(status).json({ error: errorLanguage(res.req) === 'zh' ? zh : en });
const noSuchRule = (res: Response, id: string) => refuse(res, 404, `no rule "${id}"`, `没有规则 "${id}"`);

/**
 * What a rule's filter and notify may name, for the console's form: the channels, the caller's
 * regions with their stores (names in both languages), the notifiers by id and kind (their
 * addresses and secrets stay on the server).
 */
export function ruleChoices(cfg: AppConfig, regions: string[] | null) {
  const named = ({ id, name, nameEn }: { id: string; name: string; nameEn: string }) => ({ id, name, nameEn });
  return {
    channels: cfg.channels.map(named),
    regions: cfg.regions.filter((r) => regions === null || regions.includes(r.id)).map((r) => ({ ...named(r), stores: r.stores.map(named) })),
    notifiers: cfg.notifiers.map(({ id, kind }) => ({ id, kind })),
  };
}

export function alertRouter(deps: AlertRouteDeps) {
  const { cfg, pool, auth } = deps;
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  const principalOf = (res: Response) => res.locals.principal as Principal;
  const audit = (req: Request, res: Response, action: AuditAction, target: string, detail?: Record<string, unknown>) =>
    deps.audit.record({ action, actor: principalOf(res).username, target, ip: req.ip, detail });
  const readers = requireRole('ops', 'oncall', 'admin');
  const responders = requireRole('oncall', 'admin');

  router.get('/api/v1/alerts', auth.requireAuth, async (req, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) return void res.status(400).json({ error: describeParamError(query.error) });
    res.json({ alerts: await listAlerts(pool, { ...query.data, regions: principalOf(res).regions }) });
  });

  router.get('/api/v1/alerts/:id', auth.requireAuth, async (req, res) => {
    const row = await getVisibleAlert(pool, String(req.params.id), principalOf(res).regions);
    if (!row) return void res.status(404).json({ error: `no alert "${req.params.id}"` });
    // how long its rule keeps a recovered alert open (the page says when it will resolve); null: the rule is gone
    const rule = (await effectiveRules(pool, cfg)).find((r) => r.id === row.rule_id);
    res.json({ alert: alertView(row), keepFiringFor: rule ? durationText(rule.keepFiringFor) : null, notifications: await notificationsOf(pool, row.id) });
  });

  router.post('/api/v1/alerts/:id/ack', auth.requireAuth, responders, async (req, res) => {
    const id = String(req.params.id);
    const acked = await acknowledge(pool, id, principalOf(res).username);
    if (!acked) {
      const row = await getAlert(pool, id);
      if (!row) return void res.status(404).json({ error: `no alert "${id}"` });
      if (row.acked_by) return refuse(res, 409, `already acknowledged by ${row.acked_by}`, `已由 ${row.acked_by} 确认`);
      return refuse(res, 409, `the alert is ${row.state}; only active alerts are acknowledged`, `告警已结束（${row.state}），只能确认活动中的告警`);
    }
    const view = alertView(acked);
    await audit(req, res, 'alert.ack', id, { rule: acked.rule_id });
    deps.publishAlert?.(view);
    res.json({ alert: view });
  });

  router.get('/api/v1/silences', auth.requireAuth, readers, async (req, res) => {
    res.json({ silences: await listSilences(pool, req.query.expired === '1' || req.query.expired === 'true') });
  });

  router.post('/api/v1/silences', auth.requireAuth, responders, json, async (req, res) => {
    const body = parseIn(silenceBody, req.body, errorLanguage(req), 'body');
    if (!body.success) return void res.status(400).json({ error: body.error });
    const startsAt = body.data.startsAt ?? Date.now();
    const endsAt = body.data.endsAt ?? startsAt + parseDurationMs(body.data.duration!)!;
    if (endsAt <= startsAt) return refuse(res, 400, 'endsAt: must be after startsAt', 'endsAt: 结束时间须晚于开始时间');
    if (endsAt - startsAt > MAX_SILENCE_MS) return refuse(res, 400, 'endsAt: a silence lasts at most 30 days', 'endsAt: 静默最长 30 天');
    if ((await listSilences(pool, false)).length >= MAX_ACTIVE_SILENCES) {
      return refuse(res, 409, `there are ${MAX_ACTIVE_SILENCES} active silences already, the most there may be; expire some first`, `已有 ${MAX_ACTIVE_SILENCES} 条生效中的静默，已达上限；请先结束一些`);
    }
    const silence = { id: randomUUID(), matchers: body.data.matchers, startsAt, endsAt, createdBy: principalOf(res).username, comment: body.data.comment };
    await createSilence(pool, silence);
    await audit(req, res, 'silence.create', silence.id, { matchers: silence.matchers, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString(), comment: silence.comment });
    res.status(201).json({ silence });
  });

  // before a silence is saved: the active alerts it would silence now
  router.post('/api/v1/silences/preview', auth.requireAuth, responders, json, async (req, res) => {
    const body = parseIn(z.strictObject({ matchers }), req.body ?? {}, errorLanguage(req), 'body');
    if (!body.success) return void res.status(400).json({ error: body.error });
    const now = Date.now();
    const probe = [{ id: 'preview', matchers: body.data.matchers, startsAt: now, endsAt: now + 1, createdBy: '', comment: '' }];
    const active = await listAlerts(pool, { state: 'active', limit: 1000, regions: null });
    res.json({ alerts: active.filter((alert) => silencing(probe, alert.labels, now)) });
  });

  router.delete('/api/v1/silences/:id', auth.requireAuth, responders, async (req, res) => {
    if (!(await expireSilence(pool, String(req.params.id)))) return void res.status(404).json({ error: `no active silence "${req.params.id}"` });
    await audit(req, res, 'silence.expire', String(req.params.id));
    res.json({ expired: req.params.id });
  });

  // a manager sees the rules whose alerts can belong to its regions, counted over its regions only
  router.get('/api/v1/alert-rules', auth.requireAuth, async (_req, res) => {
    const regions = principalOf(res).regions;
    const { rows } = await pool.query<{ rule_id: string; state: string; n: string }>(
      `SELECT rule_id, state, count(*)::text AS n FROM alerts
       WHERE state IN (${OPEN_ALERT_STATES_SQL}) AND ($1::text[] IS NULL OR region = ANY($1::text[])) GROUP BY 1, 2`,
      [regions],
    );
    const counts = (id: string, state: string) => Number(rows.find((r) => r.rule_id === id && r.state === state)?.n ?? 0);
    const rules = (await effectiveRules(pool, cfg))
      .filter((rule) => regions === null || ruleInstances(rule, cfg, ['*']).some((i) => i.region !== undefined && regions.includes(i.region)));
    res.json({
      evaluation: {
        intervalSeconds: cfg.alerts.evaluation.interval / 1000, settleSeconds: cfg.alerts.evaluation.settle / 1000,
        // what a rule without its own repeatInterval reminds at (the console's form shows it)
        repeatInterval: durationText(cfg.alerts.evaluation.repeatInterval),
      },
      rules: rules.map((rule) => ({ ...rule, pending: counts(rule.id, 'pending'), firing: counts(rule.id, 'firing'), recovering: counts(rule.id, 'recovering'), document: ruleDocument(rule) })),
      choices: ruleChoices(cfg, regions),
    });
  });

  // a rule not yet in alerts.yaml, tried on history: the same validation as the file's rules
  router.post('/api/v1/alert-rules/preview', auth.requireAuth, requireRole('admin'), json, async (req, res) => {
    const { rule: ruleBody, ...range } = (req.body ?? {}) as { rule?: unknown };
    let rule: AlertRule;
    try {
      rule = validateRule(ruleBody, cfg, errorLanguage(req));
    } catch (err) {
      if (err instanceof RuleError) return void res.status(400).json({ error: `rule.${err.message}` });
      throw err;
    }
    await runPreview(rule, range, res);
  });

  // admin: create or replace a rule (over the file's rule of that id); it is evaluated from the next cycle
  router.put('/api/v1/alert-rules/:id', auth.requireAuth, requireRole('admin'), json, async (req, res) => {
    const id = String(req.params.id);
    const body = { ...((req.body ?? {}) as Record<string, unknown>) };
    if (body.id !== undefined && body.id !== id) return void res.status(400).json({ error: `id: "${String(body.id)}" differs from the address ("${id}")` });
    body.id = id;
    try {
      validateRule(body, cfg, errorLanguage(req));
    } catch (err) {
      if (err instanceof RuleError) return void res.status(400).json({ error: err.message });
      throw err;
    }
    if ((await saveRuleWithinLimit(pool, cfg, id, body, principalOf(res).username)) === 'full') {
      return void res.status(409).json({ error: `rules: at most ${MAX_RULES} (the file's and the API's); delete one or change an existing one` });
    }
    await audit(req, res, 'rule.update', id, { rule: body });
    res.json({ rule: (await effectiveRules(pool, cfg)).find((r) => r.id === id) });
  });

  // admin: switch a rule off (its alerts resolve at the next cycle) or on again, keeping everything else
  router.patch('/api/v1/alert-rules/:id', auth.requireAuth, requireRole('admin'), json, async (req, res) => {
    const id = String(req.params.id);
    const body = z.strictObject({ enabled: z.boolean() }).safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: describeParamError(body.error) });
    const rule = (await effectiveRules(pool, cfg)).find((r) => r.id === id);
    if (!rule) return noSuchRule(res, id);
    const document = { ...ruleDocument(rule), enabled: body.data.enabled };
    await saveRule(pool, id, document, principalOf(res).username);
    await audit(req, res, body.data.enabled ? 'rule.enable' : 'rule.disable', id);
    res.json({ rule: (await effectiveRules(pool, cfg)).find((r) => r.id === id) });
  });

  router.delete('/api/v1/alert-rules/:id', auth.requireAuth, requireRole('admin'), async (req, res) => {
    const id = String(req.params.id);
    if (!(await effectiveRules(pool, cfg)).some((r) => r.id === id)) return noSuchRule(res, id);
    await deleteRule(pool, id, cfg.alerts.rules.some((r) => r.id === id), principalOf(res).username);
    await audit(req, res, 'rule.delete', id);
    res.status(204).end();
  });

  router.post('/api/v1/alert-rules/:id/preview', auth.requireAuth, readers, json, async (req, res) => {
    const rule = (await effectiveRules(pool, cfg)).find((r) => r.id === req.params.id);
    if (!rule) return noSuchRule(res, String(req.params.id));
    await runPreview(rule, req.body ?? {}, res);
  });

  // the alert's series around it, drawn on its page: its rule's detector over its instance's windows,
  // with the baseline the detector compared with; whoever may see the alert may see this
  router.get('/api/v1/alerts/:id/series', auth.requireAuth, async (req, res) => {
    const row = await getVisibleAlert(pool, String(req.params.id), principalOf(res).regions);
    if (!row) return void res.status(404).json({ error: `no alert "${req.params.id}"` });
    const rule = (await effectiveRules(pool, cfg)).find((r) => r.id === row.rule_id);
    if (!rule) return refuse(res, 404, `the rule "${row.rule_id}" no longer exists`, `规则 "${row.rule_id}" 已不存在`);
    const around = Math.max(3_600_000, 60 * rule.window);
    const to = Math.min(Date.now(), (row.resolved_at?.getTime() ?? Date.now()) + around / 2);
    // an alert active for weeks on a short window: the preview draws its latest part, as much as it may judge
    const from = row.active_since.getTime() - around;
    await runPreview(rule, { from, to: Math.max(to, from + rule.window), series: true, instance: row.instance }, res, true);
  });

  /** `aroundAlert`: the server chose the range (an alert's page), so it is laid back from its end and shortened to what one preview may judge */
  async function runPreview(rule: AlertRule, range: unknown, res: Response, aroundAlert = false) {
    const body = parseIn(previewBody, range, errorLanguage(res.req), 'body');
    if (!body.success) return void res.status(400).json({ error: body.error });
    const to = body.data.to ?? Date.now();
    const from = body.data.from ?? to - 86_400_000;
    if (from >= to) return refuse(res, 400, 'from: must be before to', 'from: 开始时间须早于结束时间');
    try {
      // an alert's page (the server chose the range): an alert active for weeks gets the latest part
      // that fits rather than no chart
      res.json(await previewRule(deps.readPool, cfg, rule, from, to, { series: body.data.series, instance: body.data.instance, alignToEnd: aroundAlert, shortenToFit: aroundAlert }));
    } catch (err) {
      if (err instanceof PreviewError) return void res.status(400).json({ error: errorLanguage(res.req) === 'zh' ? err.zh : err.message });
      throw err;
    }
  }

  return router;
}
