// History for a fresh demo: the live simulator's traffic (generator.ts) in steps of minutes —
// impressions, anonymous clicks and spend counted per step, known people's clicks and orders one
// by one, so the history's online orders come with the journeys that led to them.

import pg from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import { createRedis, type StoreSettings } from '../../stream/connect.js';
import { keysOfStores, streamBacklog } from '../../stream/redis-keys.js';
import { generateSpan, type GeneratorState, type SimEvent, type SpanOptions } from './generator.js';

/** The traffic of [fromMs, toMs) in steps of `stepMs`, in time order (journeys run forward). */
export function backfillEvents(cfg: AppConfig, state: GeneratorState, fromMs: number, toMs: number, stepMs: number, scale: number, options: SpanOptions = {}): SimEvent[] {
  const events: SimEvent[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) {
    for (const event of generateSpan(cfg, state, t, Math.min(t + stepMs, toMs), scale, options)) events.push(event);
  }
  return events;
}

/**
 * The demo's history: from as far back as ingest accepts (47 h with the shipped lateness: all of
 * yesterday, and the day `auto` learns from before it judges a window, for all but the first hour
 * of the last 24 h when a rule is tried on history) to now. The last hour in 10 s steps (the
 * wall's live trend), the rest in 5 min steps, except the next three hours of yesterday from this
 * time of day in 1 min steps: the "vs a day ago" alert rules compare windows with them while the
 * demo runs.
 */
export function demoHistory(cfg: AppConfig, nowMs: number, state: GeneratorState, scale = 1): SimEvent[] {
  const hourAgo = Math.floor((nowMs - 3_600_000) / 300_000) * 300_000;
  const historyStart = Math.ceil((nowMs - cfg.pipeline.events.lateness + 3_600_000) / 300_000) * 300_000;
  const liveFrom = Math.floor(nowMs / 10_000) * 10_000;
  const fineFrom = Math.max(historyStart, Math.floor((nowMs - 86_400_000 - 600_000) / 300_000) * 300_000);
  const fineTo = Math.min(hourAgo, fineFrom + 3 * 3_600_000);
  return [
    ...backfillEvents(cfg, state, historyStart, fineFrom, 300_000, scale),
    ...backfillEvents(cfg, state, fineFrom, fineTo, 60_000, scale),
    ...backfillEvents(cfg, state, fineTo, hourAgo, 300_000, scale),
    ...backfillEvents(cfg, state, hourAgo, liveFrom, 10_000, scale),
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

/** Whether the database holds no events of the last two hours: a fresh demo, which gets a history. */
export async function needsHistory(stores: StoreSettings): Promise<boolean> {
  const db = new pg.Client({ connectionString: stores.databaseUrl, options: `-c search_path="${stores.dbSchema}"` });
  await db.connect();
  try {
    const { rows } = await db.query(`SELECT EXISTS (SELECT 1 FROM events WHERE ts > now() - interval '2 hours') AS recent`);
    return !rows[0].recent;
  } finally {
    await db.end();
  }
}

/** Posts a history and waits until the processors have stored it. */
export async function postHistory(cfg: AppConfig, stores: StoreSettings, ingestUrl: string, apiKey: string, events: SimEvent[], log: Logger): Promise<void> {
  log.info({ events: events.length }, 'demo: posting the last two days (SIM_BACKFILL=0 turns this off)');
  await postEvents(cfg, ingestUrl, apiKey, events);
  log.info('demo: history posted');
  await waitUntilProcessed(cfg, stores, log);
}

/** Waits (up to 3 min) until the processors have stored everything in the stream, so jobs run on all of it. */
async function waitUntilProcessed(cfg: AppConfig, stores: StoreSettings, log: Logger): Promise<void> {
  const redis = createRedis(stores.redisUrl, 'demo-backfill');
  redis.on('error', () => {});
  try {
    const keys = keysOfStores(stores, cfg.pipeline);
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && (await streamBacklog(redis, keys).catch(() => 0)) > 0) await new Promise((r) => setTimeout(r, 500));
    log.info('demo: history processed');
  } finally {
    redis.disconnect();
  }
}
