// The screen's speed: an event POSTed → the `metrics` frame that contains it at a real Socket.IO
// client (under 5 000 events/s of background load); delivery of frames to 200 clients at once;
// and the page itself in Chromium (first paint, first data, JS heap).
import { existsSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import type { AppConfig } from '../../config/load.js';
import { PROCESSOR_NODE_FLAGS } from '../../server/processes.js';
import { planView } from '../../server/push/view-plan.js';
import { createViewReader } from '../../server/push/view-read.js';
import { createPool, createRedis, type StoreSettings } from '../../stream/connect.js';
import { migrate } from '../../stream/db/migrate.js';
import { keysOfStores } from '../../stream/redis-keys.js';
import type { ScreenFrame, ScreenSubscribeAck, ScreenSubscription } from '../../stream/types.js';
import { drive, login, noTotals } from './ingest.js';
import { cpuMeter, freePort, pidsNamed, rssMb, spawnApp, stop, storeEnv, waitReady } from './processes.js';
import { latencySummary, type BenchResult } from './report.js';

// online events in the load carry no store, and store events use channel "store": this view sees only the probes
const PROBE_VIEW: ScreenSubscription = { store: 'sh-jingan', channel: 'app' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function subscribe(url: string, token: string, view: ScreenSubscription, onFrame: (frame: ScreenFrame, receivedAt: number) => void): Promise<{ socket: Socket; snapshot: ScreenFrame }> {
  const socket = io(`${url}/screen`, { auth: { token }, transports: ['websocket'], timeout: 60_000 });
  socket.on('metrics', (frame: ScreenFrame) => onFrame(frame, Date.now()));
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  const ack = (await socket.emitWithAck('subscribe', view)) as ScreenSubscribeAck;
  if ('error' in ack) throw new Error(ack.error);
  return { socket, snapshot: ack.snapshot };
}

export async function benchScreen(cfg: AppConfig, stores: StoreSettings, options: { seconds: number; latencyRate: number; processors: number; pushIntervalMs: number; fanOutClients: number }): Promise<BenchResult[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnApp('server', { ...storeEnv(stores), PORT: String(port), SIMULATE: '0', PROCESSORS: '0', PUSH_INTERVAL_MS: String(options.pushIntervalMs) });
  await waitReady(url);
  const processors = Array.from({ length: options.processors }, (_, i) => spawnApp('stream', { ...storeEnv(stores), PROCESSOR_NAME: `screen-${i + 1}` }, PROCESSOR_NODE_FLAGS));
  let serverRss = 0;
  const rssTimer = setInterval(() => (serverRss = Math.max(serverRss, rssMb(server.pid!))), 250);
  const token = await login(url);
  const results: BenchResult[] = [];
  const sockets: Socket[] = [];
  try {
    // --- event → screen ------------------------------------------------------------------------
    let expected = 0;
    let resolveSeen: ((at: number) => void) | null = null;
    const probe = await subscribe(url, token, PROBE_VIEW, (frame, at) => {
      if (resolveSeen && frame.windows['24h'].conversions >= expected) resolveSeen(at);
    });
    sockets.push(probe.socket);
    const nation = await subscribe(url, token, {}, () => {}); // the nation view is computed at every push too, as on a real wall
    sockets.push(nation.socket);
    expected = probe.snapshot.windows['24h'].conversions;
    const totals = noTotals();
    const background = drive(url, cfg, `scr${Date.now().toString(36)}`, { n: 0 }, totals, options.latencyRate, options.seconds);
    const latencies: number[] = [];
    /** per counted probe: how long its POST took to be answered (accepted into the stream) */
    const posted: number[] = [];
    const deadline = Date.now() + options.seconds * 1000;
    let n = 0;
    // the first probe meets processors still starting (connecting, migrating, first reads): it is
    // reported apart, not as part of the sustained latency
    let firstProbeMs: number | null = null;
    while (Date.now() < deadline) {
      expected++;
      const seen = new Promise<number>((resolve) => (resolveSeen = resolve));
      const sentAt = Date.now();
      const response = await fetch(`${url}/api/v1/events`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'demo-key' },
        body: JSON.stringify([{ id: `probe-${Date.now()}-${n++}`, type: 'conversion', ts: Date.now(), channel: PROBE_VIEW.channel, store: PROBE_VIEW.store, value: 1 }]),
      });
      if (response.status !== 202) throw new Error(`probe refused: ${response.status}`);
      const acceptedMs = Date.now() - sentAt;
      const at = await Promise.race([seen, sleep(10_000).then(() => NaN)]);
      resolveSeen = null;
      if (Number.isNaN(at)) throw new Error('a probe event never reached the screen');
      if (firstProbeMs === null) firstProbeMs = at - sentAt;
      else {
        latencies.push(at - sentAt);
        posted.push(acceptedMs);
      }
      // at random phases of the push loop's 50 ms poll, and after the view's interval: a view gets a
      // frame at most once per PUSH_INTERVAL_MS (CONTRACT), so a change made sooner after a frame
      // waits out the rest of the interval by design — up to 500 ms more, which would measure the
      // contract's pacing, not the path. (Sleeping 200–500 ms, as until 2026-12, mixed the two:
      // p50 178–206, p99 323–1 812 ms on the runs where the path alone gave p50 54, p99 202 ms.)
      await sleep(options.pushIntervalMs + Math.random() * 300);
    }
    const bg = await background;
    results.push({
      name: 'event-to-screen-latency', events: latencies.length, eventsPerSec: null, ...latencySummary(latencies),
      peakRssMb: serverRss, ceiling: null, ratio: null,
      notes: `POST → the Socket.IO "metrics" frame containing it, ${latencies.length} probes, ${options.latencyRate} events/s background ` +
        `(statuses ${JSON.stringify(bg.statuses)}), each at least PUSH_INTERVAL_MS ${options.pushIntervalMs} after the view's last frame (sooner, it waits out the interval), max ${Math.max(...latencies).toFixed(0)} ms ` +
        `(the first probe, while the processors started, ${firstProbeMs} ms, not counted); peak RSS of the server`,
      extra: { pushIntervalMs: options.pushIntervalMs, maxMs: Math.max(...latencies), firstProbeMs,
        // the slowest probes as [to the screen, of which the POST], to tell ingest from the rest
        slowest: latencies.map((ms, i) => [ms, posted[i]!]).sort((a, b) => b[0]! - a[0]!).slice(0, 5) },
    });

    // --- fan-out ---------------------------------------------------------------------------------
    const delivery: number[] = [];
    let counting = false;
    for (let connected = 0; connected < options.fanOutClients; connected += 20) {
      const clients = await Promise.all(Array.from({ length: Math.min(20, options.fanOutClients - connected) }, () =>
        subscribe(url, token, {}, (frame, at) => { if (counting) delivery.push(at - Date.parse(frame.asOf)); })));
      sockets.push(...clients.map((c) => c.socket));
    }
    const fanOutSeconds = Math.min(30, options.seconds);
    const fanOutRate = Math.min(1000, options.latencyRate);
    const load = drive(url, cfg, `fan${Date.now().toString(36)}`, { n: 0 }, noTotals(), fanOutRate, fanOutSeconds);
    await sleep(2_000);
    counting = true;
    await load;
    counting = false;
    const framesPerClient = delivery.length / options.fanOutClients;
    results.push({
      name: 'screen-fan-out', events: delivery.length, eventsPerSec: delivery.length / (fanOutSeconds - 2), ...latencySummary(delivery),
      peakRssMb: serverRss, ceiling: null, ratio: null,
      notes: `${options.fanOutClients} Socket.IO clients on the nation view, ${fanOutRate} events/s of load for ${fanOutSeconds} s: ` +
        `${framesPerClient.toFixed(0)} frames each; delivery = receipt − the frame's asOf (includes reading the view from Redis)`,
      extra: { clients: options.fanOutClients, framesPerClient },
    });
  } finally {
    clearInterval(rssTimer);
    for (const socket of sockets) socket.disconnect();
    await Promise.all(processors.map(stop));
    await stop(server);
  }
  return results;
}

/** The page in Chromium: first contentful paint, first data on the tiles, JS heap after GC. */
export async function benchScreenPage(cfg: AppConfig, stores: StoreSettings): Promise<BenchResult | null> {
  const { CHROMIUM, launchChromium } = await import('../browser/chromium.js');
  if (!existsSync(CHROMIUM) || !existsSync('dist/screen/index.html')) return null;
  const { openMetrics, readMetrics } = await import('../browser/page-metrics.js');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnApp('server', { ...storeEnv(stores), PORT: String(port), SIMULATE: '1', SIM_BACKFILL: '0', PROCESSORS: '1' });
  const browser = await launchChromium();
  try {
    await waitReady(url);
    const token = await login(url);
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    // a wall that is already signed in, as after its first day
    await context.addInitScript((session) => localStorage.setItem('wall.session', session), JSON.stringify({ username: 'ops', token, role: 'ops', regions: null, expiresAt: Date.now() + 3_600_000 }));
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(url);
    await page.waitForSelector('[data-tile=revenue]');
    const firstData = Date.now() - started;
    const paint = await page.evaluate(() => performance.getEntriesByType('paint').map((e) => ({ name: e.name, ms: e.startTime })));
    const cdp = await openMetrics(page);
    await sleep(10_000);
    const metrics = await readMetrics(cdp);
    const fcp = paint.find((p) => p.name === 'first-contentful-paint')?.ms ?? null;
    // replay: a jump (a step back) until the replayed frame is on the wall and painted
    await page.click('[data-test=replay-enter]');
    await page.waitForSelector('[data-test=replay-banner]');
    const jumps: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const answered = page.waitForResponse((r) => r.url().includes('/api/v1/replay'));
      await page.click(i % 2 ? '[data-step="-10s"]' : '[data-step="-1m"]');
      await answered;
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      jumps.push(Date.now() - t0);
    }
    jumps.sort((a, b) => a - b);
    const jumpP50 = jumps[Math.floor(jumps.length / 2)]!;
    const jumpMax = jumps.at(-1)!;
    return {
      name: 'screen-page', events: 0, eventsPerSec: null, p50Ms: fcp, p95Ms: null, p99Ms: null, peakRssMb: null, ceiling: null, ratio: null,
      notes: `Chromium 1920×1080: first contentful paint ${fcp?.toFixed(0)} ms, first data on the tiles ${firstData} ms after navigation; ` +
        `JS heap after GC ${(metrics.heapUsedBytes / 2 ** 20).toFixed(1)} MB, ${metrics.nodes} DOM nodes (p50 column = first contentful paint); ` +
        `replay: a jump painted in p50 ${jumpP50} ms, at most ${jumpMax} ms over 10 steps (target ≤ 1 s)`,
      extra: { firstContentfulPaintMs: fcp, firstDataMs: firstData, heapMB: metrics.heapUsedBytes / 2 ** 20, nodes: metrics.nodes, replayJumpP50Ms: jumpP50, replayJumpMaxMs: jumpMax },
    };
  } finally {
    await browser.close();
    await stop(server);
  }
}

/** Distinct views in an order that mixes levels: nation, regions, stores, channels, then the pairs. */
function distinctViews(cfg: AppConfig): ScreenSubscription[] {
  const regions = cfg.regions.map((r) => ({ region: r.id }));
  const stores = cfg.regions.flatMap((r) => r.stores.map((s) => ({ store: s.id })));
  const channels = cfg.channels.map((c) => ({ channel: c.id }));
  const regionChannels = cfg.regions.flatMap((r) => cfg.channels.map((c) => ({ region: r.id, channel: c.id })));
  const storeChannels = stores.flatMap((s) => cfg.channels.map((c) => ({ ...s, channel: c.id })));
  return [{}, ...regions, ...stores, ...channels, ...regionChannels, ...storeChannels];
}

/**
 * What pushing costs as the number of distinct watched views grows: the server's, Redis's and PostgreSQL's CPU
 * per second under a steady load, with 0 views watched (the load alone) and then more and more
 * distinct ones (one client each); the cost of the views is the difference from the load alone.
 */
export async function benchPushCost(cfg: AppConfig, stores: StoreSettings, options: { processors: number; pushIntervalMs: number; steps: number[]; rate: number; stepSeconds: number }): Promise<BenchResult> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnApp('server', { ...storeEnv(stores), PORT: String(port), SIMULATE: '0', PROCESSORS: '0', PUSH_INTERVAL_MS: String(options.pushIntervalMs) });
  await waitReady(url);
  const processors = Array.from({ length: options.processors }, (_, i) => spawnApp('stream', { ...storeEnv(stores), PROCESSOR_NAME: `push-${i + 1}` }, PROCESSOR_NODE_FLAGS));
  // PostgreSQL too: a frame's new-user counts come from the first-seen ledger
  const cpu = cpuMeter({ server: () => [server.pid!], redis: () => pidsNamed('redis-server'), postgres: () => pidsNamed('postgres') });
  const token = await login(url);
  const views = distinctViews(cfg);
  const sockets: Socket[] = [];
  const steps: Array<{ views: number; serverMsPerSec: number; redisMsPerSec: number; postgresMsPerSec: number; framesPerSec: number }> = [];
  let frames = 0;
  try {
    // a first stretch of load fills today's buckets for every scope the load touches
    await drive(url, cfg, `pcw${Date.now().toString(36)}`, { n: 0 }, noTotals(), options.rate, 10);
    for (const count of [0, ...options.steps]) {
      while (sockets.length < count) {
        const batch = views.slice(sockets.length, Math.min(count, sockets.length + 20));
        const clients = await Promise.all(batch.map((view) => subscribe(url, token, view, () => frames++)));
        sockets.push(...clients.map((c) => c.socket));
      }
      await sleep(1_000);
      frames = 0;
      cpu.start();
      const started = performance.now();
      await drive(url, cfg, `pc${count}${Date.now().toString(36)}`, { n: 0 }, noTotals(), options.rate, options.stepSeconds);
      const seconds = (performance.now() - started) / 1000;
      const used = cpu.stop();
      steps.push({ views: count, serverMsPerSec: (used.server! * 1000) / seconds, redisMsPerSec: (used.redis! * 1000) / seconds, postgresMsPerSec: (used.postgres! * 1000) / seconds, framesPerSec: frames / seconds });
    }
  } finally {
    for (const socket of sockets) socket.disconnect();
    await Promise.all(processors.map(stop));
    await stop(server);
  }
  const base = steps[0]!;
  const total = (s: typeof base) => s.serverMsPerSec + s.redisMsPerSec + s.postgresMsPerSec;
  const costs = steps.slice(1).map((s) => ({ ...s, pushMsPerSec: total(s) - total(base) }));
  const perView = costs.map((c) => c.pushMsPerSec / c.views);
  return {
    name: 'screen-push-cost', events: costs.at(-1)!.views, eventsPerSec: null, p50Ms: null, p95Ms: null, p99Ms: null, peakRssMb: null, ceiling: null, ratio: null,
    notes: `CPU ms per second (server + Redis + PostgreSQL) that pushing adds over the load alone (${options.rate} events/s, ${base.serverMsPerSec.toFixed(0)} + ${base.redisMsPerSec.toFixed(0)} + ${base.postgresMsPerSec.toFixed(0)} ms/s), by distinct views watched: ` +
      costs.map((c, i) => `${c.views} views ${c.pushMsPerSec.toFixed(0)} ms/s (${perView[i]!.toFixed(2)} per view; server ${(c.serverMsPerSec - base.serverMsPerSec).toFixed(0)}, Redis ${(c.redisMsPerSec - base.redisMsPerSec).toFixed(0)}, PostgreSQL ${(c.postgresMsPerSec - base.postgresMsPerSec).toFixed(0)}; ${c.framesPerSec.toFixed(0)} frames/s)`).join('; '),
    extra: { steps, costs, perView },
  };
}

/**
 * What reading one frame costs, apart from pushing it: the frames of 100 distinct views (nation,
 * regions, stores, channels, region × channel), read together as the push loop reads the views due
 * at once, 30 times over the history the push-cost run left; CPU of this process (the reader) and of
 * Redis per frame. The processors and the server are stopped by then: nothing else runs.
 */
export async function benchFrameRead(cfg: AppConfig, stores: StoreSettings): Promise<BenchResult> {
  const redis = createRedis(stores.redisUrl, 'bench-frame-read');
  const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 4 });
  try {
    const storage = await migrate(pool, cfg, stores.dbSchema);
    const reader = createViewReader({ cfg, redis, pool, keys: keysOfStores(stores, cfg.pipeline), storage });
    const plans = distinctViews(cfg).slice(0, 100).map((view) => planView(cfg, view));
    // the database's parts (yesterday, new users) read once, as a running wall has them
    await Promise.all(plans.map((plan) => reader.readView(plan)));
    for (let i = 0; i < 5; i++) await reader.readFrames(plans);
    // this process is the reader ("load generator" to the meter)
    const cpu = cpuMeter({ redis: () => pidsNamed('redis-server') });
    const rounds = 30;
    cpu.start();
    const started = performance.now();
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await reader.readFrames(plans);
      times.push(performance.now() - t0);
    }
    const used = cpu.stop();
    const frames = rounds * plans.length;
    const readerPerFrame = (used['load generator']! * 1000) / frames;
    const redisPerFrame = (used.redis! * 1000) / frames;
    return {
      name: 'screen-frame-read', events: frames, eventsPerSec: frames / ((performance.now() - started) / 1000), ...latencySummary(times), peakRssMb: null, ceiling: null, ratio: null,
      notes: `${plans.length} distinct views' frames read together, ${rounds} times (latencies: one read of all ${plans.length}); CPU per frame: reader ${readerPerFrame.toFixed(2)} ms, Redis ${redisPerFrame.toFixed(2)} ms`,
      extra: { readerMsPerFrame: readerPerFrame, redisMsPerFrame: redisPerFrame },
    };
  } finally {
    redis.disconnect();
    await pool.end();
  }
}
