// Ingest throughput (HTTP → windows visible) and POST → visible-in-/live latency.
import pg from 'pg';
import type { AppConfig } from '../../config/load.js';
import { loadConfig } from '../../config/load.js';
import { createRedis, type StoreSettings } from '../../stream/connect.js';
import { keysOfStores, streamBacklog } from '../../stream/redis-keys.js';
import type { LiveResponse } from '../../stream/types.js';
import { PROCESSOR_NODE_FLAGS } from '../../server/processes.js';
import { cpuMeter, freePort, pidsNamed, rssMb, spawnApp, stop, storeEnv, waitReady } from './processes.js';
import { percentile, type BenchResult } from './report.js';
import { ByteWriter } from '../../stream/byte-writer.js';

const BATCH = 1000;
const CHANNELS = ['douyin', 'wechat', 'xiaohongshu', 'baidu', 'taobao', 'jd', 'app', 'wecom', 'sms'];
const REGIONS = ['east', 'north', 'south', 'central', 'southwest', 'northwest', 'northeast'];

export interface Totals { exposure: number; clicks: number; conversions: number; revenueCents: number }
/** nothing sent yet */
export const noTotals = (): Totals => ({ exposure: 0, clicks: 0, conversions: 0, revenueCents: 0 });

const CUSTOMERS = 50_000;
const ascii = (text: string) => Buffer.from(text, 'latin1');

/** A batch's bytes, written front to back from fragments made once and numbers digit by digit. */
class BatchWriter extends ByteWriter {
  constructor() {
    super(256 * BATCH);
  }

  put(fragment: Uint8Array): this {
    this.room(fragment.length);
    const { buf } = this;
    let at = this.at;
    for (let i = 0; i < fragment.length; i++) buf[at++] = fragment[i]!;
    this.at = at;
    return this;
  }

  /** A non-negative integer in decimal. */
  number(value: number): this {
    this.digits(value);
    return this;
  }

  byte(code: number): this {
    this.room(1);
    this.buf[this.at++] = code;
    return this;
  }

  /** The batch in an array of its own; the writer starts again empty. */
  take(): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(this.at);
    bytes.set(this.bytes());
    this.at = 0;
    return bytes;
  }
}

/** The fragments of a run's events, made once. */
interface BatchParts {
  idHead: Buffer;
  tsHead: Buffer;
  stores: Buffer[];
  homeStores: Buffer[];
  /** `"userId":"u<k>"}` per customer */
  userIds: Buffer[];
  /** `"channel":…,"region":…,"campaign":…` per channel × region × campaign */
  online: Buffer[];
  click: Buffer;
  exposure: Buffer;
  conversion: Buffer;
  spend: Buffer;
  visit: Buffer;
  visitEnd: Buffer;
  storeConversion: Buffer;
  storeConversionEnd: Buffer;
}

const partsOf = new Map<string, BatchParts>();
function batchParts(cfg: AppConfig, runId: string): BatchParts {
  let parts = partsOf.get(runId);
  if (parts) return parts;
  const stores = [...cfg.storeById.keys()];
  const storesOf = new Map(REGIONS.map((region) => [region, stores.filter((id) => cfg.storeById.get(id)!.region === region)]));
  parts = {
    idHead: ascii(`{"id":"${runId}-`),
    tsHead: ascii('","ts":'),
    stores: stores.map((id) => ascii(id)),
    homeStores: Array.from({ length: CUSTOMERS }, (_, k) => {
      const homeStores = storesOf.get(REGIONS[k % REGIONS.length]!)!;
      return ascii(homeStores[k % homeStores.length]!);
    }),
    userIds: Array.from({ length: CUSTOMERS }, (_, k) => ascii(`"userId":"u${k}"}`)),
    online: CHANNELS.flatMap((channel) => REGIONS.flatMap((region) => [0, 1].map((c) => ascii(`"channel":"${channel}","region":"${region}","campaign":"${channel}-${c}"`)))),
    click: ascii(',"type":"click",'),
    exposure: ascii(',"type":"exposure",'),
    conversion: ascii(',"type":"conversion",'),
    spend: ascii(',"type":"spend",'),
    visit: ascii(',"type":"visit","channel":"store","store":"'),
    visitEnd: ascii('","count":3}'),
    storeConversion: ascii(',"type":"conversion","channel":"store","store":"'),
    storeConversionEnd: ascii('","value":299,'),
  };
  partsOf.clear(); // one run at a time
  partsOf.set(runId, parts);
  return parts;
}

const COMMA = 0x2c;
const exposureTail = ascii(',"count":200}');
const conversionTail = ascii(',"value":128.4,');
const spendTail = ascii(',"value":3.5}');
const writer = new BatchWriter();

/**
 * A batch shaped like real traffic (and like the simulator's): tracked clicks and orders of known
 * users, pre-aggregated impressions and spend per channel × region × campaign, and store traffic.
 * Per 10 s bucket that is a few hundred distinct dimension combinations, as in production. Each of
 * the 50 000 customers lives in one region (customer k in REGIONS[k % 7]) and buys in its own
 * store there, as people do and as the simulator's journeys keep them.
 *
 * Written as ASCII bytes from fragments made once (not objects + JSON.stringify, nor a string
 * fetch must check and encode): the load generator shares the 2 cores it measures.
 */
export function makeBatch(cfg: AppConfig, runId: string, seq: { n: number }, totals: Totals): Uint8Array<ArrayBuffer> {
  const p = batchParts(cfg, runId);
  const now = Date.now();
  const out = writer.byte(0x5b); // [
  for (let i = 0; i < BATCH; i++) {
    const n = seq.n++;
    const r = (Math.imul(n, 2654435761) >>> 0) / 4294967296;
    if (i > 0) out.byte(COMMA);
    out.put(p.idHead).number(n).put(p.tsHead).number(now - (n % 3000));
    const channel = n % CHANNELS.length;
    const customer = (n * 7919) % CUSTOMERS;
    const home = customer % REGIONS.length;
    // impressions and spend are per region; a customer's clicks and orders are in their home region
    const region = r < 0.55 || (r >= 0.75 && r < 0.83) ? home : (n >>> 3) % REGIONS.length;
    const online = p.online[(channel * REGIONS.length + region) * 2 + (n % 2)]!;
    if (r < 0.55) {
      out.put(p.click).put(online).byte(COMMA).put(p.userIds[customer]!);
      totals.clicks += 1;
    } else if (r < 0.75) {
      out.put(p.exposure).put(online).put(exposureTail);
      totals.exposure += 200;
    } else if (r < 0.83) {
      out.put(p.conversion).put(online).put(conversionTail).put(p.userIds[customer]!);
      totals.conversions += 1;
      totals.revenueCents += 12840;
    } else if (r < 0.88) {
      out.put(p.spend).put(online).put(spendTail);
    } else if (r < 0.97) out.put(p.visit).put(p.stores[n % p.stores.length]!).put(p.visitEnd);
    else {
      out.put(p.storeConversion).put(p.homeStores[customer]!).put(p.storeConversionEnd).put(p.userIds[customer]!);
      totals.conversions += 1;
      totals.revenueCents += 29900;
    }
  }
  return out.byte(0x5d).take(); // ]
}

export async function login(url: string): Promise<string> {
  const r = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: 'demo' }) });
  return ((await r.json()) as { token: string }).token;
}

/** Posts batches at `rate` events/s for `seconds` (open loop, up to 16 requests in flight). */
export async function drive(url: string, cfg: AppConfig, runId: string, seq: { n: number }, totals: Totals, rate: number, seconds: number) {
  const statuses = new Map<number, number>();
  let accepted = 0;
  const batchesPerSec = rate / BATCH;
  const started = performance.now();
  const total = Math.round(batchesPerSec * seconds);
  let inFlight = 0;
  const inflight: Promise<void>[] = [];
  for (let b = 0; b < total; b++) {
    const due = started + (b / batchesPerSec) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= 16) await Promise.race(inflight);
    // a batch counts in the totals only once accepted: a 429 (backlog full) sends nothing
    const batchTotals = noTotals();
    const body = makeBatch(cfg, runId, seq, batchTotals);
    inFlight++;
    const p = fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'demo-key' }, body })
      .then(async (r) => {
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 202) {
          accepted += ((await r.json()) as { accepted: number }).accepted;
          for (const field of Object.keys(totals) as Array<keyof Totals>) totals[field] += batchTotals[field];
        } else await r.text();
      })
      .finally(() => {
        inFlight--;
        inflight.splice(inflight.indexOf(p), 1);
      });
    inflight.push(p);
  }
  await Promise.all(inflight);
  return { accepted, statuses: Object.fromEntries(statuses), sendSeconds: (performance.now() - started) / 1000 };
}

export interface IngestBenchOptions {
  seconds: number;
  rate: number;
  latencyRate: number;
  processors: number;
  ceilings: { streamEventsPerSec: number; copyRowsPerSec: number };
  /** more environment for the server and the processors (STREAM_PARTITIONS, …) */
  env?: NodeJS.ProcessEnv;
  /** the name of the throughput result (default ingest-throughput) */
  name?: string;
  /** measure POST → /live latency afterwards (default true) */
  latency?: boolean;
}

export async function benchIngest(cfg: AppConfig, stores: StoreSettings, options: IngestBenchOptions): Promise<BenchResult[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...storeEnv(stores), ...options.env };
  const server = spawnApp('server', { ...env, PORT: String(port), SIMULATE: '0', PROCESSORS: '0' });
  await waitReady(url);
  const processors = Array.from({ length: options.processors }, (_, i) => spawnApp('stream', { ...env, PROCESSOR_NAME: `bench-${i + 1}` }, PROCESSOR_NODE_FLAGS));
  const redis = createRedis(stores.redisUrl, 'bench-ingest');
  const keys = keysOfStores(stores, loadConfig(undefined, { ...process.env, ...env }).pipeline);
  const cpu = cpuMeter({
    server: () => [server.pid!],
    processors: () => processors.map((p) => p.pid!),
    postgres: () => pidsNamed('postgres'),
    redis: () => pidsNamed('redis-server'),
  });
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, ...processors.map((p) => rssMb(p.pid!)))), 250);
  const token = await login(url);
  const results: BenchResult[] = [];
  try {
    // --- throughput -------------------------------------------------------------------------
    const runId = `tp${Date.now().toString(36)}`;
    const totals = noTotals();
    const seq = { n: 0 };
    const started = performance.now();
    cpu.start();
    const sent = await drive(url, cfg, runId, seq, totals, options.rate, options.seconds);
    const backlogAtEnd = await streamBacklog(redis, keys);
    const pendingOf = async (p: (typeof keys.partitions)[number]) => Number(((await redis.xpending(p.stream, keys.group)) as [number])[0]);
    while ((await streamBacklog(redis, keys)) > 0 || (await Promise.all(keys.partitions.map(pendingOf))).some((n) => n > 0)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const visibleSeconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpu.stop();
    const live = (await (await fetch(`${url}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } })).json()) as LiveResponse;
    const db = new pg.Client({ connectionString: stores.databaseUrl, options: `-c search_path="${stores.dbSchema}"` });
    await db.connect();
    const stored = Number((await db.query('SELECT count(*) AS n FROM events')).rows[0].n);
    await db.end();
    const w = live.windows['1h'];
    const exact = stored === sent.accepted && w.exposure === totals.exposure && w.clicks === totals.clicks && w.conversions === totals.conversions && Math.round(w.revenue * 100) === totals.revenueCents;
    const counted = sent.accepted / visibleSeconds;
    // CPU milliseconds per 1 000 counted events, by process
    const cpuMsPerThousand = Object.fromEntries(Object.entries(cpuSeconds).map(([role, s]) => [role, (s * 1e6) / sent.accepted]));
    results.push({
      name: options.name ?? 'ingest-throughput',
      events: sent.accepted,
      eventsPerSec: counted,
      p50Ms: null, p95Ms: null, p99Ms: null,
      peakRssMb: peakRss,
      ceiling: { name: 'XADD 1000-event entries', perSec: options.ceilings.streamEventsPerSec },
      ratio: counted / options.ceilings.streamEventsPerSec,
      notes: `offered ${options.rate}/s for ${options.seconds}s; HTTP statuses ${JSON.stringify(sent.statuses)}; backlog at end of sending ${backlogAtEnd} entries; ` +
        `all visible after ${visibleSeconds.toFixed(1)} s with ${options.processors} processor(s); exact: ${exact} (db ${stored}, live exposure ${w.exposure}/${totals.exposure}); ` +
        `vs raw COPY ${Math.round(options.ceilings.copyRowsPerSec)} rows/s: ${((counted / options.ceilings.copyRowsPerSec) * 100).toFixed(1)} %; peak RSS of one processor ${peakRss.toFixed(0)} MB; ` +
        `CPU ms per 1 000 events: ${Object.entries(cpuMsPerThousand).map(([role, ms]) => `${role} ${ms.toFixed(1)}`).join(', ')}`,
      extra: { offeredRate: options.rate, seconds: options.seconds, statuses: sent.statuses, exact, stored, accepted: sent.accepted, visibleSeconds, copyRowsPerSec: options.ceilings.copyRowsPerSec, cpuSeconds, cpuMsPerThousand, env: options.env ?? {} },
    });
    if (!exact) throw new Error(`ingest benchmark counted inexactly: db ${stored} vs accepted ${sent.accepted}`);

    if (options.latency === false) return results;
    // --- latency under background load -----------------------------------------------------
    const bgTotals = noTotals();
    const background = drive(url, cfg, `${runId}bg`, { n: 0 }, bgTotals, options.latencyRate, options.seconds);
    const latencies: number[] = [];
    const probeRun = `probe${Date.now().toString(36)}`;
    const base = ((await (await fetch(`${url}/api/v1/live?channel=email`, { headers: { authorization: `Bearer ${token}` } })).json()) as LiveResponse).windows['1h'].exposure;
    const deadline = Date.now() + options.seconds * 1000;
    let probes = 0;
    while (Date.now() < deadline) {
      const t0 = performance.now();
      await fetch(`${url}/api/v1/events`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'demo-key' },
        body: JSON.stringify([{ id: `${probeRun}-${probes}`, type: 'exposure', ts: Date.now(), channel: 'email', count: 1 }]),
      });
      probes++;
      for (;;) {
        const live = (await (await fetch(`${url}/api/v1/live?channel=email`, { headers: { authorization: `Bearer ${token}` } })).json()) as LiveResponse;
        if (live.windows['1h'].exposure >= base + probes) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
    const bg = await background;
    latencies.sort((a, b) => a - b);
    results.push({
      name: 'ingest-to-live-latency',
      events: probes,
      eventsPerSec: null,
      p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), p99Ms: percentile(latencies, 99),
      peakRssMb: peakRss,
      ceiling: null, ratio: null,
      notes: `POST of a probe event → visible in GET /api/v1/live, ${probes} probes with ${options.latencyRate} events/s background (statuses ${JSON.stringify(bg.statuses)})`,
      extra: { maxMs: latencies.at(-1) },
    });
  } finally {
    clearInterval(rssTimer);
    redis.disconnect();
    await Promise.all(processors.map(stop));
    await stop(server);
  }
  return results;
}
