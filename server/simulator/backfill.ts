// History for a fresh demo: the same channel economics and daily curves as the live simulator,
// as aggregated events (one per channel × region × type, or store × type, per step), so a day
// of history costs a few hundred thousand events instead of tens of millions.

import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import type { StoreSettings } from '../../stream/connect.js';
import { CAMPAIGNS, draw, seededRandom, type SimEvent } from './generator.js';
import { CHANNEL_PROFILES, REGION_WEIGHTS, isOpen, onlineActivity, storeActivity } from './profiles.js';

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Aggregated events for [fromMs, toMs) in steps of `stepMs` (a multiple of 10 s). */
export function backfillEvents(cfg: AppConfig, fromMs: number, toMs: number, stepMs: number, random: () => number, idPrefix: string): SimEvent[] {
  const events: SimEvent[] = [];
  let seq = 0;
  const seconds = stepMs / 1000;
  for (let t = fromMs; t < toMs; t += stepMs) {
    const localHours = (((t + cfg.dayOffsetMs) / 3_600_000) % 24 + 24) % 24;
    const online = onlineActivity(localHours);
    const id = () => `${idPrefix}-${t.toString(36)}-${(seq++).toString(36)}`;
    const ts = t + Math.floor(random() * stepMs);
    for (const [channel, profile] of Object.entries(CHANNEL_PROFILES)) {
      for (const [region, weight] of Object.entries(REGION_WEIGHTS)) {
        const campaign = CAMPAIGNS[channel]![0]!;
        const exposure = draw(random, profile.peakExposurePerSec * online * weight * seconds);
        if (!exposure) continue;
        const clicks = draw(random, exposure * profile.ctr);
        const orders = draw(random, clicks * profile.cvr);
        events.push({ id: id(), type: 'exposure', ts, channel, region, campaign, count: exposure });
        if (clicks) events.push({ id: id(), type: 'click', ts, channel, region, campaign, count: clicks });
        if (orders > 1) events.push({ id: id(), type: 'conversion', ts, channel, region, campaign, count: orders - 1, value: round2((orders - 1) * profile.aov * (0.85 + random() * 0.3)) });
        // one order per step from a known user, so unique users and attribution paths have something to count
        if (orders) events.push({ id: id(), type: 'conversion', ts, channel, region, campaign, value: round2(profile.aov * (0.4 + random() * 1.4)), userId: `u${Math.floor(random() * 200_000).toString().padStart(6, '0')}` });
        events.push({ id: id(), type: 'spend', ts, channel, region, campaign, value: round2((exposure / 1000) * profile.cpm) });
      }
    }
    const storeFactor = storeActivity(localHours);
    for (const store of cfg.storeById.values()) {
      if (!isOpen(store.hours, localHours)) continue;
      const visitors = draw(random, 0.12 * storeFactor * seconds);
      if (!visitors) continue;
      const orders = draw(random, visitors * 0.22);
      events.push({ id: id(), type: 'visit', ts, channel: 'store', store: store.id, count: visitors });
      if (orders) events.push({ id: id(), type: 'conversion', ts, channel: 'store', store: store.id, count: orders, value: round2(orders * (90 + random() * 600)) });
      events.push({ id: id(), type: 'spend', ts, channel: 'store', store: store.id, value: round2(0.8 * seconds * (0.5 + random())) });
    }
  }
  return events;
}

/**
 * The demo's history: the last hour in 10 s steps (the wall's live trend), the rest since
 * yesterday's midnight in 5 min steps (today's totals and yesterday's comparison), except the
 * next three hours of yesterday from this time of day in 1 min steps: the "vs a day ago" alert
 * rules compare minute windows with them while the demo runs.
 */
export function demoHistory(cfg: AppConfig, nowMs: number, random: () => number): SimEvent[] {
  const hourAgo = Math.floor((nowMs - 3_600_000) / 300_000) * 300_000;
  const dayStart = Math.floor((nowMs + cfg.dayOffsetMs) / 86_400_000) * 86_400_000 - cfg.dayOffsetMs;
  const yesterdayStart = Math.max(dayStart - 86_400_000, nowMs - cfg.pipeline.events.lateness + 3_600_000);
  const liveFrom = Math.floor(nowMs / 10_000) * 10_000;
  const fineFrom = Math.max(yesterdayStart, Math.floor((nowMs - 86_400_000 - 600_000) / 300_000) * 300_000);
  const fineTo = Math.min(hourAgo, fineFrom + 3 * 3_600_000);
  return [
    ...backfillEvents(cfg, yesterdayStart, fineFrom, 300_000, random, 'bf5m'),
    ...backfillEvents(cfg, fineFrom, fineTo, 60_000, random, 'bf1m'),
    ...backfillEvents(cfg, fineTo, hourAgo, 300_000, random, 'bf5m'),
    ...backfillEvents(cfg, hourAgo, liveFrom, 10_000, random, 'bf10s'),
  ];
}

/** Posts events to the ingest API in request-sized chunks, retrying on backpressure. */
export async function postEvents(cfg: AppConfig, ingestUrl: string, apiKey: string, events: SimEvent[]): Promise<void> {
  const size = cfg.pipeline.ingest.maxEventsPerRequest;
  for (let i = 0; i < events.length; i += size) {
    for (;;) {
      const response = await fetch(ingestUrl, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify(events.slice(i, i + size)),
      });
      if (response.status === 202) break;
      if (response.status !== 429 && response.status !== 503) throw new Error(`backfill: ingest answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Posts the demo history unless the database already holds events of the last two hours. */
export async function backfillIfEmpty(cfg: AppConfig, stores: StoreSettings, ingestUrl: string, apiKey: string, log: Logger): Promise<void> {
  const db = new pg.Client({ connectionString: stores.databaseUrl, options: `-c search_path="${stores.dbSchema}"` });
  await db.connect();
  try {
    const { rows } = await db.query(`SELECT EXISTS (SELECT 1 FROM events WHERE ts > now() - interval '2 hours') AS recent`);
    if (rows[0].recent) return;
  } finally {
    await db.end();
  }
  const events = demoHistory(cfg, Date.now(), seededRandom(Date.now()));
  log.info({ events: events.length }, 'demo: posting yesterday and today so far (SIM_BACKFILL=0 turns this off)');
  await postEvents(cfg, ingestUrl, apiKey, events);
  log.info('demo: history posted');
  await waitUntilProcessed(cfg, stores, log);
}

/** Waits (up to 3 min) until the processors have stored everything in the stream, so jobs run on all of it. */
async function waitUntilProcessed(cfg: AppConfig, stores: StoreSettings, log: Logger): Promise<void> {
  const redis = new Redis(stores.redisUrl, { protocol: 2, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    const stream = `${stores.redisPrefix}${cfg.pipeline.stream.name}`;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && (await redis.xlen(stream).catch(() => 0)) > 0) await new Promise((r) => setTimeout(r, 500));
    log.info('demo: history processed');
  } finally {
    redis.disconnect();
  }
}
