// The map: the nation coloured by each region's revenue today, with its stores as dots; a region
// drawn alone with its stores sized by foot traffic. Clicks carry regionId / storeId.
import type { ScreenChild } from '../../stream/types.js';
import { formatCount, formatMoney, nameIn } from '../format.js';
import type { Locale } from '../i18n.js';
import { chinaGeoJson } from './china-geo.js';
import type { ChartOptions } from './options.js';
import { COLORS } from './theme.js';

const provinceByCode = new Map(chinaGeoJson.features.map((f) => [Number(f.id), f.properties]));

/** Where each region's name sits (the region ids are fixed by the contract); others use their provinces' centre. */
const LABEL_AT: Record<string, [number, number]> = {
  east: [121.3, 30.2], central: [110.6, 31.2], north: [114.6, 40.8], south: [111.6, 23.2],
  southwest: [99.8, 27.8], northwest: [94.5, 38.5], northeast: [126.8, 46.5],
};

function centroid(adcodes: number[]): [number, number] {
  const points = adcodes.map((code) => provinceByCode.get(code)?.cp).filter((cp): cp is [number, number] => !!cp);
  const lng = points.reduce((sum, p) => sum + p[0], 0) / Math.max(points.length, 1);
  const lat = points.reduce((sum, p) => sum + p[1], 0) / Math.max(points.length, 1);
  return [lng, lat];
}

/** The region map's drawing area on the wall's 1920 × 1080 canvas (its panel less padding). */
const REGION_MAP_PX = { width: 680, height: 420 };

export type LabelSide = 'right' | 'left' | 'top' | 'bottom';

/** Where a label sits beside a dot at (x, y), in canvas pixels. */
export function labelBox(x: number, y: number, width: number, side: LabelSide): [number, number, number, number] {
  switch (side) {
    case 'right': return [x + 12, y - 11, x + 14 + width, y + 11];
    case 'left': return [x - 14 - width, y - 11, x - 12, y + 11];
    case 'top': return [x - width / 2, y - 34, x + width / 2, y - 12];
    case 'bottom': return [x - width / 2, y + 12, x + width / 2, y + 34];
  }
}

export const labelWidth = (name: string) => [...name].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 16 : 9), 0);

/**
 * Which stores of a region get their name written beside their dot, and on which side: the
 * busiest first, each where its label runs into no label or dot already placed (Shanghai's five
 * stores, or Guangzhou, Foshan, Shenzhen and Dongguan, sit within a degree of each other), nor a
 * province's name — except the busiest store, whose name wins over a province's (that province's
 * name is then not written: 上海陆家嘴店 says where it is), as a province's name under a dot is not.
 * Boxes are estimated in canvas pixels
 * from the map's scale; the stores left unnamed keep their dot, tooltip and click.
 */
export function labelledStores(
  stores: ScreenChild[], locale: Locale, pxPerDegree: number, provinceLabels: Array<{ at: [number, number]; text: string }> = [],
): { sides: Map<string, LabelSide>; hiddenProvinces: Set<string> } {
  type Box = [number, number, number, number];
  const overlap = (a: Box, b: Box) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
  const at = (s: ScreenChild) => [(s.lng ?? 0) * pxPerDegree, -(s.lat ?? 0) * pxPerDegree] as const;
  // every dot first, so a label never covers another store's dot
  const dots = new Map(stores.map((s) => {
    const [x, y] = at(s);
    return [s.id, [x - 9, y - 9, x + 9, y + 9] as Box];
  }));
  // the provinces' names (18 px, centred on their label point)
  const provinces = provinceLabels.map(({ at: [lng, lat], text }) => {
    const half = (labelWidth(text) * 18) / 16 / 2;
    return { text, box: [lng * pxPerDegree - half, -lat * pxPerDegree - 12, lng * pxPerDegree + half, -lat * pxPerDegree + 12] as Box };
  });
  // a province's name under a store's dot is half hidden anyway: not written (the stores' names say the city)
  const hiddenProvinces = new Set(provinces.filter((p) => [...dots.values()].some((d) => overlap(p.box, d))).map((p) => p.text));
  const labels: Box[] = [];
  const sides = new Map<string, LabelSide>();
  const busiestFirst = [...stores].sort((a, b) => b.today.visits - a.today.visits || a.id.localeCompare(b.id));
  busiestFirst.forEach((s, rank) => {
    const [x, y] = at(s);
    const width = labelWidth(nameIn(s, locale));
    const free = (box: Box, overProvinces: boolean) =>
      !labels.some((l) => overlap(box, l)) && ![...dots].some(([id, d]) => id !== s.id && overlap(box, d))
      && (overProvinces || !provinces.some((p) => !hiddenProvinces.has(p.text) && overlap(box, p.box)));
    const sidesInOrder = ['right', 'left', 'top', 'bottom'] as const;
    let side = sidesInOrder.find((c) => free(labelBox(x, y, width, c), false));
    if (!side && rank === 0) {
      side = sidesInOrder.find((c) => free(labelBox(x, y, width, c), true));
      if (side) for (const p of provinces) if (overlap(labelBox(x, y, width, side), p.box)) hiddenProvinces.add(p.text);
    }
    if (!side) return;
    labels.push(labelBox(x, y, width, side));
    sides.set(s.id, side);
  });
  return { sides, hiddenProvinces };
}

const storeDots = (stores: ScreenChild[], locale: Locale, labelled: Map<string, LabelSide> | null) => {
  const most = Math.max(1, ...stores.map((s) => s.today.visits));
  return {
    // a static glow, not effectScatter's ripples: those animate forever and keep the main thread busy
    id: 'stores', type: 'scatter', coordinateSystem: 'geo', cursor: 'pointer', zlevel: 2,
    itemStyle: { color: 'rgba(255, 181, 71, 0.9)', shadowBlur: 10, shadowColor: COLORS.warn, borderColor: 'rgba(255, 230, 180, 0.9)', borderWidth: 1 },
    label: { show: false, position: 'right', color: COLORS.text, fontSize: 16, formatter: '{b}', textBorderColor: '#04122a', textBorderWidth: 3 },
    labelLayout: { hideOverlap: true },
    symbolSize: (value: number[]) => (labelled ? 8 + 14 * Math.sqrt((value[2] ?? 0) / most) : 4 + 6 * Math.sqrt((value[2] ?? 0) / most)),
    data: stores.map((s) => ({ name: nameIn(s, locale), value: [s.lng, s.lat, s.today.visits], storeId: s.id, label: { show: labelled?.has(s.id) ?? false, position: labelled?.get(s.id) ?? 'right' } })),
    tooltip: { formatter: (p: { name: string; value: number[] }) => `${p.name}<br/>${formatCount(p.value[2] ?? 0, locale)}` },
  };
};

export function nationMapOption(regions: ScreenChild[], stores: ScreenChild[], locale: Locale, metricLabel: string): ChartOptions {
  const regionOfProvince = new Map(regions.flatMap((r) => (r.provinces ?? []).map((code) => [code, r] as const)));
  const max = Math.max(1, ...regions.map((r) => r.today.revenue));
  return {
    base: {
      animation: false,
      tooltip: { trigger: 'item' },
      geo: { map: 'china', roam: false, top: 20, bottom: 20, left: 'center', itemStyle: { areaColor: '#0f2148', borderColor: '#2f5ba6' } },
      visualMap: {
        type: 'continuous', min: 0, max, seriesIndex: 0, calculable: false, left: 16, bottom: 16, itemHeight: 140, itemWidth: 14,
        text: [formatMoney(max, locale), metricLabel], textStyle: { color: COLORS.muted, fontSize: 15 },
        inRange: { color: ['#12305e', '#1e6fd9', '#36d1ff'] },
      },
    },
    data: {
      visualMap: { max, text: [formatMoney(max, locale), metricLabel] },
      series: [
        {
          id: 'provinces', type: 'map', geoIndex: 0, cursor: 'pointer',
          data: chinaGeoJson.features.map((f) => {
            const region = regionOfProvince.get(Number(f.id));
            return region ? { name: f.properties.name, value: region.today.revenue, regionId: region.id, regionName: nameIn(region, locale) } : { name: f.properties.name, value: null };
          }),
          tooltip: { formatter: (p: { name: string; data?: { regionName?: string; value: number | null } }) => p.data?.regionName ? `${p.data.regionName} · ${p.name}<br/>${formatMoney(p.data.value, locale)}` : p.name },
        },
        {
          id: 'regionLabels', type: 'scatter', coordinateSystem: 'geo', symbolSize: 0, silent: true, zlevel: 3,
          label: { show: true, color: COLORS.text, fontSize: 19, fontWeight: 700, lineHeight: 24, textBorderColor: '#04122a', textBorderWidth: 4, formatter: (p: { data: { label: string } }) => p.data.label },
          data: regions.map((r) => ({ value: LABEL_AT[r.id] ?? centroid(r.provinces ?? []), label: `${nameIn(r, locale)}\n${formatMoney(r.today.revenue, locale)}` })),
        },
        storeDots(stores, locale, null),
      ],
    },
  };
}

const REGION_MARGIN = 2.2;

/** Where the region map writes its provinces' names: each province's label point. */
export const provinceLabelsOf = (adcodes: Iterable<number>) =>
  [...adcodes].flatMap((code) => {
    const province = provinceByCode.get(code);
    return province?.cp ? [{ at: province.cp as [number, number], text: province.name as string }] : [];
  });

/** The region map's scale, canvas pixels per degree, as its frame (provinces and stores, a margin round) sets it. */
export function regionPxPerDegree(provinces: number[], stores: ScreenChild[]): number {
  const points = [
    ...provinces.map((code) => provinceByCode.get(code)?.cp).filter((cp): cp is [number, number] => !!cp),
    ...stores.map((s) => [s.lng ?? 0, s.lat ?? 0] as [number, number]),
  ];
  const lngSpan = Math.max(...points.map((p) => p[0])) - Math.min(...points.map((p) => p[0])) + 2 * REGION_MARGIN;
  const latSpan = Math.max(...points.map((p) => p[1])) - Math.min(...points.map((p) => p[1])) + 2 * REGION_MARGIN;
  return Math.min(REGION_MAP_PX.width / lngSpan, REGION_MAP_PX.height / latSpan);
}

/** A region on the whole map, framed to its provinces and stores; its stores sized by foot traffic. */
export function regionMapOption(provinces: number[], stores: ScreenChild[], locale: Locale): ChartOptions {
  const inRegion = new Set(provinces);
  const points = [
    ...provinces.map((code) => provinceByCode.get(code)?.cp).filter((cp): cp is [number, number] => !!cp),
    ...stores.map((s) => [s.lng ?? 0, s.lat ?? 0] as [number, number]),
  ];
  const lngs = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  const margin = REGION_MARGIN;
  const pxPerDegree = regionPxPerDegree(provinces, stores);
  const named = labelledStores(stores, locale, pxPerDegree, provinceLabelsOf(inRegion));
  return {
    base: {
      animation: false,
      tooltip: { trigger: 'item' },
      geo: {
        map: 'china', roam: false, top: 10, bottom: 10, left: 10, right: 10,
        boundingCoords: [[Math.min(...lngs) - margin, Math.max(...lats) + margin], [Math.max(...lngs) + margin, Math.min(...lats) - margin]],
        itemStyle: { areaColor: '#0b1a38', borderColor: '#1d3a6e' },
        emphasis: { disabled: true },
        regions: chinaGeoJson.features.filter((f) => inRegion.has(Number(f.id))).map((f) => ({
          name: f.properties.name,
          itemStyle: { areaColor: '#16407f', borderColor: '#4f8ae0', borderWidth: 1.5 },
          label: { show: !named.hiddenProvinces.has(f.properties.name), color: COLORS.muted, fontSize: 18 },
        })),
      },
    },
    data: { series: [storeDots(stores, locale, named.sides)] },
  };
}

const adcodeByName = new Map(chinaGeoJson.features.map((f) => [f.properties.name, Number(f.id)]));

/** The region a clicked province belongs to (clicks on the map can come from the geo component, which knows only the name). */
export function regionOfProvince(provinceName: string, regions: ScreenChild[]): string | undefined {
  const adcode = adcodeByName.get(provinceName);
  return adcode === undefined ? undefined : regions.find((r) => r.provinces?.includes(adcode))?.id;
}
