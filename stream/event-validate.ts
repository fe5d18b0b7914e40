import { z } from 'zod';
import type { AppConfig } from '../config/load.js';
import { MAX_TIME_MS, parseIsoTime } from './time-text.js';
import { EVENT_TYPES, type MarketingEvent } from './types.js';

const MAX_VALUE = 1e10;

// PostgreSQL text cannot hold NUL: such a value would fail every write of its batch
const text = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000]*$/, 'must not contain NUL characters');

const eventShape = z.object({
  id: text(128),
  type: z.enum(EVENT_TYPES),
  ts: z.union([z.number().int().nonnegative().max(MAX_TIME_MS), z.string().max(40)]),
  channel: z.string().max(64),
  count: z.number().int().min(1).max(1_000_000).optional(),
  value: z.number().nonnegative().max(MAX_VALUE).optional(),
  region: z.string().max(64).optional(),
  store: z.string().max(64).optional(),
  campaign: text(128).optional(),
  userId: text(128).optional(),
});

const TYPES: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const isText = (v: unknown, max: number) => typeof v === 'string' && v.length >= 1 && v.length <= max && !v.includes('\u0000');
const isShort = (v: unknown) => typeof v === 'string' && v.length <= 64;

/**
 * Whether eventShape accepts this object, checked by hand: zod costs the ingest API ~15 % of its CPU
 * per event. Every event it passes zod would take as it is; anything else goes through zod, which
 * also names what is wrong.
 */
function plainlyValid(raw: Record<string, unknown>): raw is z.infer<typeof eventShape> {
  const { id, type, ts, channel, count, value, region, store, campaign, userId } = raw;
  return isText(id, 128) && TYPES.has(type)
    && (typeof ts === 'number' ? Number.isSafeInteger(ts) && ts >= 0 && ts <= MAX_TIME_MS : typeof ts === 'string' && ts.length <= 40)
    && isShort(channel)
    && (count === undefined || (Number.isSafeInteger(count) && (count as number) >= 1 && (count as number) <= 1_000_000))
    && (value === undefined || (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_VALUE))
    && (region === undefined || isShort(region)) && (store === undefined || isShort(store))
    && (campaign === undefined || isText(campaign, 128)) && (userId === undefined || isText(userId, 128));
}

const TS_RULE = 'ts: must be epoch milliseconds or an existing ISO-8601 date-time with a zone (e.g. 2026-11-23T08:00:00+08:00)';

export type Validation = { ok: true; event: MarketingEvent } | { ok: false; error: string };

function describe(issue: z.core.$ZodIssue, raw: object): string {
  const field = issue.path.length ? issue.path.join('.') : 'event';
  const missing = issue.path.length === 1 && (raw as Record<PropertyKey, unknown>)[issue.path[0]!] === undefined;
  if (missing) return `${field}: required`;
  if (field === 'ts') return TS_RULE;
  return `${field}: ${issue.message}`;
}

function parseTs(ts: number | string): number | null {
  return typeof ts === 'number' ? ts : parseIsoTime(ts, true);
}

/**
 * Validates one incoming event against CONTRACT §2 and normalizes it (ts → epoch ms, region
 * from the store, value rounded to the configured decimals, a phone or e-mail userId replaced by
 * its keyed hash — see pseudonymize.ts). `nowMs` is the arrival time the
 * lateness and future bounds are measured from.
 */
export function createEventValidator(cfg: AppConfig, pseudonymize: (userId: string) => string, options = { byHand: true }) {
  const { lateness, futureTolerance, valueDecimals } = cfg.pipeline.events;
  const scale = 10 ** valueDecimals;

  return function validateEvent(raw: unknown, nowMs: number | null): Validation {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, error: 'event: must be a JSON object' };
    let input: z.infer<typeof eventShape>;
    if (options.byHand && plainlyValid(raw as Record<string, unknown>)) input = raw as z.infer<typeof eventShape>;
    else {
      const parsed = eventShape.safeParse(raw);
      if (!parsed.success) return { ok: false, error: describe(parsed.error.issues[0]!, raw) };
      input = parsed.data;
    }

    const ts = parseTs(input.ts);
    if (ts === null) return { ok: false, error: TS_RULE };
    if (nowMs !== null) {
      if (ts > nowMs + futureTolerance) return { ok: false, error: `ts: more than ${futureTolerance / 60_000} minutes in the future` };
      if (ts < nowMs - lateness) return { ok: false, error: `ts: older than the allowed lateness of ${lateness / 3_600_000} hours` };
    }

    if (!cfg.channelById.has(input.channel)) return { ok: false, error: `channel: unknown channel "${input.channel}"` };

    let region = input.region;
    if (input.store !== undefined) {
      const store = cfg.storeById.get(input.store);
      if (!store) return { ok: false, error: `store: unknown store "${input.store}"` };
      if (region !== undefined && region !== store.region) {
        return { ok: false, error: `region: "${region}" does not match store "${store.id}", which is in "${store.region}"` };
      }
      region = store.region;
    } else if (input.type === 'visit') {
      return { ok: false, error: 'store: required for visit events' };
    }
    if (region !== undefined && !cfg.regionById.has(region)) return { ok: false, error: `region: unknown region "${region}"` };

    if ((input.type === 'conversion' || input.type === 'spend') && input.value === undefined) {
      return { ok: false, error: `value: required for ${input.type} events` };
    }

    const event: MarketingEvent = {
      id: input.id,
      type: input.type,
      ts,
      channel: input.channel,
      count: input.count ?? 1,
      value: Math.round((input.value ?? 0) * scale) / scale,
    };
    if (region !== undefined) event.region = region;
    if (input.store !== undefined) event.store = input.store;
    if (input.campaign !== undefined) event.campaign = input.campaign;
    if (input.userId !== undefined) event.userId = pseudonymize(input.userId);
    return { ok: true, event };
  };
}

export type EventValidator = ReturnType<typeof createEventValidator>;
