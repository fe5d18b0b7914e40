import { describe, expect, it } from 'vitest';
import { channelTrendOption, completePoints, perFiveMinutes, perMinute, roiOption, scopeTrendOption } from '../screen/charts/options.js';
import { WALL_THEME } from '../screen/charts/theme.js';
import { labelBox, labelWidth, labelledStores, provinceLabelsOf, regionMapOption, regionPxPerDegree } from '../screen/charts/map-option.js';
import { loadConfig } from '../config/load.js';
import { episodeChartOptions } from '../screen/charts/episode-chart.js';
import { formatCount, formatMetricExact, formatMoney } from '../screen/format.js';
import { formatEffect } from '../screen/why.js';
import { tilesOf } from '../screen/tiles.js';
import { choiceOptions, storesOf } from '../screen/rule-form.js';
import { mergeFrame, mergePoints, modelFromFrame } from '../screen/view-model.js';
import { deriveMetrics } from '../stream/derive.js';
import type { MetricPoint, ScreenChannel, ScreenChild, ScreenFrame } from '../stream/types.js';

const point = (t: number, visits = 1): MetricPoint => ({ t: new Date(t).toISOString(), ...deriveMetrics({ exposure: 0, clicks: 0, visits, conversions: 0, revenue: 0, spend: 0 }, 0), newUsers: 0 });
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

  it('sums the live channel minutes into whole 5-minute bins, only those ended', () => {
    // minutes from 00:03 to 00:17: the bin 00:00 is partial (dropped), 00:05 and 00:10 whole, 00:15 still running at 00:18
    const points = Array.from({ length: 15 }, (_, i) => point(T0 + (3 + i) * 60_000, i));
    const bins = perFiveMinutes(points, new Date(T0 + 18 * 60_000).toISOString());
    expect(bins.map((p) => p.t)).toEqual([new Date(T0 + 5 * 60_000).toISOString(), new Date(T0 + 10 * 60_000).toISOString()]);
    expect(bins.map((p) => p.visits)).toEqual([2 + 3 + 4 + 5 + 6, 7 + 8 + 9 + 10 + 11]);
  });

  it("draws revenue by channel on a log axis, a day without revenue as a gap: stores' tenfold sales do not flatten the online lines", () => {
    const day = (d: number, revenue: number) => ({ t: new Date(Date.UTC(2026, 10, d)).toISOString(), exposure: 1, clicks: 0, visits: 0, conversions: 0, revenue, spend: 0 });
    const channel = (id: string, revenues: number[]) => ({ id, name: id, kind: 'online', color: '#fff', today: { revenue: 1, exposure: 1 }, trend: revenues.map((r, i) => day(i + 1, r)) });
    const option = channelTrendOption([channel('store', [200_000, 210_000]), channel('sms', [0, 3_000])] as unknown as ScreenChannel[], 'zh', true, new Date(Date.UTC(2026, 10, 5)).toISOString());
    expect((option.base.yAxis as { type: string }).type).toBe('log');
    const series = option.data.series as Array<{ id: string; data: Array<[string, number | null]> }>;
    expect(series.find((s) => s.id === 'sms')!.data.map(([, v]) => v)).toEqual([null, 3_000]);
    expect(series.find((s) => s.id === 'store')!.data.map(([, v]) => v)).toEqual([200_000, 210_000]);
  });

  it("styles every kind of axis the wall's charts use, log axes included, in the wall's theme", () => {
    const options = [
      channelTrendOption([], 'zh', false, new Date().toISOString()), roiOption([], 'zh', 'floor'),
      scopeTrendOption([], new Date().toISOString(), 'zh', { left: 'a', right: 'b' }, false, false),
    ];
    const axes = options.flatMap((o) => [o.base.xAxis, o.base.yAxis].flat()).filter(Boolean) as Array<{ type?: string }>;
    const kinds = new Set(axes.map((a) => `${a.type ?? 'category'}Axis`));
    expect([...kinds].sort()).toEqual(['categoryAxis', 'logAxis', 'timeAxis', 'valueAxis']);
    for (const kind of kinds) expect(WALL_THEME, kind).toHaveProperty(kind);
  });

  it('labels the 7- and 30-day axes in the wall\'s language: the day, and the month where one begins', () => {
    // local midnights, as the chart's time axis places its ticks in the browser's time zone
    const dec1 = new Date(2026, 11, 1).getTime();
    const nov26 = new Date(2026, 10, 26).getTime();
    const labels = (locale: 'zh' | 'en') => {
      const axes = [channelTrendOption([], locale, true, new Date(dec1).toISOString()), scopeTrendOption([], new Date(dec1).toISOString(), locale, { left: 'a', right: 'b' }, false, true)]
        .map((option) => (option.base.xAxis as { axisLabel: { formatter: (value: number) => string } }).axisLabel.formatter);
      return axes.map((format) => [format(nov26), format(dec1)]);
    };
    expect(labels('en')).toEqual([['26', 'Dec'], ['26', 'Dec']]);
    expect(labels('zh')).toEqual([['26', '12月'], ['26', '12月']]);
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
  it.each([
    ['cvr', 0.031234, 'zh', '3.1234%'], ['ctr', 0.0312, 'en', '3.12%'], ['spend', 3001619.234, 'zh', '¥3,001,619.23'], ['cac', 42, 'en', '¥42'],
    ['roi', 1.456789, 'zh', '1.4568'], ['visits', 1234567, 'en', '1,234,567'],
  ] as const)("an episode's peak of %s %s in %s reads %s", (metric, value, locale, text) => {
    expect(formatMetricExact(metric, value, locale)).toBe(text);
  });
  it.each([
    ['ctr', 0.0123, 'zh', '+1.23 pp'], ['spend', 1_600_000, 'zh', '+¥160万'], ['roi', -0.5, 'en', '−0.50'], ['visits', 1234, 'en', '+1,234'],
  ] as const)('a "why" effect on %s of %s in %s reads %s', (metric, effect, locale, text) => {
    expect(formatEffect(metric, effect, locale)).toBe(text);
  });
  it("a rule's bound on its chart keeps every digit the admin typed, grouped", () => {
    const instance = { key: 'k', labels: {}, findings: [], episodes: [], series: [] };
    const boundLabel = (bound: { below: number } | { above: number }, locale: 'zh' | 'en') => {
      const options = episodeChartOptions({ bound, to: '2026-12-02T00:00:00Z', windowSeconds: 60 }, instance, locale, { value: 'v', baseline: 'b', bound: locale === 'zh' ? '阈值' : 'Bound' });
      const marks = (options.data.series as Array<{ markLine?: { data: Array<{ label: { formatter?: string } }> } }>)[0]!.markLine!.data;
      return marks[0]!.label.formatter;
    };
    expect(boundLabel({ above: 1_000_000 }, 'zh')).toBe('阈值 1,000,000');
    expect(boundLabel({ below: 1234567.5 }, 'en')).toBe('Bound 1,234,567.5');
    expect(boundLabel({ below: 0.015 }, 'zh')).toBe('阈值 0.015');
  });

  it('tiles compare with yesterday, flag an ROI under the floor, and show a store its own figures', () => {
    const frame = {
      level: 'region', scope: {}, path: [], asOf: '', trend: [], channels: [], children: [], stores: [],
      today: { values: deriveMetrics({ exposure: 1000, clicks: 100, visits: 0, conversions: 10, revenue: 140, spend: 100 }, 5), yesterday: { exposure: 800, clicks: 100, visits: 0, conversions: 5, revenue: 100, spend: 100 }, newUsers: { today: 30, yesterday: 40 } },
    } as unknown as ScreenFrame;
    const tiles = tilesOf(modelFromFrame(frame), 'zh', 1.5);
    const byField = Object.fromEntries(tiles.map((t) => [t.field, t]));
    expect(byField.exposure!.change).toBeCloseTo(0.25);
    expect(byField.conversions!.change).toBeCloseTo(1);
    expect(byField.roi!.warn).toBe(true);
    expect(byField.newUsers!.value).toBe(30);
    expect(byField.newUsers!.change).toBeCloseTo(-0.25);
    expect(tilesOf(modelFromFrame({ ...frame, today: { ...frame.today, newUsers: null } }), 'zh', 1.5).find((t) => t.field === 'newUsers')!.text).toBe('—');
    // a store: its visits carry no users, so its eighth tile is what each visitor spent, against yesterday's
    const storeFrame = { ...frame, level: 'store', today: { values: deriveMetrics({ exposure: 0, clicks: 0, visits: 50, conversions: 10, revenue: 2000, spend: 0 }, 0, true), yesterday: { exposure: 0, clicks: 0, visits: 40, conversions: 8, revenue: 2000, spend: 0 } } } as unknown as ScreenFrame;
    const storeTiles = tilesOf(modelFromFrame(storeFrame), 'zh', 1.5);
    expect(storeTiles.map((t) => t.field)).toEqual(['visits', 'conversions', 'cvr', 'revenue', 'aov', 'spend', 'roi', 'perVisitor']);
    const perVisitor = storeTiles.find((t) => t.field === 'perVisitor')!;
    expect([perVisitor.value, perVisitor.text]).toEqual([40, '¥40']);
    expect(perVisitor.change).toBeCloseTo(40 / 50 - 1, 9);
  });
});

describe('the region map', () => {
  it('names the stores whose labels fit, busiest first, and never writes one name over another or over a dot', () => {
    const cfg = loadConfig();
    for (const region of cfg.regions) {
      const stores = [...cfg.storeById.values()].filter((s) => s.region === region.id)
        .map((s, i) => ({ id: s.id, name: s.name, nameEn: s.nameEn, lng: s.lng, lat: s.lat, today: { visits: 1000 - i * 7 } }) as unknown as ScreenChild);
      if (stores.length < 2) continue;
      const provinces = region.provinces.map((p) => p.adcode);
      const scale = regionPxPerDegree(provinces, stores);
      for (const locale of ['zh', 'en'] as const) {
        const { sides: named, hiddenProvinces } = labelledStores(stores, locale, scale, provinceLabelsOf(provinces));
        const option = regionMapOption(provinces, stores, locale);
        const shown = (option.data.series as Array<{ data: Array<{ storeId: string; label: { show: boolean; position: string } }> }>)[0]!.data.filter((d) => d.label.show);
        expect(new Map(shown.map((d) => [d.storeId, d.label.position]))).toEqual(named);
        const provinceNames = (option.base.geo as { regions: Array<{ name: string; label: { show: boolean } }> }).regions.filter((r) => !r.label.show).map((r) => r.name);
        expect(new Set(provinceNames)).toEqual(hiddenProvinces);
        expect(named.has(stores[0]!.id), `${region.id}: the busiest store is named`).toBe(true);
        const boxOf = (s: ScreenChild) => labelBox(s.lng! * scale, -s.lat! * scale, labelWidth(locale === 'zh' ? s.name : s.nameEn), named.get(s.id)!);
        const overlap = (a: number[], b: number[]) => a[0]! < b[2]! && b[0]! < a[2]! && a[1]! < b[3]! && b[1]! < a[3]!;
        const labelled = stores.filter((s) => named.has(s.id));
        for (const a of labelled) {
          for (const b of labelled) if (a !== b) expect(overlap(boxOf(a), boxOf(b)), `${region.id} ${locale}: ${a.id} / ${b.id}`).toBe(false);
          for (const d of stores) if (d !== a) expect(overlap(boxOf(a), [d.lng! * scale - 9, -d.lat! * scale - 9, d.lng! * scale + 9, -d.lat! * scale + 9])).toBe(false);
          for (const p of provinceLabelsOf(provinces).filter((q) => !hiddenProvinces.has(q.text))) {
            const half = (labelWidth(p.text) * 18) / 16 / 2;
            expect(overlap(boxOf(a), [p.at[0] * scale - half, -p.at[1] * scale - 12, p.at[0] * scale + half, -p.at[1] * scale + 12]), `${a.id} over ${p.text}`).toBe(false);
          }
        }
      }
    }
    // the Pearl River Delta's stores sit within a degree: not all of them can be named
    const south = [...cfg.storeById.values()].filter((s) => s.region === 'south');
    const delta = south.filter((s) => s.lng > 112.8 && s.lng < 114.5 && s.lat > 22.3 && s.lat < 23.4);
    expect(delta.length).toBeGreaterThan(2);
    const southStores = south.map((s, i) => ({ id: s.id, name: s.name, nameEn: s.nameEn, lng: s.lng, lat: s.lat, today: { visits: 1000 - i } }) as unknown as ScreenChild);
    const { sides: named } = labelledStores(southStores, 'zh', regionPxPerDegree(cfg.regions.find((r) => r.id === 'south')!.provinces.map((p) => p.adcode), southStores));
    expect(delta.filter((s) => named.has(s.id)).length).toBeLessThan(delta.length);
  });
});

describe("the rule form's lists", () => {
  const cfg = loadConfig();
  const choices = { channels: cfg.channels, regions: cfg.regions, notifiers: [] };
  it('names the known choices in the page language and keeps a value no longer configured', () => {
    const east = cfg.regions.find((r) => r.id === 'east')!;
    expect(choiceOptions(cfg.regions, 'east', 'en')).toEqual(cfg.regions.map((r) => ({ value: r.id, label: r.nameEn })));
    expect(choiceOptions(cfg.regions, 'atlantis', 'zh').at(-1)).toEqual({ value: 'atlantis', label: null });
    expect(choiceOptions(cfg.regions, undefined, 'zh')).toHaveLength(cfg.regions.length);
    expect(storesOf(choices, 'east').map((s) => s.id)).toEqual(east.stores.map((s) => s.id));
    expect(storesOf(choices, undefined)).toHaveLength(cfg.regions.reduce((a, r) => a + r.stores.length, 0));
  });
});
