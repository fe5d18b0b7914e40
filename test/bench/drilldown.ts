// Drill-down over 30 days: the queries the wall issues when someone picks "30 days" (totals,
// the period before, per channel, per region, per store) and a region's stores, over 30 days
// of stored history written straight through the processor's sink (ingest refuses events
// older than the 48 h lateness, as it should).
import type { AppConfig } from '../../config/load.js';
import { backfillEvents } from '../../server/simulator/backfill.js';
import { newGeneratorState } from '../../server/simulator/generator.js';
import { createPool, type StoreSettings } from '../../stream/connect.js';
import { migrate } from '../../stream/db/migrate.js';
import { writeBatch } from '../../stream/db/sink.js';
import { KnownCustomers } from '../../stream/db/first-seen.js';
import { KnownSketches } from '../../stream/db/user-sketches.js';
import type { MarketingEvent } from '../../stream/types.js';
import { login } from './ingest.js';
import { freePort, spawnTs, stop, storeEnv, waitReady } from './processes.js';
import { percentile, type BenchResult } from './report.js';

const DAY = 86_400_000;

export async function benchDrillDown(cfg: AppConfig, stores: StoreSettings, options: { days: number; rounds: number; copyRowsPerSec: number }): Promise<BenchResult[]> {
  const pool = createPool(stores.databaseUrl, stores.dbSchema, 4);
  const storage = await migrate(pool, cfg, stores.dbSchema);
  const now = Date.now();
  const from = Math.floor((now - options.days * DAY) / 1_800_000) * 1_800_000;
  // the last hour, and the same hour yesterday, as live data lands: every 10 s bucket (for "why did it move?" over the last hour)
  const live = newGeneratorState(6, 1);
  const history = [
    ...backfillEvents(cfg, newGeneratorState(5, 1), from, now - 3_600_000, 1_800_000, 1, { aggregated: true }),
    ...backfillEvents(cfg, live, now - 3_600_000 - DAY, now - DAY, 10_000, 1, { aggregated: true }),
    ...backfillEvents(cfg, live, now - 3_600_000, now, 10_000, 1, { aggregated: true }),
  ];
  const known = new KnownCustomers();
  const sketches = new KnownSketches();
  const loadStarted = performance.now();
  for (let i = 0; i < history.length; i += 20_000) {
    const batch = history.slice(i, i + 20_000).map((e) => ({
      entryId: `0-${i}`,
      event: { ...e, ts: e.ts, count: e.count ?? 1, value: e.value ?? 0, region: e.region ?? (e.store ? cfg.storeById.get(e.store)!.region : undefined) } as MarketingEvent,
    }));
    await writeBatch(pool, batch, { storage, valueDecimals: cfg.pipeline.events.valueDecimals, dayOffsetMs: cfg.dayOffsetMs, known, sketches });
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  await pool.end();

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnTs('server/main.ts', { ...storeEnv(stores), PORT: String(port), SIMULATE: '0', PROCESSORS: '0' });
  try {
    await waitReady(url);
    const token = await login(url);
    const get = (query: string) => fetch(`${url}/api/v1/metrics?${query}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
      if (!r.ok) throw new Error(`${query}: ${r.status} ${await r.text()}`);
      return r.json();
    });
    const dayStart = Math.floor((now + cfg.dayOffsetMs) / DAY) * DAY - cfg.dayOffsetMs;
    const rangeFrom = dayStart - (options.days - 1) * DAY;
    const span = now - rangeFrom;
    const switchTimes: number[] = [];
    const regionTimes: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      // the five queries the wall sends at once for the nation's "30 days"
      let t0 = performance.now();
      await Promise.all([
        get(`from=${rangeFrom}&to=${now}&step=1d`),
        get(`from=${rangeFrom - span}&to=${now - span}&step=1d`),
        get(`from=${rangeFrom}&to=${now}&step=1d&groupBy=channel`),
        get(`from=${rangeFrom}&to=${now}&step=1d&groupBy=region`),
        get(`from=${rangeFrom}&to=${now}&step=1d&groupBy=store`),
      ]);
      switchTimes.push(performance.now() - t0);
      const region = cfg.regions[round % cfg.regions.length]!.id;
      t0 = performance.now();
      await Promise.all([
        get(`from=${rangeFrom}&to=${now}&step=1d&region=${region}`),
        get(`from=${rangeFrom}&to=${now}&step=1d&region=${region}&groupBy=channel`),
        get(`from=${rangeFrom}&to=${now}&step=1d&region=${region}&groupBy=store`),
      ]);
      regionTimes.push(performance.now() - t0);
    }
    // "why did it move?" over the last hour against the same hour yesterday: a sum and a ratio, nation and a region
    const explainTimes: number[] = [];
    const todayTimes: number[] = [];
    const explain = (query: string) => fetch(`${url}/api/v1/explain?${query}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
      if (!r.ok) throw new Error(`explain ${query}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<{ top: unknown[]; current: number }>;
    });
    // the last hour, in 10 s buckets, against the same hour yesterday
    const hourTo = Math.floor(now / 10_000) * 10_000;
    const hourFrom = hourTo - 3_600_000;
    for (let round = 0; round < options.rounds; round++) {
      for (const query of [`metric=revenue&from=${hourFrom}&to=${hourTo}`, `metric=cvr&from=${hourFrom}&to=${hourTo}`, `metric=revenue&from=${hourFrom}&to=${hourTo}&region=${cfg.regions[round % cfg.regions.length]!.id}`]) {
        const t0 = performance.now();
        const answer = await explain(query);
        explainTimes.push(performance.now() - t0);
        if (!answer.top.length || !answer.current) throw new Error(`explain ${query}: nothing to explain — the bench would measure an empty hour`);
      }
      // a tile's question: today since midnight against yesterday
      const t0 = performance.now();
      await explain('metric=revenue');
      todayTimes.push(performance.now() - t0);
    }
    todayTimes.sort((a, b) => a - b);
    // replay: jumping to an instant — in the last hour (10 s buckets), and any of the 30 days
    const replayTimes: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const instants = [now - Math.floor((round / options.rounds) * 3_600_000), now - Math.floor(((round * 7919) % options.rounds) / options.rounds * (options.days - 1) * DAY) - 3_600_000];
      for (const [i, at] of instants.entries()) {
        const region = i === 1 ? `&region=${cfg.regions[round % cfg.regions.length]!.id}` : '';
        const t0 = performance.now();
        const r = await fetch(`${url}/api/v1/replay?at=${at}${region}`, { headers: { authorization: `Bearer ${token}` } });
        if (!r.ok) throw new Error(`replay ${at}: ${r.status} ${await r.text()}`);
        await r.json();
        replayTimes.push(performance.now() - t0);
      }
    }
    replayTimes.sort((a, b) => a - b);
    const replayResult: BenchResult = {
      name: 'replay-jump', events: history.length, eventsPerSec: null,
      p50Ms: percentile(replayTimes, 50), p95Ms: percentile(replayTimes, 95), p99Ms: percentile(replayTimes, 99), peakRssMb: null,
      ceiling: null, ratio: null,
      notes: `GET /api/v1/replay at ${replayTimes.length} instants (the last hour's, nation; any of ${options.days} days, a region's): the whole frame, alerts, segments and attribution of the moment; target: the wall painted ≤ 1 s`,
      extra: { storage },
    };
    switchTimes.sort((a, b) => a - b);
    regionTimes.sort((a, b) => a - b);
    explainTimes.sort((a, b) => a - b);
    const explainResult: BenchResult = {
      name: 'explain-1h', events: history.length, eventsPerSec: null,
      p50Ms: percentile(explainTimes, 50), p95Ms: percentile(explainTimes, 95), p99Ms: percentile(explainTimes, 99), peakRssMb: null,
      ceiling: null, ratio: null,
      notes: `GET /api/v1/explain over the last hour (10 s buckets) vs the same hour yesterday (revenue and conversion rate nationwide, revenue of a region), ${explainTimes.length} answers from the rollups over ${history.length} stored events (target ≤ 300 ms); a tile's "today vs yesterday": p50 ${percentile(todayTimes, 50)?.toFixed(0)} ms, p95 ${percentile(todayTimes, 95)?.toFixed(0)} ms`,
      extra: { storage },
    };
    return [{
      name: 'drill-down-30d', events: history.length, eventsPerSec: null,
      p50Ms: percentile(switchTimes, 50), p95Ms: percentile(switchTimes, 95), p99Ms: percentile(switchTimes, 99), peakRssMb: null,
      ceiling: null, ratio: null,
      notes: `${storage}: ${history.length} stored events over ${options.days} days (written in ${loadSeconds.toFixed(1)} s); ` +
        `the wall's five "30 days" queries for the nation, ${options.rounds} rounds (columns); a region's three: p50 ${percentile(regionTimes, 50)?.toFixed(0)} ms, p99 ${percentile(regionTimes, 99)?.toFixed(0)} ms`,
      extra: { storage, days: options.days, regionP50Ms: percentile(regionTimes, 50), regionP99Ms: percentile(regionTimes, 99) },
    }, explainResult, replayResult];
  } finally {
    await stop(server);
  }
}
