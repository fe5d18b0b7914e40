import type { AppConfig } from '../../config/load.js';
import type { IncomingEvent } from '../../stream/types.js';
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
  /** users who touched a channel recently: the people who go on to convert */
  recentUsers: string[];
  anomaly: Anomaly | null;
}

export const USER_POOL = 200_000;
const RECENT_USERS = 5_000;
export const CAMPAIGNS: Record<string, string[]> = {
  douyin: ['dy-double11', 'dy-live-brand'], wechat: ['wx-moments-winter'], xiaohongshu: ['xhs-kol-seeding'],
  baidu: ['bd-brand-search'], taobao: ['tb-double11'], jd: ['jd-double11'], app: ['app-member-day'],
  wecom: ['wecom-vip-care'], sms: ['sms-recall'], email: ['edm-weekly'],
};

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

/**
 * One second of traffic ending at `nowMs`: pre-aggregated impressions and clicks per channel and
 * region, individually tracked clicks and orders of known users (so attribution has paths), spend
 * reports, door-counter visits and POS orders per open store. `scale` multiplies the volume.
 */
export function generateSecond(cfg: AppConfig, state: GeneratorState, nowMs: number, scale: number): SimEvent[] {
  const { random } = state;
  const events: SimEvent[] = [];
  const localHours = (((nowMs + cfg.dayOffsetMs) / 3_600_000) % 24 + 24) % 24;
  const online = onlineActivity(localHours);
  const anomaly = state.anomaly && state.anomaly.until > nowMs ? state.anomaly : null;
  const nextId = () => `sim-${state.runId}-${(state.seq++).toString(36)}`;
  const jitter = () => nowMs - Math.floor(random() * 2000);
  const user = () => {
    if (state.recentUsers.length > 50 && random() < 0.45) return pick(random, state.recentUsers);
    const id = `u${Math.floor(random() * USER_POOL).toString().padStart(6, '0')}`;
    state.recentUsers.push(id);
    if (state.recentUsers.length > RECENT_USERS) state.recentUsers.splice(0, state.recentUsers.length - RECENT_USERS);
    return id;
  };

  for (const [channel, profile] of Object.entries(CHANNEL_PROFILES)) {
    const cvr = anomaly?.kind === 'channel-conversion-collapse' && anomaly.target === channel ? profile.cvr * 0.25 : profile.cvr;
    for (const [region, weight] of Object.entries(REGION_WEIGHTS)) {
      const campaign = pick(random, CAMPAIGNS[channel]!);
      const exposure = draw(random, profile.peakExposurePerSec * online * weight * scale);
      if (!exposure) continue;
      const ts = jitter();
      events.push({ id: nextId(), type: 'exposure', ts, channel, region, campaign, count: exposure });
      const clicks = draw(random, exposure * profile.ctr);
      const tracked = Math.min(clicks, draw(random, clicks * profile.trackedShare));
      if (clicks - tracked > 0) events.push({ id: nextId(), type: 'click', ts, channel, region, campaign, count: clicks - tracked });
      for (let i = 0; i < tracked; i++) events.push({ id: nextId(), type: 'click', ts: jitter(), channel, region, campaign, userId: user() });
      const orders = draw(random, clicks * cvr);
      for (let i = 0; i < orders; i++) {
        const value = round2(profile.aov * (0.4 + random() * 1.4));
        events.push({ id: nextId(), type: 'conversion', ts: jitter(), channel, region, campaign, value, userId: user() });
      }
      // platforms bill per impression; report every second as the demo's spend feed
      events.push({ id: nextId(), type: 'spend', ts, channel, region, campaign, value: round2((exposure / 1000) * profile.cpm) });
    }
  }

  const storeFactor = storeActivity(localHours);
  for (const store of cfg.storeById.values()) {
    if (!isOpen(store.hours, localHours)) continue;
    const drop = anomaly?.kind === 'store-traffic-drop' && anomaly.target === store.id ? 0.15 : 1;
    // about 430 visitors an hour at the evening peak; in-store promotion about 2 900 CNY an hour
    if (random() < 0.1) events.push({ id: nextId(), type: 'spend', ts: jitter(), channel: 'store', store: store.id, value: round2(4 + random() * 8) });
    const visitors = draw(random, 0.12 * storeFactor * drop * scale);
    if (!visitors) continue;
    events.push({ id: nextId(), type: 'visit', ts: jitter(), channel: 'store', store: store.id, count: visitors });
    const orders = draw(random, visitors * 0.22);
    for (let i = 0; i < orders; i++) {
      const member = random() < 0.5 ? { userId: user() } : {};
      events.push({ id: nextId(), type: 'conversion', ts: jitter(), channel: 'store', store: store.id, value: round2(90 + random() * 600), ...member });
    }
  }

  // a little lateness now and then: a door counter that reports a minute behind
  if (random() < 0.02 && events.length) {
    const late = events[Math.floor(random() * events.length)]!;
    late.ts -= 60_000 + Math.floor(random() * 60_000);
  }
  return events;
}

/** Starts an anomaly now and then, so the demo's alerts have something to find. */
export function maybeStartAnomaly(cfg: AppConfig, state: GeneratorState, nowMs: number, chancePerSecond: number, durationMs: number): Anomaly | null {
  if ((state.anomaly && state.anomaly.until > nowMs) || state.random() >= chancePerSecond) return null;
  const channelCollapse = state.random() < 0.5;
  state.anomaly = channelCollapse
    ? { kind: 'channel-conversion-collapse', target: pick(state.random, Object.keys(CHANNEL_PROFILES)), until: nowMs + durationMs }
    : { kind: 'store-traffic-drop', target: pick(state.random, [...cfg.storeById.keys()]), until: nowMs + durationMs };
  return state.anomaly;
}
