// Numbers for a wall: short, exact enough, in the reader's units (万/亿 in Chinese, K/M/B in English).
import { metricUnit } from '../alerts/metric-unit.js';
import type { Locale } from './i18n.js';

/** A configured place's or channel's name in the page's language. */
export const nameIn = (node: { name: string; nameEn: string }, locale: Locale): string => (locale === 'zh' ? node.name : node.nameEn);

export function formatCount(value: number | null | undefined, locale: Locale): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  // [from, divisor, unit]: English switches to K only at 10 000, so 4-digit counts stay whole
  const units: Array<[number, number, string]> = locale === 'zh' ? [[1e8, 1e8, '亿'], [1e4, 1e4, '万']] : [[1e9, 1e9, 'B'], [1e6, 1e6, 'M'], [1e4, 1e3, 'K']];
  for (const [from, divisor, unit] of units) {
    if (abs >= from) return `${short(value / divisor)}${unit}`;
  }
  return Math.round(value).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en-US');
}

/** three or four significant digits: 1518, 70.3, 5.92 */
function short(value: number): string {
  const abs = Math.abs(value);
  return trim(value, abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

export function formatMoney(value: number | null | undefined, locale: Locale): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `¥${formatCount(value, locale)}`;
}

/** A figure someone typed (a rule's bound): every digit kept (up to `fractionDigits`), grouped — 1,000,000, 0.015. */
export const formatExact = (value: number, locale: Locale, fractionDigits = 6): string =>
  value.toLocaleString(locale === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: fractionDigits });

/**
 * A metric's value where every digit matters (an episode's peak in "try it on history"), in the
 * metric's unit: rates as percentages, money with the yuan sign and its fen, ROI as a ratio.
 */
export function formatMetricExact(metric: string, value: number, locale: Locale): string {
  switch (metricUnit(metric)) {
    case 'percent': return `${formatExact(value * 100, locale, 4)}%`;
    case 'money': return `¥${formatExact(value, locale, 2)}`;
    case 'ratio': return formatExact(value, locale, 4);
    case 'count': return formatExact(value, locale);
  }
}

export const formatRatio = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(2);

export const formatPercent = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : `${(value * 100).toFixed(digits)}%`;

/** Relative change, or null when there is nothing to compare with. */
export const change = (now: number | null, before: number | null | undefined): number | null =>
  now === null || before === null || before === undefined || before === 0 ? null : (now - before) / before;

export const formatClock = (date: Date, locale: Locale): string =>
  date.toLocaleTimeString(locale === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });

/** Date and time of an instant (ISO text or epoch ms); '—' for none. */
export const formatDateTime = (at: string | number | null, locale: Locale): string =>
  at === null ? '—' : new Date(at).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });

function trim(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
