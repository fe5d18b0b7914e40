// The push loop: one server at a time (the leader) takes the dirty scopes, reads the views that
// some screen watches and that changed (each at most once per PUSH_INTERVAL_MS), and emits a
// `metrics` frame to each view's room; the Redis adapter carries it to the other servers.

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import type { AppConfig } from '../../config/load.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import { leaderLock } from '../../stream/leader-lock.js';
import { VIEW_ROOM_PREFIX } from './socket.js';
import { isKnownView, planView, subscriptionOfViewKey } from './view-plan.js';
import type { ViewReader } from './view-read.js';

/** a watched view gets a frame at least this often, so rolling windows move and screens know the feed is alive */
export const KEEPALIVE_MS = 5_000;
/** a view no server has confirmed for this long has no screen left */
const VIEW_FORGOTTEN_MS = 10_000;

export interface PushLoopDeps {
  cfg: AppConfig;
  redis: Redis;
  keys: RedisKeys;
  reader: ViewReader;
  nsp: Namespace;
  intervalMs: number;
  log: Logger;
  /** after each push: how long reading its due views took, and how many there were */
  onRead?: (readMs: number, views: number) => void;
  /** after each frame: for a changed view the time since the change was seen (null for a keepalive) */
  onFrame?: (viewKey: string, sinceChangeMs: number | null) => void;
}

export function startPushLoop(deps: PushLoopDeps): { stop(): Promise<void> } {
  const { cfg, redis, keys, reader, nsp, intervalMs, log } = deps;
  const lock = leaderLock(redis, keys.pushLeader, Math.max(3_000, intervalMs * 6));
  // the dirty set is looked at often, and each view is pushed as soon as it changed, but at most
  // once per interval: a quiet store's wall shows an event at once, a busy view every interval
  const pollMs = Math.min(50, intervalMs);
  const lastSent = new Map<string, number>();
  /** watched views with new data, and when the change was first seen */
  const changed = new Map<string, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  /** Frames of the due views, read together (shared ranges once), each emitted to its view's room. */
  async function push(viewKeys: string[], changedAt: Map<string, number | undefined>): Promise<void> {
    const plans = viewKeys.flatMap((viewKey) => {
      const subscription = subscriptionOfViewKey(viewKey);
      // e.g. a store removed from geo.yaml
      return subscription && isKnownView(cfg, subscription) ? [planView(cfg, subscription)] : [];
    });
    if (!plans.length) return;
    const started = Date.now();
    const frames = await reader.readFrames(plans);
    deps.onRead?.(Date.now() - started, frames.length);
    for (const frame of frames) {
      // the interval counts from the frame's own time, so two frames' asOf are never closer than it
      lastSent.set(frame.viewKey, Date.parse(frame.asOf));
      nsp.to(VIEW_ROOM_PREFIX + frame.viewKey).emit('metrics', frame);
      const since = changedAt.get(frame.viewKey);
      deps.onFrame?.(frame.viewKey, since === undefined ? null : Date.now() - since);
    }
  }

  async function tick(): Promise<void> {
    if (!(await lock.holdOrTake())) {
      lastSent.clear();
      changed.clear();
      return;
    }
    const now = Date.now();
    // each partition's dirty set lives in its slot: taken and cleared there, atomically
    const [watchedList, ...dirtySets] = await Promise.all([
      redis.zrangebyscore(keys.screenViews, now - VIEW_FORGOTTEN_MS, '+inf'),
      ...keys.partitions.map(async (partition) => {
        const [[, dirty]] = (await redis.multi().smembers(partition.dirty).del(partition.dirty).exec())! as [[null, string[]], unknown];
        return dirty;
      }),
    ]);
    const watched = new Set(watchedList);
    for (const dirty of dirtySets) for (const scope of dirty) if (watched.has(scope) && !changed.has(scope)) changed.set(scope, now);
    const due = watchedList.filter((viewKey) => {
      const since = now - (lastSent.get(viewKey) ?? 0);
      return since >= intervalMs && (changed.has(viewKey) || since >= KEEPALIVE_MS);
    });
    const changedAt = new Map(due.map((viewKey) => [viewKey, changed.get(viewKey)]));
    for (const viewKey of due) {
      changed.delete(viewKey);
      lastSent.set(viewKey, now);
    }
    await push(due, changedAt);
    for (const viewKey of lastSent.keys()) if (!watched.has(viewKey)) lastSent.delete(viewKey);
    for (const viewKey of changed.keys()) if (!watched.has(viewKey)) changed.delete(viewKey);
    if (Math.random() < pollMs / 10_000) void redis.zremrangebyscore(keys.screenViews, '-inf', now - VIEW_FORGOTTEN_MS).catch(() => 0);
  }

  function schedule(delay: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      const started = Date.now();
      running = tick()
        .catch((err) => log.warn({ err: (err as Error).message }, 'push tick failed'))
        .finally(() => schedule(Math.max(0, pollMs - (Date.now() - started))));
    }, delay);
  }
  schedule(0);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await lock.release();
    },
  };
}
