import net from 'node:net';
import { Cluster, type Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server/start-server.js';
import { planView } from '../server/push/view-plan.js';
import { createViewReader } from '../server/push/view-read.js';
import { createLogger } from '../stream/log.js';
import type { ScreenFrame } from '../stream/types.js';
import { API_KEY, AUTH_SECRET, USER_ID_KEY, sleep, startTestApp, type TestApp } from './harness.js';
import { connectScreen, type ScreenClient } from './screen-client.js';

let app: TestApp;
const clients: ScreenClient[] = [];
beforeAll(async () => (app = await startTestApp('screensock', { pushIntervalMs: 200 })));
afterAll(async () => {
  for (const client of clients) client.close();
  await app?.close();
});

const open = async (username: string | undefined, subscription = {}) => {
  const client = connectScreen(app.server.url, username ? await app.token(username) : undefined, subscription);
  clients.push(client);
  return client;
};

let seq = 0;
/** `visits` foot traffic at a store, now */
async function postVisits(store: string, visits: number) {
  const response = await app.post([{ id: `sv-${seq++}`, type: 'visit', ts: Date.now(), channel: 'store', store, count: visits }]);
  expect(response.status).toBe(202);
}
const visits5m = (frame: ScreenFrame) => frame.windows['5m'].visits;

describe('the /screen namespace', () => {
  it('refuses a connection without a token or with a bad one', async () => {
    for (const auth of [{}, { token: 'not-a-token' }]) {
      const socket = io(`${app.server.url}/screen`, { auth, transports: ['websocket'], reconnection: false });
      const error = await new Promise<Error>((resolve) => socket.on('connect_error', resolve));
      expect(error.message).toMatch(/token/);
      socket.close();
    }
  });

  it('answers subscribe with the full snapshot of the view, equal to /api/v1/live', async () => {
    await postVisits('sh-jingan', 7);
    await app.post([{ id: `sv-${seq++}`, type: 'conversion', ts: Date.now(), channel: 'douyin', region: 'east', value: 199.5, userId: 'u-1' }]);
    await app.drained();
    // the snapshot and /live are read one after the other: when a 10 s bucket turns between
    // them their windows cover different spans, so read both again until they cover the same
    const sameSpans = (a: ScreenFrame['windows'], b: ScreenFrame['windows']) =>
      (['1m', '5m', '15m', '1h', '24h'] as const).every((w) => a[w].from === b[w].from && a[w].to === b[w].to);
    let snapshot: ScreenFrame | undefined;
    let live: { windows: ScreenFrame['windows'] } | undefined;
    for (let attempt = 0; attempt < 3 && !(snapshot && live && sameSpans(snapshot.windows, live.windows)); attempt++) {
      const ack = await (await open('ops')).subscribed;
      if (!('snapshot' in ack)) throw new Error(ack.error);
      snapshot = ack.snapshot;
      live = await (await app.get('/api/v1/live')).json();
    }
    if (!snapshot || !live) throw new Error('no snapshot');
    expect(snapshot).toMatchObject({ viewKey: 'all', level: 'nation', partial: false });
    expect(snapshot.trend).toHaveLength(360);
    expect(snapshot.channels).toHaveLength(app.cfg.channels.length);
    expect(snapshot.channels.every((c) => c.trend.length === 60)).toBe(true);
    expect(snapshot.children.map((c) => c.id)).toEqual(app.cfg.regions.map((r) => r.id));
    expect(snapshot.stores).toHaveLength(app.cfg.storeById.size);
    for (const window of ['1m', '5m', '15m', '1h', '24h'] as const) {
      expect(snapshot.windows[window]).toEqual(live.windows[window]);
    }
    expect(snapshot.windows['1h']).toMatchObject({ visits: 7, conversions: 1, revenue: 199.5 });
    expect(snapshot.trend.reduce((sum, p) => sum + p.visits, 0)).toBe(7);
    expect(snapshot.children.find((c) => c.id === 'east')!.today.visits).toBeGreaterThanOrEqual(7);
    expect(snapshot.channels.find((c) => c.id === 'douyin')!.trend.reduce((sum, p) => sum + p.revenue, 0)).toBe(199.5);
  });

  it('compares today with the same span of yesterday, read from the database', async () => {
    const beforeMidnight = 86_400_000 - ((Date.now() + 8 * 3_600_000) % 86_400_000);
    if (beforeMidnight < 30_000) await sleep(beforeMidnight); // the day must not turn during the test
    const justAfterMidnight = 180_000 - ((Date.now() + 8 * 3_600_000) % 86_400_000);
    if (justAfterMidnight > 0) await sleep(justAfterMidnight); // yesterday's span must be longer than the 1 min used below
    const now = Date.now();
    const sinceMidnight = (now + 8 * 3_600_000) % 86_400_000;
    const yesterdayTs = now - 86_400_000 - Math.min(60_000, sinceMidnight / 2); // inside yesterday's span up to this time
    // yesterday, but after this time of day: not compared (and not past yesterday's end: a run minutes before midnight)
    const tooLate = now - 86_400_000 + Math.min(120_000, (86_400_000 - sinceMidnight) / 2);
    expect((await app.post([
      { id: 'y-1', type: 'visit', ts: yesterdayTs, channel: 'store', store: 'wx-zhongshan', count: 9 },
      { id: 'y-2', type: 'visit', ts: tooLate, channel: 'store', store: 'wx-zhongshan', count: 4 },
    ])).status).toBe(202);
    await app.drained();
    const client = await open('ops', { store: 'wx-zhongshan' });
    const ack = await client.subscribed;
    if (!('snapshot' in ack)) throw new Error(ack.error);
    expect(ack.snapshot.today.yesterday).toMatchObject({ visits: 9, conversions: 0 });
    expect(ack.snapshot.today.values.visits).toBe(0);
  }, 300_000); // may wait out Beijing's midnight (up to 3.5 min)

  it('pushes changes to the rooms that watch them, and only to those', async () => {
    const east = await open('ops', { region: 'east' });
    const north = await open('ops', { region: 'north' });
    const [eastAck, northAck] = await Promise.all([east.subscribed, north.subscribed]);
    if (!('snapshot' in eastAck) || !('snapshot' in northAck)) throw new Error('refused');
    const eastBefore = visits5m(eastAck.snapshot);
    const northBefore = visits5m(northAck.snapshot);
    await postVisits('hz-wulin', 11);
    const frame = await east.waitFor((f) => visits5m(f) === eastBefore + 11, 3_000);
    expect(frame.partial).toBe(true);
    expect(frame.children.find((c) => c.id === 'hz-wulin')!.today.visits).toBeGreaterThanOrEqual(11);
    await sleep(600);
    expect(east.frames.every((f) => f.viewKey === 'r:east')).toBe(true);
    expect(north.frames.every((f) => f.viewKey === 'r:north' && visits5m(f) === northBefore)).toBe(true);
    // Prometheus times the push: data change seen → frame emitted
    const metrics = await (await fetch(`${app.server.url}/metrics`)).text();
    const count = Number(/^mw_push_latency_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    const sum = Number(/^mw_push_latency_seconds_sum (\S+)$/m.exec(metrics)?.[1]);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(sum / count).toBeLessThan(1);
  });

  it('pushes a changing view at most once per PUSH_INTERVAL_MS, and a quiet one at once', async () => {
    const client = await open('ops', { store: 'hf-huaihe' });
    const ack = await client.subscribed;
    if (!('snapshot' in ack)) throw new Error('refused');
    await sleep(600); // past the interval since the snapshot
    const quietBefore = visits5m(ack.snapshot);
    const posted = Date.now();
    await postVisits('hf-huaihe', 1);
    await client.waitFor((f) => visits5m(f) === quietBefore + 1, 2_000);
    const quietLatency = Date.now() - posted;
    client.frames.length = 0;
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      await postVisits('hf-huaihe', 1);
      await sleep(40);
    }
    await sleep(300);
    const times = client.frames.map((f) => Date.parse(f.asOf));
    expect(times.length).toBeGreaterThanOrEqual(6); // about one per 200 ms while it changes
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(190);
    expect(quietLatency).toBeLessThan(200 + 150); // not left waiting for a fixed tick
  });

  it('refuses a manager another region, its stores and its channels, in the ack', async () => {
    for (const subscription of [{ region: 'north' }, { store: 'bj-sanlitun' }, { region: 'north', channel: 'douyin' }]) {
      const client = await open('manager-east', subscription);
      const ack = await client.subscribed;
      expect(ack).toEqual({ error: expect.stringMatching(/may not read region "north"/) });
      client.close();
    }
    const own = await open('manager-east');
    const ack = await own.subscribed;
    expect('snapshot' in ack && ack.snapshot.viewKey).toBe('r:east');
  });

  it('names a malformed subscription', async () => {
    const client = await open('ops', { region: 'east', colour: 'red' });
    expect(await client.subscribed).toEqual({ error: expect.stringMatching(/colour|Unrecognized/) });
  });

  it('gives a reconnecting screen a fresh snapshot with what happened meanwhile', async () => {
    const client = await open('ops', { store: 'nj-xinjiekou' });
    const ack = await client.subscribed;
    if (!('snapshot' in ack)) throw new Error(ack.error);
    const before = visits5m(ack.snapshot);
    client.socket.io.engine.close(); // the transport drops, as on a network blip
    await postVisits('nj-xinjiekou', 5);
    await app.drained();
    await client.waitFor((f) => !f.partial && visits5m(f) === before + 5, 5_000);
    expect(client.snapshots.length).toBe(2);
  });

  it('serves one wall from two server instances that share rooms through Redis', async () => {
    const second: RunningServer = await startServer({
      cfg: app.cfg, stores: app.stores, port: 0, host: '127.0.0.1', demoMode: true, authSecret: AUTH_SECRET, userIdKey: USER_ID_KEY,
      apiKeys: () => [API_KEY], log: createLogger('screensock-2'), jobs: false, pushIntervalMs: 200,
    });
    try {
      const onFirst = await open('ops', { store: 'sz-guanqian' });
      const onSecond = connectScreen(second.url, await app.token('ops'), { store: 'sz-guanqian' });
      clients.push(onSecond);
      const [a, b] = await Promise.all([onFirst.subscribed, onSecond.subscribed]);
      if (!('snapshot' in a) || !('snapshot' in b)) throw new Error('refused');
      const before = visits5m(a.snapshot);
      await postVisits('sz-guanqian', 3);
      // only one server is the push leader: one of the two clients is served through the adapter
      await Promise.all([onFirst, onSecond].map((c) => c.waitFor((f) => f.partial && visits5m(f) === before + 3, 3_000)));
      const leaders = await app.redis.get(`${app.stores.redisPrefix}lock:push`);
      expect(leaders).toBeTruthy();
    } finally {
      await second.close();
    }
  });

  it('reads the views due at one push together, a range they share once, each frame its own view\'s figures', async () => {
    await postVisits('bj-sanlitun', 4);
    await postVisits('bj-guomao', 2);
    await app.drained();
    const client = app.redis.duplicate();
    const reader = createViewReader({ cfg: app.cfg, redis: client, pool: app.db, keys: app.keys, storage: app.server.storage });
    // the nation's frame and a store's share that store's today and the channels' minutes
    const plans = [{}, { store: 'bj-sanlitun' }].map((subscription) => planView(app.cfg, subscription));
    const sameInstant = (frame: ScreenFrame) => ({ ...frame, asOf: '' });
    try {
      // connects to every node, waits for the database's parts (yesterday, new users), keeps today's settled sums
      await Promise.all(plans.map((plan) => reader.readView(plan)));
      await reader.readFrames(plans);
      for (let attempt = 0; ; attempt++) {
        const together = await scriptCallsOf(client, () => reader.readFrames(plans));
        const apart = await scriptCallsOf(client, () => Promise.all(plans.map((plan) => reader.readFrames([plan]).then(([frame]) => frame!))));
        // a 10 s bucket turned between the two reads: their windows differ, read both again
        if (together.result[0]!.windows['1m'].to !== apart.result[0]!.windows['1m'].to && attempt < 3) continue;
        expect(together.calls).toBeLessThan(apart.calls);
        expect(together.result.map((frame) => frame.viewKey)).toEqual(plans.map((plan) => plan.viewKey));
        expect(together.result.map(sameInstant)).toEqual(apart.result.map(sameInstant));
        const [nation, store] = together.result as [ScreenFrame, ScreenFrame];
        expect(store.windows['1h'].visits).toBe(4);
        expect(nation.stores.find((s) => s.id === 'bj-sanlitun')!.today.visits).toBe(store.today.values.visits);
        expect(nation.today.values.visits).toBeGreaterThan(store.today.values.visits);
        break;
      }
    } finally {
      client.disconnect();
    }
  });
});

/** How many Lua script calls one client sends (to every node of a cluster) while `run` runs. */
async function scriptCallsOf<T>(client: Redis | Cluster, run: () => Promise<T>): Promise<{ calls: number; result: T }> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const monitors = await Promise.all(nodes.map(async (node) => {
    const address = /addr=(\S+)/.exec(String(await node.client('INFO')))![1]!;
    return watchCommands(node.options.host ?? '127.0.0.1', node.options.port ?? 6379, address);
  }));
  try {
    const result = await run();
    // MONITOR lists a client's commands in order: once it shows this marker, it has shown all the run sent
    const marker = `scripts-counted-${Date.now()}`;
    await Promise.all(nodes.map((node, i) => Promise.all([monitors[i]!.seen(marker), node.echo(marker)])));
    return { calls: monitors.reduce((sum, monitor) => sum + monitor.commands.filter((name) => /^eval/i.test(name)).length, 0), result };
  } finally {
    for (const monitor of monitors) monitor.close();
  }
}

/**
 * The commands one client sends to one Redis node, by name, from MONITOR over a plain socket. ioredis's own
 * monitor() enters monitoring mode a tick after MONITOR's +OK, so lines that arrive in the same read as the +OK
 * are taken for replies to no command and thrown (seen on a busy cluster in CI).
 */
async function watchCommands(host: string, port: number, source: string) {
  const socket = net.connect(port, host);
  const commands: string[] = [];
  const waiting: { marker: string; resolve: () => void }[] = [];
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const started = new Promise<void>((resolve, reject) => ((ready = resolve), (failed = reject)));
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('error', (err) => failed(err));
  socket.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\r\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line === '+OK') ready();
      const match = /^\+\S+ \[\d+ (\S+)\] "((?:[^"\\]|\\.)*)"(?: "((?:[^"\\]|\\.)*)")?/.exec(line);
      if (!match || match[1] !== source) continue;
      commands.push(match[2]!);
      if (/^echo$/i.test(match[2]!)) for (const w of waiting.filter((w) => w.marker === match[3])) w.resolve();
    }
  });
  socket.write('MONITOR\r\n');
  await started;
  return {
    commands,
    seen: (marker: string) => new Promise<void>((resolve, reject) => {
      waiting.push({ marker, resolve });
      setTimeout(() => reject(new Error(`MONITOR on ${host}:${port} did not show ${source} send ${marker}`)), 10_000).unref();
    }),
    close: () => socket.destroy(),
  };
}
