// A retailer's month of history written straight into the tables with COPY: ~1 M raw events a
// day in the simulator's mix (its channels, regions, stores, campaigns and event types at a scale
// that gives the asked volume), customers from a pool of ~2 M with a home region each, and what
// the processors would have built beside them — the hourly and daily rollups, the unique-user
// sketches, the first-seen ledger — plus the 10 s rollup for the last days.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AppConfig } from '../../config/load.js';
import { backfillEvents } from '../../server/simulator/backfill.js';
import { newGeneratorState, seededRandom, type SimEvent } from '../../server/simulator/generator.js';
import { DAY, HOUR, floorTo } from '../../stream/buckets.js';
import { copyLine } from '../../stream/db/copy-text.js';
import { backfillNarrowRollups } from '../../stream/db/narrow-rollups.js';
import { newUsersBackfill } from '../../stream/db/first-seen.js';
import type { Storage } from '../../stream/db/migrate.js';
import { KnownSketches, compactSketches, sketchDeltas } from '../../stream/db/user-sketches.js';
import { UserSketch } from '../../stream/user-sketch.js';

export interface HistoryOptions {
  days: number;
  eventsPerDay: number;
  customers: number;
  now: number;
  /** days before now that also get the 10 s rollup (replay, "why did it move?", the recent part on TimescaleDB) */
  fineDays: number;
}

export interface HistoryLoaded {
  events: number;
  customers: number;
  seconds: number;
}

async function copyRows(pool: Pool, table: string, lines: Iterable<string>): Promise<void> {
  const client = await pool.connect();
  try {
    async function* chunks() {
      let text = '';
      for (const line of lines) {
        text += line;
        if (text.length > 1 << 20) {
          yield text;
          text = '';
        }
      }
      if (text) yield text;
    }
    await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY ${table} FROM STDIN`)));
  } finally {
    client.release();
  }
}

const money = (cents: number) => (cents / 100).toFixed(2);

export async function loadHistory(pool: Pool, cfg: AppConfig, storage: Storage, options: HistoryOptions): Promise<HistoryLoaded> {
  const started = performance.now();
  const random = seededRandom(2026);
  const regions: string[] = cfg.regions.map((r) => r.id);
  const storeIds = [...cfg.storeById.keys()];
  const perRegion = Math.ceil(options.customers / regions.length);
  const userText: string[] = [];
  const userOf = (region: string | undefined) => {
    // a customer's home region; the first tenth of each region's pool buys most often
    const r = region ? regions.indexOf(region) : Math.floor(random() * regions.length);
    const k = Math.floor(perRegion * random() ** 1.6);
    const u = r * perRegion + k;
    return { u, text: (userText[u] ??= `u${u.toString().padStart(7, '0')}`) };
  };
  // first-seen: one bit per (customer, scope): the nation, each region, each store
  const scopes = 1 + regions.length + storeIds.length;
  const seen = new Uint8Array(Math.ceil((regions.length * perRegion * scopes) / 8));
  const firstTime = (u: number, scope: number) => {
    const bit = u * scopes + scope;
    const had = seen[bit >> 3]! & (1 << (bit & 7));
    seen[bit >> 3] = seen[bit >> 3]! | (1 << (bit & 7));
    return !had;
  };

  // the simulator's volume at scale 1 over a day, to find the scale that gives the asked one
  // (not proportional: some events carry counts): twice
  let scale = 1;
  for (let i = 0; i < 2; i++) scale *= options.eventsPerDay / backfillEvents(cfg, newGeneratorState(1, scale), options.now - DAY, options.now, 300_000, scale).length;
  const state = newGeneratorState(9, scale);
  const firstDay = floorTo(options.now, DAY, cfg.dayOffsetMs) - (options.days - 1) * DAY;
  let total = 0;
  const dayOrigin = cfg.dayOffsetMs;
  for (let day = firstDay; day < options.now; day += DAY) {
    const end = Math.min(day + DAY, options.now);
    const events: SimEvent[] = backfillEvents(cfg, state, day, end, 300_000, scale).sort((a, b) => a.ts - b.ts);
    const hourly = new Map<string, number[]>();
    const daily = new Map<string, number[]>();
    const addTo = (map: Map<string, number[]>, key: string, e: SimEvent) => {
      let sums = map.get(key);
      if (!sums) map.set(key, (sums = [0, 0, 0, 0, 0, 0]));
      const count = e.count ?? 1;
      if (e.type === 'exposure') sums[0]! += count;
      else if (e.type === 'click') sums[1]! += count;
      else if (e.type === 'visit') sums[2]! += count;
      else if (e.type === 'conversion') {
        sums[3]! += count;
        sums[4]! += Math.round((e.value ?? 0) * 100);
      } else if (e.type === 'spend') sums[5]! += Math.round((e.value ?? 0) * 100);
    };
    const firsts: string[] = [];
    for (const [i, e] of events.entries()) {
      e.region ??= e.store ? cfg.storeById.get(e.store)!.region : undefined;
      e.id = `dd-${day}-${i}`;
      if (e.userId) {
        const { u, text } = userOf(e.region);
        e.userId = text;
        const place = [e.channel, e.region ?? '', e.store ?? ''];
        const ts = new Date(e.ts).toISOString();
        const scopesOf: Array<[number, string]> = [[0, 'all']];
        if (e.region) scopesOf.push([1 + regions.indexOf(e.region), `r:${e.region}`]);
        if (e.store) scopesOf.push([1 + regions.length + storeIds.indexOf(e.store), `s:${e.store}`]);
        for (const [scope, name] of scopesOf) if (firstTime(u, scope)) firsts.push(copyLine([name, text, ts, ...place, ts]));
      }
      const dims = `${e.channel}\t${e.region ?? ''}\t${e.store ?? ''}\t${e.campaign ?? ''}`;
      addTo(hourly, `${floorTo(e.ts, HOUR)}\t${dims}`, e);
      addTo(daily, `${floorTo(e.ts, DAY, dayOrigin)}\t${dims}`, e);
    }
    await copyRows(pool, 'events (ts, id, type, channel, region, store, campaign, user_id, count, value)', (function* () {
      for (const e of events) {
        yield copyLine([new Date(e.ts).toISOString(), e.id, e.type, e.channel, e.region, e.store, e.campaign, e.userId, e.count ?? 1, (e.value ?? 0).toFixed(2)]);
      }
    })());
    if (storage === 'postgres') {
      for (const [table, sums] of [['rollup_1h', hourly], ['rollup_1d', daily]] as const) {
        await copyRows(pool, `${table} (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend)`, (function* () {
          for (const [key, [exposure, clicks, visits, conversions, revenue, spend]] of sums) {
            const [bucket, ...dims] = key.split('\t');
            yield copyLine([new Date(Number(bucket)).toISOString(), ...dims, exposure, clicks, visits, conversions, money(revenue!), money(spend!)]);
          }
        })());
      }
    }
    await copyRows(pool, 'first_seen (scope, user_id, first_ts, channel, region, store, last_ts)', firsts);
    // the day's hours as one batch of deltas, folded by the processors' compaction
    const deltas = sketchDeltas(events, new KnownSketches(0));
    await copyRows(pool, 'user_sketch_deltas (step, kind, bucket, channel, region, store, campaign, delta)', (function* () {
      for (const { key, hashes } of deltas) {
        yield copyLine([key.step, key.kind, new Date(key.bucket).toISOString(), key.channel, key.region, key.store, key.campaign, `\\x${UserSketch.of(hashes).encode().toString('hex')}`]);
      }
    })());
    await compactSketches(pool, cfg.dayOffsetMs);
    total += events.length;
  }
  // in time order, as the processors write it: readers of a time range find its rows together
  const fineFrom = storage === 'postgres' ? options.now - options.fineDays * DAY : firstDay;
  await pool.query(
    `INSERT INTO rollup_10s (bucket, channel, region, store, campaign, exposure, clicks, visits, conversions, revenue, spend)
     SELECT date_bin('10 seconds', ts, 'epoch'::timestamptz), channel, coalesce(region, ''), coalesce(store, ''), coalesce(campaign, ''),
            coalesce(sum(count) FILTER (WHERE type = 'exposure'), 0), coalesce(sum(count) FILTER (WHERE type = 'click'), 0),
            coalesce(sum(count) FILTER (WHERE type = 'visit'), 0), coalesce(sum(count) FILTER (WHERE type = 'conversion'), 0),
            coalesce(sum(value) FILTER (WHERE type = 'conversion'), 0), coalesce(sum(value) FILTER (WHERE type = 'spend'), 0)
     FROM events WHERE ts >= $1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1`,
    [new Date(fineFrom).toISOString()],
  );
  if (storage === 'timescaledb') {
    await pool.query(`CALL refresh_continuous_aggregate('rollup_1h', NULL, NULL)`);
    await pool.query(`CALL refresh_continuous_aggregate('rollup_1d', NULL, NULL)`);
  }
  // and the narrow rollups, and the ledger's hourly counts, as they write them
  await backfillNarrowRollups(pool, new Date(-cfg.dayOffsetMs).toISOString());
  for (const sql of newUsersBackfill(new Date(-cfg.dayOffsetMs).toISOString())) await pool.query(sql);
  await pool.query('VACUUM ANALYZE');
  let customers = 0;
  for (let u = 0; u < regions.length * perRegion; u++) if (seen[(u * scopes) >> 3]! & (1 << ((u * scopes) & 7))) customers++;
  return { events: total, customers, seconds: (performance.now() - started) / 1000 };
}
