import { z } from 'zod';
import { MAX_GROUPS } from '../../stream/db/queries.js';
import { parseEpochText, parseIsoTime } from '../../stream/time-text.js';
import { GROUP_BY, LIVE_WINDOWS, POINT_FIELDS, STEPS, type PointField } from '../../stream/types.js';
import { EXPLAINED_METRICS } from '../explain/contributions.js';

/** epoch milliseconds or an ISO-8601 date / date-time with a zone, as text; a day that does not exist or a time past 9999 is refused */
export const time = z
  .string()
  .max(40)
  .transform((text, ctx) => {
    const ms = /^\d+$/.test(text) ? parseEpochText(text) : parseIsoTime(text);
    if (ms === null) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is neither epoch milliseconds nor an existing ISO-8601 time with a zone (between 1970 and 9999)`,
        params: { zh: `"${text}" 既不是毫秒时间戳，也不是带时区的 ISO-8601 时间（1970 至 9999 年间）` },
      });
      return z.NEVER;
    }
    return ms;
  });

/** An id in a query: no NUL (PostgreSQL text cannot hold one) and no other control characters. */
export const id = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

const scopeFields = {
  region: id(64).optional(),
  store: id(64).optional(),
  channel: id(64).optional(),
  campaign: id(128).optional(),
};

/** a comma-separated list of point fields, answered in POINT_FIELDS' order */
const pointFields = z
  .string()
  .max(POINT_FIELDS.join(',').length * 2)
  .transform((text, ctx) => {
    const asked = new Set(text.split(','));
    const unknown = [...asked].find((name) => !(POINT_FIELDS as readonly string[]).includes(name));
    if (unknown !== undefined) {
      const message = unknown === '' ? `name at least one field, comma-separated, of ${POINT_FIELDS.join(', ')}` : `"${unknown}" is not a point field; one of ${POINT_FIELDS.join(', ')}`;
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return POINT_FIELDS.filter((field): field is PointField => asked.has(field));
  })
  .describe(`only these point fields, comma-separated (default all): ${POINT_FIELDS.join(', ')}; the reads no field asked for needs are skipped`);

export const metricsParams = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  step: z.enum(STEPS).default('1m'),
  groupBy: z.enum(GROUP_BY).optional(),
  /** grouped: how many groups get a series of their own (the rest are summed as "other") */
  limit: z.string().regex(/^\d{1,6}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_GROUPS)).optional(),
  /** only these point fields (default all): the statements no field asked for needs are not run */
  fields: pointFields.optional(),
  ...scopeFields,
});

export const explainParams = z.strictObject({
  metric: z.enum(EXPLAINED_METRICS),
  /** the span explained; default: today since local midnight, up to now */
  from: time.optional(),
  to: time.optional(),
  /** the baseline: the same span a day or a week before, or the span just before */
  vs: z.enum(['day-ago', 'week-ago', 'previous']).default('day-ago'),
  ...scopeFields,
});

export const liveParams = z.strictObject({ region: scopeFields.region, store: scopeFields.store, channel: scopeFields.channel });

export const geoParams = z.strictObject({ window: z.enum(LIVE_WINDOWS).default('1h') });

export const loginBody = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });

/** First problem of a failed parse as "field: reason". */
export function describeParamError(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'query'}: ${issue.message}`;
}
