import type { AppConfig } from '../config/load.js';
import { seededRandom } from '../server/simulator/generator.js';
import type { TruthEvent } from './ground-truth.js';

export interface GeneratedStream {
  unique: TruthEvent[];
  /** what producers send: every event 1–3 times, in shuffled order */
  deliveries: TruthEvent[];
}

/**
 * Unique events over many scopes (every channel, region, store, a few campaigns), most in the
 * last hour, some late (2 h and 30 h old); delivered with duplicates and out of order.
 */
export function generateStream(cfg: AppConfig, count: number, seed: number, nowMs = Date.now()): GeneratedStream {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const channels = cfg.channels.map((c) => c.id).filter((c) => c !== 'store');
  const regions = cfg.regions.map((r) => r.id);
  const stores = [...cfg.storeById.values()];
  const unique: TruthEvent[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    const age = roll < 0.05 ? 30 * 3_600_000 + random() * 3_600_000 : roll < 0.1 ? 2 * 3_600_000 : 3 * 60_000 + random() * 47 * 60_000;
    const ts = Math.floor(nowMs - age);
    const id = `ev-${seed}-${i}`;
    const kind = random();
    const campaign = random() < 0.5 ? pick(['c-spring', 'c-vip', 'c-brand']) : undefined;
    const userId = random() < 0.6 ? `user-${Math.floor(random() * 400)}` : undefined;
    if (kind < 0.2) {
      const store = pick(stores);
      unique.push({ id, type: 'visit', ts, channel: 'store', store: store.id, count: 1 + Math.floor(random() * 20) });
    } else if (kind < 0.3) {
      const store = pick(stores);
      unique.push({ id, type: 'conversion', ts, channel: 'store', store: store.id, value: Math.round(random() * 50_000) / 100, userId });
    } else {
      const type = pick(['exposure', 'click', 'conversion', 'spend'] as const);
      const region = random() < 0.85 ? pick(regions) : undefined;
      const store = region && random() < 0.3 ? pick(stores.filter((s) => s.region === region)) : undefined;
      const event: TruthEvent = { id, type, ts, channel: pick(channels), region, campaign, userId };
      if (store) event.store = store.id;
      if (type === 'exposure') event.count = 1 + Math.floor(random() * 5000);
      if (type === 'click') event.count = 1 + Math.floor(random() * 50);
      if (type === 'conversion' || type === 'spend') event.value = Math.round(random() * 100_000) / 100;
      unique.push(event);
    }
  }
  const deliveries: TruthEvent[] = [];
  for (const event of unique) {
    const copies = 1 + Math.floor(random() * 3);
    for (let c = 0; c < copies; c++) deliveries.push({ ...event });
  }
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }
  return { unique, deliveries };
}

export async function postAll(post: (events: unknown) => Promise<Response>, deliveries: TruthEvent[], batch = 1000): Promise<void> {
  for (let i = 0; i < deliveries.length; i += batch) {
    const response = await post(deliveries.slice(i, i + batch));
    if (response.status !== 202) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { rejected: unknown[] };
    if (body.rejected.length) throw new Error(`unexpected rejections: ${JSON.stringify(body.rejected.slice(0, 3))}`);
  }
}
