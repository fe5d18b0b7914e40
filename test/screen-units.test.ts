import { describe, expect, it } from 'vitest';
import { completePoints, perMinute } from '../screen/charts/options.js';
import { formatCount, formatMoney } from '../screen/format.js';
import { tilesOf } from '../screen/tiles.js';
import { mergeFrame, mergePoints, modelFromFrame } from '../screen/view-model.js';
import { deriveMetrics } from '../stream/derive.js';
import type { MetricPoint, ScreenFrame } from '../stream/types.js';

const point = (t: number, visits = 1): MetricPoint => ({ t: new Date(t).toISOString(), ...deriveMetrics({ exposure: 0, clicks: 0, visits, conversions: 0, revenue: 0, spend: 0 }, 0) });
const T0 = Date.parse('2026-11-23T08:00:00Z');

describe('merging pushed frames into the screen state', () => {
  it('replaces points of the same time, appends newer ones and stays capped', () => {
    const existing = [0, 1, 2, 3].map((i) => point(T0 + i * 10_000));
    const merged = mergePoints(existing, [point(T0 + 20_000, 5), point(T0 + 30_000, 6), point(T0 + 40_000, 7)], 4);
    expect(merged.map((p) => [Date.parse(p.t) - T0, p.visits])).toEqual([[10_000, 1], [20_000, 5], [30_000, 6], [40_000, 7]]);
  });

  it('a snapshot replaces everything; a frame for another view is not merged', () => {
    const snapshot = { viewKey: 'all', partial: false, trend: [point(T0)], channels: [], today: { yesterday: null } } as unknown as ScreenFrame;
    const other = { ...snapshot, viewKey: 'r:east', partial: true, trend: [point(T0 + 10_000)] } as ScreenFrame;
    expect(mergeFrame(snapshot, other)).toBe(other);
    const frame = { ...snapshot, partial: true, trend: [point(T0 + 10_000)], today: { yesterday: null } } as unknown as ScreenFrame;
    const withYesterday = { ...snapshot, today: { yesterday: { visits: 3 } } } as unknown as ScreenFrame;
    const merged = mergeFrame(withYesterday, frame);
    expect(merged.trend).toHaveLength(2);
    expect(merged.today.yesterday).toEqual({ visits: 3 }); // a frame without yesterday keeps the known one
  });
});

describe('chart series', () => {
  it('leaves out the bucket still in progress', () => {
    const points = [0, 1, 2].map((i) => point(T0 + i * 60_000));
    expect(completePoints(points, new Date(T0 + 150_000).toISOString())).toHaveLength(2);
    expect(completePoints(points, new Date(T0 + 180_000).toISOString())).toHaveLength(3);
  });

  it('sums 10 s points into whole minutes, dropping a partial first minute', () => {
    const points = Array.from({ length: 15 }, (_, i) => point(T0 + 30_000 + i * 10_000, i));
    const minutes = perMinute(points);
    expect(minutes.map((p) => p.t)).toEqual([new Date(T0 + 60_000).toISOString(), new Date(T0 + 120_000).toISOString()]);
    expect(minutes[0]!.visits).toBe(3 + 4 + 5 + 6 + 7 + 8);
  });
});

describe('numbers on the wall', () => {
  it.each([
    [1234, 'zh', '1,234'], [12_345, 'zh', '1.23万'], [15_178_000, 'zh', '1518万'], [155_000_000, 'zh', '1.55亿'],
    [12_345, 'en', '12.3K'], [42_590_000, 'en', '42.6M'], [435_230_000, 'en', '435M'], [null, 'zh', '—'],
  ] as const)('%s in %s → %s', (value, locale, text) => {
    expect(formatCount(value, locale)).toBe(text);
  });
  it('money carries the yuan sign', () => expect(formatMoney(28_000_000, 'zh')).toBe('¥2800万'));

  it('tiles compare with yesterday, flag an ROI under the floor, and show a store its own figures', () => {
    const frame = {
      level: 'region', scope: {}, path: [], asOf: '', trend: [], channels: [], children: [], stores: [],
      today: { values: deriveMetrics({ exposure: 1000, clicks: 100, visits: 0, conversions: 10, revenue: 140, spend: 100 }, 5), yesterday: { exposure: 800, clicks: 100, visits: 0, conversions: 5, revenue: 100, spend: 100 } },
    } as unknown as ScreenFrame;
    const tiles = tilesOf(modelFromFrame(frame), 'zh', 1.5);
    const byField = Object.fromEntries(tiles.map((t) => [t.field, t]));
    expect(byField.exposure!.change).toBeCloseTo(0.25);
    expect(byField.conversions!.change).toBeCloseTo(1);
    expect(byField.roi!.warn).toBe(true);
    expect(byField.uniqueUsers!.change).toBeNull();
    // a store: its visits carry no users, so its eighth tile is what each visitor spent, against yesterday's
    const storeFrame = { ...frame, level: 'store', today: { values: deriveMetrics({ exposure: 0, clicks: 0, visits: 50, conversions: 10, revenue: 2000, spend: 0 }, 0, true), yesterday: { exposure: 0, clicks: 0, visits: 40, conversions: 8, revenue: 2000, spend: 0 } } } as unknown as ScreenFrame;
    const storeTiles = tilesOf(modelFromFrame(storeFrame), 'zh', 1.5);
    expect(storeTiles.map((t) => t.field)).toEqual(['visits', 'conversions', 'cvr', 'revenue', 'aov', 'spend', 'roi', 'perVisitor']);
    const perVisitor = storeTiles.find((t) => t.field === 'perVisitor')!;
    expect([perVisitor.value, perVisitor.text]).toEqual([40, '¥40']);
    expect(perVisitor.change).toBeCloseTo(40 / 50 - 1, 9);
  });
});
