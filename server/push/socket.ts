// The /screen namespace: token auth in the handshake, `subscribe` answered with the view's
// snapshot (or {error}), one view room per socket. Frames are emitted by the push loop.

import type { Server as HttpServer } from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Server, type Namespace, type Socket } from 'socket.io';
import { z } from 'zod';
import type { AppConfig } from '../../config/load.js';
import { createRedis, isClusterUrl } from '../../stream/connect.js';
import type { RedisKeys } from '../../stream/redis-keys.js';
import type { AnnotationChange, ScreenAlert, ScreenSubscribeAck } from '../../stream/types.js';
import { authorizeLiveScope } from '../auth/access.js';
import type { Auth, Principal } from '../auth/auth.js';
import { describeParamError } from '../http/query-params.js';
import { planView } from './view-plan.js';
import type { ViewReader } from './view-read.js';

export const VIEW_ROOM_PREFIX = 'view:';
/** alerts go to the screens that may see them: every alert to the all-seeing roles, a region's to its managers */
const ALL_ALERTS_ROOM = 'nationwide';
const regionAlertsRoom = (region: string) => `alerts:region:${region}`;
const ROOMS_REFRESH_MS = 2_000;
const userRoom = (username: string) => `user:${username}`;

/** Subscribes one socket may make: a burst, then a steady rate; more are refused. */
export const SUBSCRIBE_LIMIT = { burst: 10, perSecond: 2 };
/** Subscribes one socket may have waiting to be handled (they are handled one at a time, in order). */
const SUBSCRIBES_QUEUED = 4;

const subscription = z.strictObject({
  region: z.string().min(1).max(64).optional(),
  store: z.string().min(1).max(64).optional(),
  channel: z.string().min(1).max(64).optional(),
});

export interface ScreenSocketDeps {
  http: HttpServer;
  cfg: AppConfig;
  redis: Redis;
  /** the servers share rooms through it: classic pub/sub on one Redis, sharded pub/sub (Redis 7) on a cluster */
  redisUrl: string;
  keys: RedisKeys;
  auth: Auth;
  reader: ViewReader;
  log: Logger;
}

export interface ScreenSocket {
  io: Server;
  nsp: Namespace;
  /** emits an `alert` to the screens allowed to see it (through the adapter, on every server) */
  publishAlert(alert: ScreenAlert): void;
  /** emits a nationwide event (segments, attribution) to the screens of roles that see the whole business */
  publishNationwide(event: string, payload: unknown): void;
  /** emits an event whose content depends on the regions a role sees (segments): `viewFor(null)` to whole-business roles, `viewFor(regions)` to each regional role's sockets, on every server */
  publishPerRegions(event: string, viewFor: (regions: string[] | null) => Promise<unknown>): Promise<void>;
  /** emits an `annotation` change to the screens that may see it: a region's to that region's, a nationwide one to all */
  publishAnnotation(change: AnnotationChange): void;
  /** closes every socket of a user, on every server (after "sign out everywhere") */
  disconnectUser(username: string): void;
  close(): Promise<void>;
}

export function attachScreenSocket(deps: ScreenSocketDeps): ScreenSocket {
  const { cfg, redis, keys, auth, reader, log } = deps;
  const cluster = isClusterUrl(deps.redisUrl);
  const pub = createRedis(deps.redisUrl, 'socket-pub');
  const sub = createRedis(deps.redisUrl, 'socket-sub', { shardedSubscriber: cluster });
  for (const client of [pub, sub]) client.on('error', (err) => log.debug({ err: err.message }, 'socket adapter redis error'));
  const adapter = cluster
    ? createShardedAdapter(pub, sub, { channelPrefix: `${keys.prefix}socket.io` })
    : createAdapter(pub, sub, { key: `${keys.prefix}socket.io` });
  const io = new Server(deps.http, { serveClient: false, adapter });
  const nsp = io.of('/screen');

  nsp.use(async (socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const principal = typeof token === 'string' && token ? await auth.verify(token) : null;
    if (!principal) return next(new Error(token ? 'invalid or expired token' : 'missing token (POST /api/v1/auth/login)'));
    socket.data.principal = principal;
    socket.data.token = token;
    next();
  });

  // the steady rate refills the burst: `burst` points over burst / perSecond seconds
  const subscribeLimiter = new RateLimiterMemory({ points: SUBSCRIBE_LIMIT.burst, duration: SUBSCRIBE_LIMIT.burst / SUBSCRIBE_LIMIT.perSecond });

  const registerView = (viewKey: string) => redis.zadd(keys.screenViews, Date.now(), viewKey).catch(() => 0);

  nsp.on('connection', (socket) => {
    const principal = socket.data.principal as Principal;
    void socket.join([userRoom(principal.username), ...(principal.regions === null ? [ALL_ALERTS_ROOM] : principal.regions.map(regionAlertsRoom))]);
    // a socket lives no longer than its token: the client reconnects with the refreshed one
    const expiry = setTimeout(() => socket.disconnect(true), Math.max(0, principal.expiresAt - Date.now()));
    socket.on('disconnect', () => clearTimeout(expiry));

    // subscribes run one at a time in the order they came, so the last one asked for is the view joined
    let queue: Promise<void> = Promise.resolve();
    let queued = 0;
    socket.on('subscribe', async (payload: unknown, ack: unknown) => {
      if (typeof ack !== 'function') return;
      const reply = ack as (answer: ScreenSubscribeAck) => void;
      try {
        await subscribeLimiter.consume(socket.id);
      } catch {
        return reply({ error: `too many subscribes: at most ${SUBSCRIBE_LIMIT.burst} at once and ${SUBSCRIBE_LIMIT.perSecond} per second` });
      }
      if (queued >= SUBSCRIBES_QUEUED) return reply({ error: `too many subscribes waiting: at most ${SUBSCRIBES_QUEUED}` });
      queued++;
      queue = queue
        .then(() => handleSubscribe(socket, payload, reply))
        .catch((err: Error) => log.warn({ err: err.message }, 'subscribe failed'))
        .finally(() => void queued--);
    });
  });

  async function handleSubscribe(socket: Socket, payload: unknown, reply: (answer: ScreenSubscribeAck) => void): Promise<void> {
    if (socket.disconnected) return;
    // the token is checked again: it may have expired, or its user been signed out or changed
    const principal = await auth.verify(socket.data.token as string);
    if (!principal) {
      reply({ error: 'invalid or expired token' });
      socket.disconnect(true);
      return;
    }
    socket.data.principal = principal;
    const parsed = subscription.safeParse(payload ?? {});
    if (!parsed.success) return reply({ error: describeParamError(parsed.error) });
    const decision = authorizeLiveScope(principal, parsed.data, cfg);
    if (!decision.ok) return reply({ error: decision.error });
    const plan = planView(cfg, decision.scope);
    for (const room of socket.rooms) if (room.startsWith(VIEW_ROOM_PREFIX)) await socket.leave(room);
    await socket.join(VIEW_ROOM_PREFIX + plan.viewKey);
    await registerView(plan.viewKey);
    try {
      reply({ snapshot: await reader.readView(plan) });
    } catch (err) {
      log.warn({ err: (err as Error).message, view: plan.viewKey }, 'snapshot failed');
      reply({ error: 'the live data store is unavailable; retrying' });
    }
  }

  // every server says which views its sockets watch, so the push leader computes only those
  const refresh = setInterval(() => {
    const views = [...nsp.adapter.rooms.keys()].filter((room) => room.startsWith(VIEW_ROOM_PREFIX));
    for (const room of views) void registerView(room.slice(VIEW_ROOM_PREFIX.length));
  }, ROOMS_REFRESH_MS);

  return {
    io,
    nsp,
    publishNationwide(event, payload) {
      nsp.to(ALL_ALERTS_ROOM).emit(event, payload);
    },
    async publishPerRegions(event, viewFor) {
      nsp.to(ALL_ALERTS_ROOM).emit(event, await viewFor(null));
      const regional = (await nsp.fetchSockets()).filter((socket) => (socket.data.principal as Principal).regions !== null);
      const byRegions = new Map<string, typeof regional>();
      for (const socket of regional) {
        const key = [...(socket.data.principal as Principal).regions!].sort().join(',');
        const group = byRegions.get(key);
        if (group) group.push(socket);
        else byRegions.set(key, [socket]);
      }
      for (const [key, sockets] of byRegions) {
        const payload = await viewFor(key.split(','));
        for (const socket of sockets) socket.emit(event, payload);
      }
    },
    disconnectUser(username) {
      nsp.in(userRoom(username)).disconnectSockets(true);
    },
    publishAnnotation(change) {
      const region = 'annotation' in change ? change.annotation.region : change.region;
      const rooms = region ? [ALL_ALERTS_ROOM, regionAlertsRoom(region)] : [ALL_ALERTS_ROOM, ...cfg.regions.map((r) => regionAlertsRoom(r.id))];
      nsp.to(rooms).emit('annotation', change);
    },
    publishAlert(alert) {
      const region = alert.labels.region;
      nsp.to(region ? [ALL_ALERTS_ROOM, regionAlertsRoom(region)] : [ALL_ALERTS_ROOM]).emit('alert', alert);
    },
    async close() {
      clearInterval(refresh);
      nsp.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
