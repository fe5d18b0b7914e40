import type { AppConfig } from '../../config/load.js';
import type { IncomingEvent } from '../../stream/types.js';
import { JourneyPool } from './journeys.js';
import { CHANNEL_PROFILES, REGION_WEIGHTS, isOpen, onlineActivity, storeActivity } from './profiles.js';

/** What the simulator sends: events with their time in epoch milliseconds. */
export type SimEvent = IncomingEvent & { ts: number };

export interface Anomaly {
  kind: 'channel-conversion-collapse' | 'store-traffic-drop';
  target: string;
  until: number;
}

export interface GeneratorState {
  runId: string;
  seq: number;
  random: () => number;
  /** people part way through a purchase journey, per region: the online buyers */
  journeys: JourneyPool;
  anomaly: Anomaly | null;
}

export const USER_POOL = 200_000;
/** journeys under way nationwide at scale 1 (a region holds its share of traffic) */
const JOURNEYS = 25_000;
export const CAMPAIGNS: Record<string, string[]> = {
  douyin: ['dy-double11', 'dy-live-brand'], wechat: ['wx-moments-winter'], xiaohongshu: ['xhs-kol-seeding'],
  baidu: ['bd-brand-search'], taobao: ['tb-double11'], jd: ['jd-double11'], app: ['app-member-day'],
  wecom: ['wecom-vip-care'], sms: ['sms-recall'], email: ['edm-weekly'],
};

/** A generator's state: its PRNG from `seed`, so a run can be replayed, and no journey under way yet. */
export function newGeneratorState(seed: number, scale: number): GeneratorState {
  const random = seededRandom(seed);
  return {
    runId: seed.toString(36), seq: 0, random, anomaly: null,
    journeys: new JourneyPool(random, (region) => Math.max(100, Math.round(JOURNEYS * (REGION_WEIGHTS[region] ?? 0.1) * scale))),
  };
}

/** A seeded PRNG (mulberry32), so a simulator run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson-ish integer with mean `mean` (normal approximation above 30). */
export function draw(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * (random() + random() + random() - 1.5) * 2));
  let count = 0;
  let p = Math.exp(-mean);
  let sum = p;
  const u = random();
  while (u > sum && count < 200) {
    count++;
    p *= mean / count;
    sum += p;
  }
  return count;
}

const pick = <T>(random: () => number, items: T[]): T => items[Math.floor(random() * items.length)]!;
const round2 = (x: number) => Math.round(x * 100) / 100;

export interface SpanOptions {
  /**
   * Orders and clicks as one counted event per channel × region (and one order of a known user, so
   * unique users have something to count) instead of one event per known person: for loading
   * volume quickly (the drill-down bench); these orders have no paths.
   */
  aggregated?: boolean;
}

/**
 * The traffic of [fromMs, toMs): impressions, anonymous clicks and spend counted per channel ×
 * region, known people's clicks and orders one by one (each known order closing a purchase journey,
 * after a click on its channel), door-counter visits and till orders per open store. A live second
 * and a history step of minutes come from here alike; `scale` multiplies the volume.
 */
export function generateSpan(cfg: AppConfig, state: GeneratorState, fromMs: number, toMs: number, scale: number, options: SpanOptions = {}): SimEvent[] {
  const { random } = state;
  const events: SimEvent[] = [];
  const seconds = (toMs - fromMs) / 1000;
  const localHours = ((((fromMs + toMs) / 2 + cfg.dayOffsetMs) / 3_600_000) % 24 + 24) % 24;
  const online = onlineActivity(localHours);
  const anomaly = state.anomaly && state.anomaly.until > fromMs ? state.anomaly : null;
  const nextId = () => `sim-${state.runId}-${(state.seq++).toString(36)}`;
  const at = () => fromMs + Math.floor(random() * (toMs - fromMs));
  const someone = () => `u${Math.floor(random() * USER_POOL).toString().padStart(6, '0')}`;

  // orders first, each closing a journey that began before this span; browsing clicks after, so
  // a journey opened in this span cannot end in it before its first touch
  const browsing: Array<{ channel: string; region: string; campaign: string; clicks: number; opens: number }> = [];
  for (const [channel, profile] of Object.entries(CHANNEL_PROFILES)) {
    const cvr = anomaly?.kind === 'channel-conversion-collapse' && anomaly.target === channel ? profile.cvr * 0.25 : profile.cvr;
    for (const [region, weight] of Object.entries(REGION_WEIGHTS)) {
      const campaign = pick(random, CAMPAIGNS[channel]!);
      const exposure = draw(random, profile.peakExposurePerSec * online * weight * scale * seconds);
      if (!exposure) continue;
      events.push({ id: nextId(), type: 'exposure', ts: at(), channel, region, campaign, count: exposure });
      // platforms bill per impression; reported once per span as the demo's spend feed
      events.push({ id: nextId(), type: 'spend', ts: at(), channel, region, campaign, value: round2((exposure / 1000) * profile.cpm) });
      const clicks = draw(random, exposure * profile.ctr);
      const orders = Math.min(clicks, draw(random, clicks * cvr));
      if (options.aggregated) {
        if (clicks) events.push({ id: nextId(), type: 'click', ts: at(), channel, region, campaign, count: clicks });
        if (orders > 1) events.push({ id: nextId(), type: 'conversion', ts: at(), channel, region, campaign, count: orders - 1, value: round2((orders - 1) * profile.aov * (0.85 + random() * 0.3)) });
        if (orders) events.push({ id: nextId(), type: 'conversion', ts: at(), channel, region, campaign, value: round2(profile.aov * (0.4 + random() * 1.4)), userId: someone() });
        continue;
      }
      const guests = draw(random, orders * profile.guestShare);
      const known = Math.max(0, orders - guests);
      const tracked = Math.min(clicks, Math.max(known, draw(random, clicks * profile.trackedShare)));
      if (clicks - tracked > 0) events.push({ id: nextId(), type: 'click', ts: at(), channel, region, campaign, count: clicks - tracked });
      if (orders - known > 0) {
        events.push({ id: nextId(), type: 'conversion', ts: at(), channel, region, campaign, count: orders - known, value: round2((orders - known) * profile.aov * (0.85 + random() * 0.3)) });
      }
      for (let i = 0; i < known; i++) {
        const userId = state.journeys.takeBuyer(region) ?? someone();
        const ts = at();
        const clickTs = fromMs + Math.floor(random() * (ts - fromMs));
        events.push({ id: nextId(), type: 'click', ts: clickTs, channel, region, campaign, userId });
        events.push({ id: nextId(), type: 'conversion', ts, channel, region, campaign, value: round2(profile.aov * (0.4 + random() * 1.4)), userId });
      }
      if (tracked > known) browsing.push({ channel, region, campaign, clicks: tracked - known, opens: profile.opens });
    }
  }
  for (const { channel, region, campaign, clicks, opens } of browsing) {
    for (let i = 0; i < clicks; i++) events.push({ id: nextId(), type: 'click', ts: at(), channel, region, campaign, userId: state.journeys.browser(region, opens, someone) });
  }

  const storeFactor = storeActivity(localHours);
  for (const store of cfg.storeById.values()) {
    if (!isOpen(store.hours, localHours)) continue;
    // in-store promotion about 2 900 CNY an hour, reported every ten seconds or so
    if (random() < Math.min(1, seconds / 10)) events.push({ id: nextId(), type: 'spend', ts: at(), channel: 'store', store: store.id, value: round2(0.8 * Math.max(10, seconds) * (0.5 + random())) });
    const drop = anomaly?.kind === 'store-traffic-drop' && anomaly.target === store.id ? 0.15 : 1;
    // about 430 visitors an hour at the evening peak
    const visitors = draw(random, 0.12 * storeFactor * drop * scale * seconds);
    if (!visitors) continue;
    events.push({ id: nextId(), type: 'visit', ts: at(), channel: 'store', store: store.id, count: visitors });
    const orders = draw(random, visitors * 0.22);
    // half the buyers at the till show a membership
    const members = options.aggregated ? 0 : Math.min(orders, draw(random, orders * 0.5));
    if (orders - members > 0) events.push({ id: nextId(), type: 'conversion', ts: at(), channel: 'store', store: store.id, count: orders - members, value: round2((orders - members) * (90 + random() * 600)) });
    for (let i = 0; i < members; i++) events.push({ id: nextId(), type: 'conversion', ts: at(), channel: 'store', store: store.id, value: round2(90 + random() * 600), userId: someone() });
  }
  return events;
}

/** A channel drawn by its share of clicks: the collapses that happen where there is volume to see them. */
function byClicks(u: number): string {
  const weights = Object.entries(CHANNEL_PROFILES).map(([id, p]) => [id, p.peakExposurePerSec * p.ctr] as const);
  let left = u * weights.reduce((sum, [, w]) => sum + w, 0);
  for (const [id, weight] of weights) if ((left -= weight) < 0) return id;
  return weights[0]![0];
}

/** Starts an anomaly now and then, so the demo's alerts have something to find. */
export function maybeStartAnomaly(cfg: AppConfig, state: GeneratorState, nowMs: number, chancePerSecond: number, durationMs: number): Anomaly | null {
  if ((state.anomaly && state.anomaly.until > nowMs) || state.random() >= chancePerSecond) return null;
  const channelCollapse = state.random() < 0.5;
  state.anomaly = channelCollapse
    ? { kind: 'channel-conversion-collapse', target: byClicks(state.random()), until: nowMs + durationMs }
    : { kind: 'store-traffic-drop', target: pick(state.random, [...cfg.storeById.keys()]), until: nowMs + durationMs };
  return state.anomaly;
}
