import { z } from 'zod';
import { parseDurationMs } from './duration.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be lowercase letters, digits, - or _ (at most 64)');
const duration = z.string().transform((text, ctx) => {
  const ms = parseDurationMs(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration like 500ms, 10s, 5m, 48h or 30d` });
    return z.NEVER;
  }
  return ms;
});

export const channelsFileSchema = z.strictObject({
  channels: z
    .array(
      z.strictObject({
        id,
        name: z.string().min(1),
        nameEn: z.string().min(1),
        kind: z.enum(['ads', 'social', 'search', 'ecommerce', 'private', 'offline']),
        color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1aad19'),
      }),
    )
    .min(1),
});

const hours = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'must look like 10:00-22:00');

export const geoFileSchema = z.strictObject({
  regions: z
    .array(
      z.strictObject({
        id: z.enum(['east', 'north', 'south', 'central', 'southwest', 'northwest', 'northeast']),
        name: z.string().min(1),
        nameEn: z.string().min(1),
        provinces: z
          .array(
            z.strictObject({
              adcode: z.number().int().min(100000).max(999999),
              name: z.string().min(1),
              nameEn: z.string().min(1),
            }),
          )
          .min(1),
        stores: z.array(
          z.strictObject({
            id,
            name: z.string().min(1),
            nameEn: z.string().min(1),
            city: z.string().min(1),
            /** the city's name on English pages (the Chinese name where absent: filled in here, once) */
            cityEn: z.string().min(1).optional(),
            province: z.number().int(),
            lng: z.number().min(73).max(136),
            lat: z.number().min(3).max(54),
            hours,
          }).transform((store) => ({ ...store, cityEn: store.cityEn ?? store.city })),
        ),
      }),
    )
    .length(7, 'must list the seven sales regions'),
});

export const pipelineFileSchema = z.strictObject({
  ingest: z.strictObject({
    maxEventsPerRequest: z.number().int().min(1),
    maxBytesPerRequest: z.number().int().min(1024),
    eventsPerStreamEntry: z.number().int().min(1).max(10_000),
    maxBacklogEntries: z.number().int().min(1),
    retryAfterSeconds: z.number().int().min(1),
    replicasToWait: z.number().int().min(0).max(5).default(0),
    replicaWaitMs: z.number().int().min(1).max(10_000).default(1000),
  }),
  events: z.strictObject({
    lateness: duration,
    futureTolerance: duration,
    valueDecimals: z.number().int().min(0).max(4),
  }),
  stream: z.strictObject({
    name: z.string().min(1),
    deadLetter: z.string().min(1),
    group: z.string().min(1),
    partitions: z.number().int().min(1).max(64).default(1),
  }),
  processor: z.strictObject({
    readEntries: z.number().int().min(1).max(1000),
    blockMs: z.number().int().min(1),
    claimIdleMs: z.number().int().min(1000),
  }),
  windows: z.strictObject({
    hotRetention: duration,
    utcOffset: z.string().regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, 'must look like +08:00'),
  }),
  reconcile: z.strictObject({ every: duration, lookback: duration, settle: duration }),
  retention: z.strictObject({ rawEvents: duration, rollup10s: duration, rollup1h: duration, rollup1d: duration, customers: duration, audit: duration, alerts: duration }),
});

export const usersFileSchema = z.strictObject({
  users: z.array(
    z.strictObject({
      username: z.string().min(1).max(64),
      passwordHash: z.string().regex(/^\$2[aby]\$\d\d\$/, 'must be a bcrypt hash (see `npm run hash-password`)'),
      role: z.enum(['ops', 'manager', 'oncall', 'admin']),
      regions: z.array(z.string()).optional(),
      demo: z.boolean().optional(),
    }),
  ),
});

export type ChannelsFile = z.infer<typeof channelsFileSchema>;
export type GeoFile = z.infer<typeof geoFileSchema>;
export type PipelineFile = z.infer<typeof pipelineFileSchema>;
export type UsersFile = z.infer<typeof usersFileSchema>;

export const jobsFileSchema = z.strictObject({
  timezone: z.string().min(1).default('Asia/Shanghai'),
  jobs: z.strictObject({
    attribution: z.strictObject({ schedule: z.string().min(1) }),
    segments: z.strictObject({ schedule: z.string().min(1) }),
  }),
  attribution: z.strictObject({
    lookback: duration,
    days: z.number().int().min(1).max(90),
    halfLife: duration,
    positionBased: z.strictObject({ first: z.number().min(0).max(1), last: z.number().min(0).max(1) }).refine((p) => p.first + p.last <= 1, 'first + last must be at most 1'),
  }),
  segments: z.strictObject({
    history: duration,
    lifecycle: z
      .strictObject({ newWithin: duration, activeWithin: duration, loyalOrders: z.number().int().min(2), churnedAfter: duration })
      .refine((l) => l.activeWithin < l.churnedAfter, { message: 'activeWithin must be shorter than churnedAfter', path: ['activeWithin'] }),
  }).refine((s) => s.lifecycle.churnedAfter <= s.history, { message: 'must be at least lifecycle.churnedAfter (older orders are forgotten)', path: ['history'] }),
});
export type JobsFile = z.infer<typeof jobsFileSchema>;
