// The demo's traffic: valid events, and online orders of known people that come with the
// journeys attribution reads — several touches over hours across channels, before the order.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { demoHistory } from '../server/simulator/backfill.js';
import { generateSpan, newGeneratorState, seededRandom, type SimEvent } from '../server/simulator/generator.js';
import { JourneyPool } from '../server/simulator/journeys.js';
import { createEventValidator } from '../stream/event-validate.js';

const cfg = loadConfig();
const NOW = Date.parse('2026-11-30T14:00:00Z'); // 22:00 in Shanghai

describe('journeys', () => {
  it('a buyer closes a journey under way; browsing opens new ones up to the capacity, replacing at random', () => {
    let next = 0;
    const pool = new JourneyPool(seededRandom(1), () => 3);
    expect(pool.takeBuyer('east')).toBeNull();
    const opened = [1, 2, 3, 4, 5].map(() => pool.browser('east', 1, () => `u${next++}`));
    expect(opened).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    expect(pool.size('east')).toBe(3);
    // never opening: the click is someone already on a journey
    const continuing = pool.browser('east', 0, () => 'never');
    const buyers = [pool.takeBuyer('east'), pool.takeBuyer('east'), pool.takeBuyer('east')];
    expect(buyers).toContain(continuing);
    expect(new Set(buyers).size).toBe(3);
    expect(pool.takeBuyer('east')).toBeNull();
    expect(pool.size('north')).toBe(0);
  });
});

describe('the demo history', () => {
  const history = demoHistory(cfg, NOW, newGeneratorState(3, 1));

  it('is valid events in the range ingest accepts', () => {
    const validate = createEventValidator(cfg, (id) => id);
    const sample = history.filter((_, i) => i % 97 === 0);
    const refused = sample.map((e) => validate({ ...e, ts: new Date(e.ts).toISOString() }, NOW)).filter((v) => !v.ok);
    expect(refused).toEqual([]);
    const times = history.map((e) => e.ts);
    expect(times.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(NOW - cfg.pipeline.events.lateness);
    expect(times.reduce((a, b) => Math.max(a, b))).toBeLessThan(NOW);
    expect(new Set(history.map((e) => e.id)).size).toBe(history.length);
  });

  it("gives most online revenue a buyer with earlier touches on several channels, over hours", () => {
    const byTime = [...history].sort((a, b) => a.ts - b.ts);
    const touches = new Map<string, SimEvent[]>();
    let online = 0;
    let withPath = 0;
    const lengths: number[] = [];
    const spans: number[] = [];
    const channelsPerPath: number[] = [];
    for (const e of byTime) {
      if (e.type === 'click' && e.userId) touches.set(e.userId, [...(touches.get(e.userId) ?? []), e]);
      if (e.type !== 'conversion' || e.channel === 'store') continue;
      online += e.value!;
      if (!e.userId) continue;
      const path = touches.get(e.userId) ?? [];
      touches.delete(e.userId);
      if (!path.length) continue;
      withPath += e.value!;
      lengths.push(path.length);
      spans.push(e.ts - path[0]!.ts);
      channelsPerPath.push(new Set(path.map((t) => t.channel)).size);
    }
    expect(withPath / online).toBeGreaterThanOrEqual(0.75);
    expect(withPath / online).toBeLessThan(0.95); // marketplace guests stay unknown
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const share = (xs: number[], test: (x: number) => boolean) => xs.filter(test).length / xs.length;
    expect(median(lengths)).toBeGreaterThanOrEqual(2);
    expect(share(channelsPerPath, (n) => n >= 2)).toBeGreaterThan(0.5);
    expect(share(spans, (ms) => ms >= 3_600_000)).toBeGreaterThan(0.3);
  });

  it('keeps the channel economics: orders per click near each channel\'s conversion rate', () => {
    const clicks = new Map<string, number>();
    const orders = new Map<string, number>();
    for (const e of history) {
      if (e.channel === 'store') continue;
      if (e.type === 'click') clicks.set(e.channel!, (clicks.get(e.channel!) ?? 0) + (e.count ?? 1));
      if (e.type === 'conversion') orders.set(e.channel!, (orders.get(e.channel!) ?? 0) + (e.count ?? 1));
    }
    expect(orders.get('douyin')! / clicks.get('douyin')!).toBeCloseTo(0.03, 2);
    expect(orders.get('taobao')! / clicks.get('taobao')!).toBeCloseTo(0.05, 2);
  });
});

describe('a live second', () => {
  it('continues the journeys its history began', () => {
    const state = newGeneratorState(5, 1);
    const history = demoHistory(cfg, NOW - 10 * 60_000, state);
    const known = new Set(history.filter((e) => e.type === 'click' && e.userId).map((e) => e.userId));
    const live: SimEvent[] = [];
    for (let t = NOW - 10 * 60_000; t < NOW; t += 1000) live.push(...generateSpan(cfg, state, t, t + 1000, 1));
    const buyers = live.filter((e) => e.type === 'conversion' && e.channel !== 'store' && e.userId).map((e) => e.userId!);
    expect(buyers.length).toBeGreaterThan(200);
    expect(buyers.filter((u) => known.has(u)).length / buyers.length).toBeGreaterThan(0.5);
    expect(live.every((e) => e.ts >= NOW - 10 * 60_000 && e.ts < NOW)).toBe(true);
  });
});
