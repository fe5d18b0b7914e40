import { z } from 'zod';
import { GROUP_BY, LIVE_WINDOWS, STEPS } from '../stream/types.js';

/** epoch milliseconds or an ISO-8601 time, as text */
export const time = z
  .string()
  .transform((text, ctx) => {
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is neither epoch milliseconds nor an ISO-8601 time` });
      return z.NEVER;
    }
    return ms;
  });

const scopeFields = {
  region: z.string().min(1).max(64).optional(),
  store: z.string().min(1).max(64).optional(),
  channel: z.string().min(1).max(64).optional(),
  campaign: z.string().min(1).max(128).optional(),
};

export const metricsParams = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  step: z.enum(STEPS).default('1m'),
  groupBy: z.enum(GROUP_BY).optional(),
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
