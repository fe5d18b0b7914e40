// Reads screen views' figures from the hot windows — the views due at one push in one Redis round
// trip per partition, a range they share read once — plus "the same span yesterday" and today's
// new users from the database (read in the background, so frames never wait for it).

import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { BUCKET_MS, DAY, MINUTE, floorTo, liveWindowRange } from '../../stream/buckets.js';
import type { Storage } from '../../stream/db/migrate.js';
import { newUsersToday } from '../../stream/db/first-seen.js';
import { queryContextOf, sumsOverRange } from '../../stream/db/queries.js';
import { createSettledSums, readHotWindows, type HotRange } from '../../stream/hot-read.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import { LIVE_WINDOWS, type FlowPoint, type FlowValues, type LiveResponse, type MetricValues, type NewUsersToday, type ScreenFrame, type Sums } from '../../stream/types.js';
import { frameOf, type ViewPlan } from './view-plan.js';

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
  const context = queryContextOf(cfg, storage);
  const yesterdaySums = backgroundValues<Sums>();
  // today's sums up to a minute ago, per scope, shared by every view that shows the scope
  const settled = createSettledSums();
  // a new count marks the view changed: the push loop sends it in the next frame, so no frame waits for the database
  const newUsers = backgroundValues<NewUsersToday | null>((viewKey) => void redis.sadd(keys.first.dirty, viewKey).catch(() => 0));

  /** Yesterday's sums for the same span as today's, from the database; refreshed in the background. */
  const yesterdayOf = (plan: ViewPlan, todayFrom: number, todayTo: number) =>
    yesterdaySums.get(plan.viewKey, `${todayFrom}`, YESTERDAY_TTL_MS, () => sumsOverRange(pool, { from: todayFrom - DAY, to: todayTo - DAY, filter: plan.scope }, context));

  /**
   * Today's new users and yesterday's over the same span, from the first-seen ledger, read again
   * after every frame (the processor commits to the database before it marks the view changed,
   * so the read a change starts sees its new customers); a count that moved is sent in the
   * frame that follows.
   */
  const newUsersOf = (plan: ViewPlan, todayFrom: number) =>
    newUsers.get(plan.viewKey, `${todayFrom}`, 0, () => newUsersToday(pool, { todayFrom, to: Date.now(), filter: plan.scope }, context.places));

  // screens that ask for the same view at the same moment (every wall reconnecting after a
  // restart) share one read instead of each costing a full snapshot
  const inFlight = new Map<string, Promise<ScreenFrame>>();
  /** A view's snapshot: the whole last hour of trends, once "yesterday" and new users are read. */
  function readView(plan: ViewPlan): Promise<ScreenFrame> {
    let read = inFlight.get(plan.viewKey);
    if (!read) {
      read = readFramesNow([plan], true).then(([frame]) => frame!).finally(() => inFlight.delete(plan.viewKey));
      inFlight.set(plan.viewKey, read);
    }
    return read;
  }

  /**
   * Frames of many views at one instant (the push loop's due views), their hot ranges read
   * together: a range several views show — a store's today on the nation's wall, its region's and
   * its own; a channel's minutes on the nation's and the channel's — is read once, and each
   * partition answers all of them in one pipelined round trip.
   */
  const readFrames = (plans: ViewPlan[]): Promise<ScreenFrame[]> => readFramesNow(plans, false);

  async function readFramesNow(plans: ViewPlan[], full: boolean): Promise<ScreenFrame[]> {
    const now = Date.now();
    const todayFrom = floorTo(now, DAY, cfg.dayOffsetMs);
    const ranges: HotRange[] = [];
    const rangeAt = new Map<string, number>();
    const add = (scope: string, from: number, to: number, users: boolean) => {
      const id = `${scope}|${from}|${to}|${users}`;
      let at = rangeAt.get(id);
      if (at === undefined) {
        at = ranges.push({ scope, from, to, users, keepSettled: from === todayFrom }) - 1;
        rangeAt.set(id, at);
      }
      return at;
    };
    const builders = plans.map((plan) => frameBuilder(plan, full, { now, todayFrom }, add));
    // a snapshot waits for the database's parts; a frame shows the last read (a new count comes in the next frame)
    if (full) await Promise.all(builders.map((builder) => builder.ready));
    const values = await readHotWindows(redis, keys, ranges, moneyScale, settled);
    return builders.map((builder) => builder.build(values));
  }

  /**
   * The ranges a view's frame is made of, registered with `add` (which answers each one's index in
   * the read), and how to build the frame from the read's values; `full` takes the whole last hour
   * of trends (a snapshot).
   */
  function frameBuilder(plan: ViewPlan, full: boolean, { now, todayFrom }: { now: number; todayFrom: number }, add: (scope: string, from: number, to: number, users: boolean) => number) {
    const bucketEnd = floorTo(now, BUCKET_MS) + BUCKET_MS;
    const yesterday = yesterdayOf(plan, todayFrom, bucketEnd);
    const fresh = newUsersOf(plan, todayFrom);

    // unique users only for the view's own windows: the breakdowns do not show them
    const windowRanges = LIVE_WINDOWS.map((w) => liveWindowRange(w, now));
    const windowAt = windowRanges.map((range) => add(plan.viewKey, range.from, range.to, true));
    const todayAt = add(plan.viewKey, todayFrom, bucketEnd, true);
    const trendCount = full ? TREND_POINTS : FRAME_TREND_POINTS;
    const trendStarts = Array.from({ length: trendCount }, (_, i) => bucketEnd - (trendCount - i) * BUCKET_MS);
    const trendAt = trendStarts.map((t) => add(plan.viewKey, t, t + BUCKET_MS, false));
    const minuteEnd = floorTo(now, MINUTE) + MINUTE;
    const minuteCount = full ? CHANNEL_TREND_POINTS : FRAME_CHANNEL_POINTS;
    const minuteStarts = Array.from({ length: minuteCount }, (_, i) => minuteEnd - (minuteCount - i) * MINUTE);
    const channelAt = plan.channels.map((c) => ({ today: add(c.key, todayFrom, bucketEnd, false), trend: minuteStarts.map((t) => add(c.key, t, t + MINUTE, false)) }));
    const childAt = plan.children.map((c) => add(c.key, todayFrom, bucketEnd, false));
    const storeAt = plan.stores === plan.children ? childAt : plan.stores.map((s) => add(s.key, todayFrom, bucketEnd, false));

    const build = (values: MetricValues[]): ScreenFrame => {
      const flow = (index: number): FlowValues => {
        const { uniqueUsers: _notCounted, ...rest } = values[index]!;
        return rest;
      };
      const point = (index: number, t: number): FlowPoint => ({ t: new Date(t).toISOString(), ...flow(index) });
      const windows = Object.fromEntries(LIVE_WINDOWS.map((w, i) =>
        [w, { from: new Date(windowRanges[i]!.from).toISOString(), to: new Date(windowRanges[i]!.to).toISOString(), ...values[windowAt[i]!]! }])) as LiveResponse['windows'];
      return frameOf(plan, {
        asOf: now,
        partial: !full,
        windows,
        today: { from: new Date(todayFrom).toISOString(), to: new Date(bucketEnd).toISOString(), values: values[todayAt]!, yesterday: yesterday.value(), newUsers: fresh.value() },
        trend: trendAt.map((index, i) => point(index, trendStarts[i]!)),
        channel: (c) => ({ today: flow(channelAt[c]!.today), trend: channelAt[c]!.trend.map((index, i) => point(index, minuteStarts[i]!)) }),
        child: (i) => flow(childAt[i]!),
        store: (i) => flow(storeAt[i]!),
      });
    };
    return { ready: Promise.all([yesterday.ready, fresh.ready]), build };
  }

  return { readView, readFrames };
}

/**
 * Values per view read from the database in the background: a frame takes what was last read;
 * a read starts when the value is older than `maxAgeMs` and none is under way (a failed one is
 * retried in 5 s). A new `span` (a new day) forgets the old value.
 */
function backgroundValues<T>(onChange?: (viewKey: string) => void) {
  const entries = new Map<string, { span: string; readAt: number; value: T | null; pending?: Promise<void> }>();
  return {
    get(viewKey: string, span: string, maxAgeMs: number, read: () => Promise<T>): { value(): T | null; ready: Promise<void> } {
      let entry = entries.get(viewKey);
      if (!entry || entry.span !== span) entries.set(viewKey, (entry = { span, readAt: 0, value: null }));
      const cached = entry;
      if (Date.now() - cached.readAt >= maxAgeMs && !cached.pending) {
        cached.pending = read()
          .then((value) => {
            const changed = cached.readAt > 0 && JSON.stringify(value) !== JSON.stringify(cached.value);
            cached.value = value;
            cached.readAt = Date.now();
            if (changed) onChange?.(viewKey);
          })
          .catch(() => { cached.readAt = Date.now() - maxAgeMs + 5_000; })
          .finally(() => { cached.pending = undefined; });
      }
      return { value: () => cached.value, ready: cached.pending ?? Promise.resolve() };
    },
  };
}

export type ViewReader = ReturnType<typeof createViewReader>;
