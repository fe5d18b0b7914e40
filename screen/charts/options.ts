// ECharts options built from the view model. Each chart has a `base` (set once, and again when
// the language changes) and `data` (only the series and axis data, set on every update).
import type { FlowPoint, ScreenChannel, ScreenChild } from '../../stream/types.js';
import { formatCount, formatMoney, formatPercent, formatRatio } from '../format.js';
import type { ChartMark } from '../chart-marks.js';
import type { Locale } from '../i18n.js';
import { COLORS } from './theme.js';

export type Option = Record<string, unknown>;
export interface ChartOptions {
  base: Option;
  data: Option;
}

const nameOf = (node: { name: string; nameEn: string }, locale: Locale) => (locale === 'zh' ? node.name : node.nameEn);
export const ROI_FLOOR = 1.5;

const timeAxisBase = (locale: Locale) => ({
  type: 'time',
  axisLabel: { color: COLORS.muted, fontSize: 16, hideOverlap: true, formatter: (value: number) => new Date(value).toLocaleTimeString(locale === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit', hour12: false }) },
  splitLine: { show: false },
});

/**
 * Axis labels of 7- and 30-day charts: the day of the month, and the month where one begins, in
 * the wall's language (ECharts' own labels are in the locale it was set up with: "12月" on the
 * English wall).
 */
export function dayAxisLabel(value: number, locale: Locale): string {
  const date = new Date(value);
  if (date.getDate() !== 1) return String(date.getDate());
  return locale === 'zh' ? `${date.getMonth() + 1}月` : date.toLocaleDateString('en-GB', { month: 'short' });
}

const dayAxisBase = (locale: Locale) => ({
  type: 'time',
  axisLabel: { color: COLORS.muted, fontSize: 16, hideOverlap: true, formatter: (value: number) => dayAxisLabel(value, locale) },
});

/**
 * The points whose bucket has ended by `asOf`: the bucket in progress would always show as a
 * sudden drop at the right edge, which on a wall reads as an incident.
 */
export function completePoints(points: FlowPoint[], asOf: string): FlowPoint[] {
  if (points.length < 2) return points;
  const step = Date.parse(points[1]!.t) - Date.parse(points[0]!.t);
  const end = Date.parse(asOf);
  let count = points.length;
  while (count > 0 && Date.parse(points[count - 1]!.t) + step > end) count--;
  return count === points.length ? points : points.slice(0, count);
}

/**
 * Annotations and alert moments on a time chart, carried by its first series: a dashed line with
 * a label for a moment, a shaded band for a span (always set, so marks that go are cleared).
 */
export function marksOf(marks: ChartMark[]): Option {
  const label = (mark: ChartMark) => ({ show: true, formatter: mark.label, color: mark.color, fontSize: 15, position: 'insideEndTop' });
  const translucent = (hex: string) => `rgba(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')}, 0.16)`;
  return {
    markLine: {
      silent: true, symbol: 'none', animation: false,
      data: marks.filter((m) => m.until === undefined).map((m) => ({ name: m.key, xAxis: m.at, lineStyle: { color: m.color, type: 'dashed', width: 1.5 }, label: label(m) })),
    },
    markArea: {
      silent: true, animation: false,
      data: marks.filter((m) => m.until !== undefined).map((m) => [
        { name: m.key, xAxis: m.at, itemStyle: { color: translucent(m.color), borderColor: m.color, borderWidth: 1, borderType: 'dashed' }, label: { ...label(m), position: 'insideTop' } },
        { xAxis: m.until },
      ]),
    },
  };
}

/** Revenue per channel over time (live: per 5 minutes of the last hour; history: per step). */
export function channelTrendOption(channels: ScreenChannel[], locale: Locale, dayAxis: boolean, asOf: string, marks: ChartMark[] = []): ChartOptions {
  return {
    base: {
      animation: false,
      // English names are longer: the eleven channels need a third legend row
      grid: { left: 70, right: 20, top: locale === 'zh' ? 64 : 86, bottom: 36 },
      legend: { top: 0, left: 0, right: 0, itemGap: 12, textStyle: { color: COLORS.muted, fontSize: 15 } },
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => formatMoney(v, locale) },
      xAxis: dayAxis ? dayAxisBase(locale) : timeAxisBase(locale),
      // stores sell ten times what an online channel does: on a linear axis every online line lies
      // flat along the bottom; a log axis shows each channel's own rise and fall (as the ROI chart does)
      yAxis: { type: 'log', logBase: 10, axisLabel: { formatter: (v: number) => formatCount(v, locale) } },
    },
    data: {
      series: channels.filter((c) => c.today.revenue > 0 || c.today.exposure > 0).map((c, i) => ({
        id: c.id, name: nameOf(c, locale), type: 'line', showSymbol: false, color: c.color,
        lineStyle: { width: 2.5 }, emphasis: { focus: 'series' },
        // a log axis has no zero: an interval without revenue is a gap in the line
        data: (dayAxis ? completePoints(c.trend, asOf) : perFiveMinutes(c.trend, asOf)).map((p) => [p.t, p.revenue > 0 ? p.revenue : null]),
        ...(i === 0 ? marksOf(marks) : {}),
      })),
    },
  };
}

/** Revenue by channel in the range, largest first, each bar in its channel's colour (a phone's column). */
export function channelRevenueOption(channels: ScreenChannel[], locale: Locale): ChartOptions {
  const rows = channels.filter((c) => c.today.revenue > 0).sort((a, b) => b.today.revenue - a.today.revenue);
  return {
    base: {
      animation: false,
      grid: { left: 8, right: 76, top: 4, bottom: 4, containLabel: true },
      xAxis: { type: 'value', show: false },
      yAxis: { type: 'category', inverse: true, axisLabel: { color: COLORS.text, fontSize: 16, interval: 0 }, axisLine: { show: false }, axisTick: { show: false } },
      tooltip: { show: false },
    },
    data: {
      yAxis: { data: rows.map((c) => nameOf(c, locale)) },
      series: [{
        id: 'revenue', type: 'bar', barMaxWidth: 16,
        label: { show: true, position: 'right', color: COLORS.text, fontSize: 15, formatter: (p: { value: number }) => formatMoney(p.value, locale) },
        data: rows.map((c) => ({ value: c.today.revenue, itemStyle: { color: c.color } })),
      }],
    },
  };
}

/** ROI by channel, lowest first, with the 1.5 floor drawn; channels below it in red. */
export function roiOption(channels: ScreenChannel[], locale: Locale, floorLabel: string): ChartOptions {
  const rows = channels.filter((c) => c.today.roi !== null).sort((a, b) => (b.today.roi ?? 0) - (a.today.roi ?? 0));
  return {
    base: {
      animation: false,
      grid: { left: 120, right: 70, top: 28, bottom: 28 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: number) => formatRatio(v) },
      // ROI spans 0.5 to 1 000 across channels: a log axis keeps the ones near the floor readable
      xAxis: { type: 'log', logBase: 10, min: 0.1, axisLabel: { fontSize: 15, formatter: (v: number) => String(v) } },
      yAxis: { type: 'category', inverse: true, axisLabel: { color: COLORS.text, fontSize: 17, interval: 0 } },
    },
    data: {
      yAxis: { data: rows.map((c) => nameOf(c, locale)) },
      series: [{
        id: 'roi', type: 'bar', barMaxWidth: 22,
        data: rows.map((c) => ({ value: Math.max(c.today.roi ?? 0, 0.1), roi: c.today.roi, channelId: c.id, itemStyle: { color: (c.today.roi ?? 0) < ROI_FLOOR ? COLORS.bad : c.color } })),
        label: { show: true, position: 'right', color: COLORS.text, fontSize: 16, formatter: (p: { data: { roi: number } }) => formatRatio(p.data.roi) },
        markLine: {
          symbol: 'none', silent: true,
          lineStyle: { color: COLORS.bad, type: 'dashed', width: 2 },
          label: { color: COLORS.bad, fontSize: 15, formatter: floorLabel, position: 'start' },
          data: [{ xAxis: ROI_FLOOR }],
        },
      }],
    },
  };
}

export interface FunnelStage {
  label: string;
  value: number;
}

/** Stages drawn at fixed widths (real funnels span four orders of magnitude), labelled with the real numbers and step rates. */
export function funnelOption(stages: FunnelStage[], locale: Locale): ChartOptions {
  return {
    base: { animation: false, tooltip: { show: false } },
    data: {
      series: [{
        id: 'funnel', type: 'funnel', left: '6%', width: '88%', top: 8, bottom: 8, sort: 'none', gap: 6, minSize: '48%',
        label: {
          position: 'inside', fontSize: 18, color: '#04122a', fontWeight: 600,
          formatter: (p: { dataIndex: number }) => {
            const stage = stages[p.dataIndex]!;
            const before = stages[p.dataIndex - 1];
            const rate = before && before.value > 0 ? `  ${formatPercent(stage.value / before.value, 2)}` : '';
            return `${stage.label} ${formatCount(stage.value, locale)}${rate}`;
          },
        },
        itemStyle: { borderWidth: 0 },
        color: ['#36d1ff', '#34e39f', '#ffb547'],
        data: stages.map((s, i) => ({ name: s.label, value: stages.length - i })),
      }],
    },
  };
}

/** The top stores by foot traffic. */
export function rankingOption(stores: ScreenChild[], locale: Locale, top = 10): ChartOptions {
  const rows = [...stores].sort((a, b) => b.today.visits - a.today.visits).slice(0, top);
  return {
    base: {
      animation: false,
      grid: { left: 190, right: 70, top: 8, bottom: 8 },
      xAxis: { type: 'value', show: false },
      yAxis: { type: 'category', inverse: true, axisLabel: { color: COLORS.text, fontSize: 17, width: 180, overflow: 'truncate' }, axisLine: { show: false } },
      tooltip: { show: false },
    },
    data: {
      yAxis: { data: rows.map((s) => nameOf(s, locale)) },
      series: [{
        id: 'visits', type: 'bar', barMaxWidth: 18, cursor: 'pointer',
        itemStyle: { color: { type: 'linear', x: 0, y: 0, x2: 1, y2: 0, colorStops: [{ offset: 0, color: '#1a5bd6' }, { offset: 1, color: COLORS.accent }] } },
        label: { show: true, position: 'right', color: COLORS.text, fontSize: 16, formatter: (p: { value: number }) => formatCount(p.value, locale) },
        data: rows.map((s) => ({ value: s.today.visits, storeId: s.id })),
      }],
    },
  };
}

/** The scope's own 10 s trend: conversions as bars, revenue as a line (stores: foot traffic). */
/** Conversions (bars) and revenue, a store's visits and till sales; new users as a line on the counts' axis where the points know them. */
export function scopeTrendOption(allPoints: FlowPoint[], asOf: string, locale: Locale, labels: { left: string; right: string; newUsers?: string }, storeView: boolean, dayAxis: boolean, marks: ChartMark[] = []): ChartOptions {
  // a store's door counter sees a few people per 10 s: per minute reads better
  const points = storeView && !dayAxis ? perMinute(completePoints(allPoints, asOf)) : completePoints(allPoints, asOf);
  return {
    base: {
      animation: false,
      grid: { left: 64, right: 80, top: 44, bottom: 34 },
      legend: { top: 0, textStyle: { color: COLORS.muted, fontSize: 16 } },
      tooltip: { trigger: 'axis' },
      // room past the first and last bars: centred on the axis' ends, half of each was cut off (on
      // a phone a minute's bar is 2 px wide: the newest, the minute in progress, looked like 0)
      xAxis: { ...(dayAxis ? dayAxisBase(locale) : timeAxisBase(locale)), boundaryGap: ['2%', '2%'] },
      yAxis: [
        // whole numbers: a quiet store's zeros would otherwise read 0, 0, 1, 1
        { type: 'value', splitNumber: 3, minInterval: 1, axisLabel: { formatter: (v: number) => formatCount(v, locale) } },
        { type: 'value', splitNumber: 3, minInterval: 1, splitLine: { show: false }, axisLabel: { formatter: (v: number) => formatCount(v, locale) } },
      ],
    },
    data: {
      series: [
        { id: 'left', name: labels.left, type: 'bar', barMaxWidth: storeView ? 10 : 6, color: '#2a66c4', data: points.map((p) => [p.t, storeView ? p.visits : p.conversions]), ...marksOf(marks) },
        { id: 'right', name: labels.right, type: 'line', yAxisIndex: 1, showSymbol: false, color: COLORS.good, data: points.map((p) => [p.t, storeView ? p.conversions : p.revenue]) },
        ...(labels.newUsers && points.some((p) => typeof p.newUsers === 'number')
          ? [{ id: 'newUsers', name: labels.newUsers, type: 'line', showSymbol: false, color: COLORS.warn, lineStyle: { width: 2.5 }, data: points.map((p) => [p.t, p.newUsers ?? null]) }]
          : []),
      ],
    },
  };
}

/** Points summed into bins of `binMs` (a partial first bin is dropped; complete the points first for the last). */
export function binned(points: FlowPoint[], binMs: number): FlowPoint[] {
  const bins = new Map<number, FlowPoint>();
  for (const p of points) {
    const bin = Math.floor(Date.parse(p.t) / binMs) * binMs;
    const sum = bins.get(bin);
    if (!sum) bins.set(bin, { ...p, t: new Date(bin).toISOString() });
    else for (const field of ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend'] as const) sum[field] += p[field];
  }
  const result = [...bins.values()];
  return points.length && Date.parse(points[0]!.t) % binMs !== 0 ? result.slice(1) : result;
}

/** 10 s points summed into whole minutes (a partial first minute is dropped). */
export const perMinute = (points: FlowPoint[]) => binned(points, 60_000);

/** Live channel revenue in 5-minute bins: per minute, a channel's few orders read as noise from across a room. */
export const LIVE_CHANNEL_BIN_MS = 5 * 60_000;

/** Minute points as whole 5-minute bins, only those ended by `asOf`. */
export function perFiveMinutes(points: FlowPoint[], asOf: string): FlowPoint[] {
  const end = Date.parse(asOf);
  return binned(points, LIVE_CHANNEL_BIN_MS).filter((p) => Date.parse(p.t) + LIVE_CHANNEL_BIN_MS <= end);
}
