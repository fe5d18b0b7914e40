// Reads a screen view's figures from the hot windows in one Redis round trip, plus "the same
// span yesterday" from the database (cached, so frames never wait for it).

import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { BUCKET_MS, DAY, MINUTE, floorTo, liveWindowRange } from '../../stream/buckets.js';
import type { Storage } from '../../stream/db/migrate.js';
import { sumsOverRange } from '../../stream/db/queries.js';
import { readHotWindows, type HotRange } from '../../stream/hot-read.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import { LIVE_WINDOWS, type FlowPoint, type FlowValues, type LiveResponse, type ScreenFrame, type Sums } from '../../stream/types.js';
import type { ViewPlan } from './view-plan.js';

export const TREND_POINTS = 360; // the last hour of 10 s buckets
export const CHANNEL_TREND_POINTS = 60; // the last hour of 1 min buckets
/** newest points a frame repeats, so late events of the last two minutes show as corrections */
export const FRAME_TREND_POINTS = 12;
export const FRAME_CHANNEL_POINTS = 2;
const YESTERDAY_TTL_MS = 60_000;

export interface ViewReaderDeps {
  cfg: AppConfig;
  redis: Redis;
  pool: Pool;
  keys: RedisKeys;
  storage: Storage;
}

export function createViewReader(deps: ViewReaderDeps) {
  const { cfg, redis, pool, keys, storage } = deps;
  const moneyScale = 10 ** cfg.pipeline.events.valueDecimals;
  const yesterdayCache = new Map<string, { span: string; readAt: number; sums: Sums | null; pending?: Promise<void> }>();

  /** Yesterday's sums for the same span as today's, from the database; refreshed in the background. */
  function yesterdayOf(plan: ViewPlan, todayFrom: number, todayTo: number): { sums(): Sums | null; ready: Promise<void> } {
    const span = `${todayFrom}`;
    const now = Date.now();
    let entry = yesterdayCache.get(plan.viewKey);
    if (!entry || entry.span !== span) yesterdayCache.set(plan.viewKey, (entry = { span, readAt: 0, sums: null }));
    const cached = entry;
    if (now - cached.readAt > YESTERDAY_TTL_MS && !cached.pending) {
      cached.pending = sumsOverRange(pool, { from: todayFrom - DAY, to: todayTo - DAY, filter: plan.scope },
        { storage, dayOffsetMs: cfg.dayOffsetMs, latenessMs: cfg.pipeline.events.lateness })
        .then((sums) => { cached.sums = sums; cached.readAt = Date.now(); })
        .catch(() => { cached.readAt = Date.now() - YESTERDAY_TTL_MS + 5_000; }) // retry in 5 s
        .finally(() => { cached.pending = undefined; });
    }
    return { sums: () => cached.sums, ready: cached.pending ?? Promise.resolve() };
  }

  // screens that ask for the same view at the same moment (every wall reconnecting after a
  // restart) share one read instead of each costing a full snapshot
  const inFlight = new Map<string, Promise<ScreenFrame>>();
  function readView(plan: ViewPlan, full: boolean): Promise<ScreenFrame> {
    const key = `${full ? 'full' : 'frame'}|${plan.viewKey}`;
    let read = inFlight.get(key);
    if (!read) {
      read = readViewNow(plan, full).finally(() => inFlight.delete(key));
      inFlight.set(key, read);
    }
    return read;
  }

  /** The view's figures now; `full` reads the whole last hour of trends (a snapshot). */
  async function readViewNow(plan: ViewPlan, full: boolean): Promise<ScreenFrame> {
    const now = Date.now();
    const bucketEnd = floorTo(now, BUCKET_MS) + BUCKET_MS;
    const todayFrom = floorTo(now, DAY, cfg.dayOffsetMs);
    const yesterday = yesterdayOf(plan, todayFrom, bucketEnd);
    if (full) await yesterday.ready;

    const ranges: HotRange[] = [];
    // unique users only for the view's own windows: the breakdowns do not show them
    const add = (scope: string, from: number, to: number, users = false) => ranges.push({ scope, from, to, users }) - 1;
    const windowAt = LIVE_WINDOWS.map((w) => add(plan.viewKey, ...rangeOf(liveWindowRange(w, now)), true));
    const todayAt = add(plan.viewKey, todayFrom, bucketEnd, true);
    const trendCount = full ? TREND_POINTS : FRAME_TREND_POINTS;
    const trendStarts = Array.from({ length: trendCount }, (_, i) => bucketEnd - (trendCount - i) * BUCKET_MS);
    const trendAt = trendStarts.map((t) => add(plan.viewKey, t, t + BUCKET_MS));
    const minuteEnd = floorTo(now, MINUTE) + MINUTE;
    const minuteCount = full ? CHANNEL_TREND_POINTS : FRAME_CHANNEL_POINTS;
    const minuteStarts = Array.from({ length: minuteCount }, (_, i) => minuteEnd - (minuteCount - i) * MINUTE);
    const channelAt = plan.channels.map((c) => ({ today: add(c.key, todayFrom, bucketEnd), trend: minuteStarts.map((t) => add(c.key, t, t + MINUTE)) }));
    const childAt = plan.children.map((c) => add(c.key, todayFrom, bucketEnd));
    const storeAt = plan.stores === plan.children ? childAt : plan.stores.map((s) => add(s.key, todayFrom, bucketEnd));

    const values = await readHotWindows(redis, keys, ranges, moneyScale);
    const flow = (index: number): FlowValues => {
      const { uniqueUsers: _notCounted, ...rest } = values[index]!;
      return rest;
    };
    const point = (index: number, t: number): FlowPoint => ({ t: new Date(t).toISOString(), ...flow(index) });
    const windows = Object.fromEntries(LIVE_WINDOWS.map((w, i) => {
      const range = ranges[windowAt[i]!]!;
      return [w, { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), ...values[windowAt[i]!]! }];
    })) as LiveResponse['windows'];

    return {
      viewKey: plan.viewKey,
      level: plan.level,
      scope: plan.scope,
      path: plan.path,
      asOf: new Date(now).toISOString(),
      partial: !full,
      windows,
      today: { from: new Date(todayFrom).toISOString(), to: new Date(bucketEnd).toISOString(), values: values[todayAt]!, yesterday: yesterday.sums() },
      trend: trendAt.map((index, i) => point(index, trendStarts[i]!)),
      channels: plan.channels.map(({ key: _key, ...channel }, c) => ({
        ...channel,
        today: flow(channelAt[c]!.today),
        trend: channelAt[c]!.trend.map((index, i) => point(index, minuteStarts[i]!)),
      })),
      children: plan.children.map((child, i) => ({ ...child.node, today: flow(childAt[i]!) })),
      stores: plan.stores.map((store, i) => ({ ...store.node, today: flow(storeAt[i]!) })),
      ...(plan.provinces && { provinces: plan.provinces }),
    };
  }

  return { readView };
}

const rangeOf = (range: { from: number; to: number }): [number, number] => [range.from, range.to];

export type ViewReader = ReturnType<typeof createViewReader>;
