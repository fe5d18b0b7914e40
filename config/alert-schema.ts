// Schemas of alerts.yaml (rules) and notifiers.yaml (where notifications go), CONTRACT §6.
import { z } from 'zod';
import { parseDurationMs } from './duration.js';

// Our own messages carry their Chinese in `params.zh`: the console shows a rule's errors in its
// language (zod's own messages are translated by its locale, alerts/rule-store.ts)
const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const id = z.string().refine((text) => ID_PATTERN.test(text), {
  message: 'must be lowercase letters, digits, - or _ (at most 64)', params: { zh: '只能用小写字母、数字、- 或 _（最多 64 个）' },
});
const duration = z.string().transform((text, ctx) => {
  const ms = parseDurationMs(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 30s, 5m, 1h or 7d`, params: { zh: `"${text}" 不是时长，应写成 30s、5m、1h 或 7d 这样` } });
    return z.NEVER;
  }
  return ms;
});
const positiveDuration = duration.refine((ms) => ms > 0, { message: 'must be longer than 0', params: { zh: '须长于 0' } });

/** The figures of CONTRACT §4 a rule may watch. */
export const ALERT_METRICS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'uniqueUsers', 'ctr', 'cvr', 'roi', 'cac'] as const;
export const ALERT_GROUP_BY = ['channel', 'region', 'store', 'campaign'] as const;
const direction = z.enum(['up', 'down', 'both']);

export const detectorSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.enum(['drop', 'rise']),
    /** what the window is compared with */
    vs: z.enum(['previous', 'day-ago', 'week-ago']).default('previous'),
    /** the relative change that counts, e.g. 0.5 = by half */
    ratio: z.number().gt(0).max(100),
  }),
  z.strictObject({
    kind: z.literal('zscore'),
    // defaults from NAB's labelled series (npm run bench, BENCH_ONLY=detectors): a long baseline and a
    // high bar page far less than 3σ over 12 windows, which fired hundreds of times per series
    threshold: z.number().gt(0).default(8),
    /** how many earlier windows make the baseline */
    lookback: z.number().int().min(3).max(500).default(500),
    direction: direction.default('both'),
  }),
  z.strictObject({
    kind: z.literal('ewma'),
    threshold: z.number().gt(0).default(8),
    alpha: z.number().gt(0).lt(1).default(0.02),
    lookback: z.number().int().min(3).max(500).default(500),
    direction: direction.default('both'),
  }),
  z.strictObject({
    kind: z.literal('auto'),
    /** how unusual a run of surprises must be: low pages least */
    sensitivity: z.enum(['low', 'medium', 'high']).default('medium'),
    direction: direction.default('both'),
  }),
  z.strictObject({
    kind: z.literal('seasonal'),
    /** how unusual the recent departure from the daily profile must be, against the recent stretch's departures */
    threshold: z.number().gt(0).default(5),
    /** the same time of day on this many earlier days makes the daily profile */
    days: z.number().int().min(3).max(28).default(7),
    /** the least relative departure from the profile that counts, whatever its spread */
    minChange: z.number().min(0).max(10).default(0.3),
    direction: direction.default('both'),
  }),
]);

const threshold = z.union([z.strictObject({ below: z.number() }), z.strictObject({ above: z.number() })]);

/**
 * The lifecycle's defaults. keepFiringFor 2 h: on NAB's labelled series (npm run bench) re-pages
 * after a recovery were mostly the same incident flapping; auto scores 66.3 without, 67.1 / 67.2 /
 * 67.4 / 67.0 keeping 30 min / 1 h / 2 h / 3 h, and every other detector gains too.
 */
export const LIFECYCLE_DEFAULTS = { hysteresis: 0.05, keepFiringFor: 2 * 3_600_000 };

export const ruleSchema = z
  .strictObject({
    id,
    name: z.string().min(1),
    nameEn: z.string().min(1),
    metric: z.enum(ALERT_METRICS),
    groupBy: z.enum(ALERT_GROUP_BY).optional(),
    /** only this part of the business; with groupBy it must name another dimension */
    filter: z.strictObject({ region: z.string().optional(), store: z.string().optional(), channel: z.string().optional() }).optional(),
    window: positiveDuration,
    when: threshold.optional(),
    detector: detectorSchema.optional(),
    for: duration.default(0),
    /** below this much volume (e.g. clicks for cvr, spend for roi) a window is not judged */
    minVolume: z.number().min(0).default(0),
    noData: z.enum(['ok', 'alerting', 'keep']).default('ok'),
    /** once active, an alert clears only when the value is this much (relatively) inside the bound */
    hysteresis: z.number().min(0).max(0.9).default(LIFECYCLE_DEFAULTS.hysteresis),
    /** once firing, an alert stays open (recovering) until the value has been back inside the bound this long: a breach meanwhile is the same alert, not a new page */
    keepFiringFor: duration
      .refine((ms) => ms <= 7 * 86_400_000, { message: 'at most 7d (an alert kept open longer would hide the next incident)', params: { zh: '最长 7d（保持更久会掩盖下一次事故）' } })
      .default(LIFECYCLE_DEFAULTS.keepFiringFor),
    repeatInterval: duration.optional(),
    severity: z.enum(['critical', 'warning', 'info']).default('warning'),
    notify: z.array(id).default([]),
    enabled: z.boolean().default(true),
  })
  .superRefine((rule, ctx) => {
    if (Boolean(rule.when) === Boolean(rule.detector)) {
      ctx.addIssue({ code: 'custom', path: ['when'], message: 'give exactly one of `when` (a threshold) or `detector`', params: { zh: '阈值（`when`）和检测器（`detector`）须给且只给一个' } });
    }
    if (rule.window % 10_000 !== 0) ctx.addIssue({ code: 'custom', path: ['window'], message: 'must be a whole number of 10 s buckets', params: { zh: '须为 10 秒的整数倍' } });
    if (rule.groupBy && rule.filter?.[rule.groupBy as 'region' | 'store' | 'channel'] !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['filter', rule.groupBy], message: `cannot both group by and filter on ${rule.groupBy}`, params: { zh: `不能既按 ${rule.groupBy} 分组又按它筛选` } });
    }
  });

export const alertsFileSchema = z.strictObject({
  evaluation: z
    .strictObject({
      /** how often the rules are evaluated */
      interval: positiveDuration.default(5_000),
      /** windows end this long before now, at a whole 10 s bucket, so stragglers are in */
      settle: duration.default(5_000),
      repeatInterval: positiveDuration.default(4 * 3_600_000),
      /** while the pipeline is behind the windows by at most this, evaluation waits; beyond, it goes on (and says so) */
      maxHold: duration.default(10 * 60_000),
    })
    .prefault({}),
  rules: z.array(ruleSchema),
});

const notifierCommon = {
  id,
  timeout: positiveDuration.default(5_000),
  /** attempts after the first */
  retries: z.number().int().min(0).max(10).default(3),
  /** the first retry waits this long, each later one twice as long */
  backoff: positiveDuration.default(2_000),
};
/** A URL given in the file (not secret) or, preferably, the name of an environment variable holding it. */
const urlSource = { url: z.url().optional(), urlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional() };
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name like ALERT_SECRET');

export const notifierSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...notifierCommon, kind: z.literal('webhook'), ...urlSource, secretEnv: envName.optional() }),
    z.strictObject({ ...notifierCommon, kind: z.literal('slack'), ...urlSource }),
    z.strictObject({ ...notifierCommon, kind: z.literal('wecom'), ...urlSource }),
    z.strictObject({ ...notifierCommon, kind: z.literal('dingtalk'), ...urlSource, secretEnv: envName.optional() }),
    z.strictObject({ ...notifierCommon, kind: z.literal('feishu'), ...urlSource, secretEnv: envName.optional() }),
    z.strictObject({
      ...notifierCommon,
      kind: z.literal('email'),
      /** smtp://user:password@host:587 or smtps://… */
      smtpUrlEnv: envName,
      from: z.string().min(3),
      to: z.array(z.email()).min(1),
    }),
  ])
  .superRefine((notifier, ctx) => {
    if (notifier.kind !== 'email' && Boolean(notifier.url) === Boolean(notifier.urlEnv)) {
      ctx.addIssue({ code: 'custom', path: ['urlEnv'], message: 'give exactly one of `urlEnv` (an environment variable) or `url`' });
    }
  });

export const notifiersFileSchema = z.strictObject({ notifiers: z.array(notifierSchema) });

export type AlertsFile = z.output<typeof alertsFileSchema>;
export type AlertRule = z.output<typeof ruleSchema>;
export type DetectorSpec = z.output<typeof detectorSchema>;
export type AlertMetric = (typeof ALERT_METRICS)[number];
export type NotifierSpec = z.output<typeof notifierSchema>;
