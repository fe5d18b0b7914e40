// The detectors' common shape. Pure: the live evaluator and the backtest CLI call the same code.

/** One window's figure: its end time, its value (null: a ratio over nothing) and its volume. */
export interface SeriesPoint {
  t: number;
  value: number | null;
  /** what the value rests on (clicks for a conversion rate, the count itself for a sum) */
  volume: number;
}

export interface Judgement {
  /** the detector's own measure: the value (thresholds), the relative change, or a z-score */
  score: number;
  /** how far past the bound: a breach is `breach`; while active, it holds until level < 1 − hysteresis */
  level: number;
  breach: boolean;
  /** what the value was compared with, when there is such a thing */
  baseline?: number;
  /** `auto`: the value has stayed exactly the same this many windows, longer than ever before (a stopped feed) */
  unchangedFor?: number;
}

export interface Detector {
  /** end times of the earlier windows this detector compares a window ending at `t` with */
  historyTimes(t: number, windowMs: number): number[];
  /**
   * null when there is nothing to judge by (no baseline yet, a zero baseline). The history holds
   * no window from before the data began (`sinceDataBegan`).
   */
  judge(current: SeriesPoint & { value: number }, history: SeriesPoint[]): Judgement | null;
  /**
   * Optional, for backtests and previews: every point of a regular series (one point per window,
   * in order, no gaps; values may be null) judged at once — exactly what judge() would say of each
   * from its history since the data began (null for a point without a value); undefined for a
   * point the caller should judge by its history, as live (one the whole-series path does not cover).
   */
  judgeSeries?(points: SeriesPoint[], windowMs: number): Array<Judgement | null | undefined>;
}

export type Direction = 'up' | 'down' | 'both';

/** A z-like score turned into a level against a threshold, in the rule's direction. */
export function directedLevel(score: number, threshold: number, direction: Direction): number {
  const signed = direction === 'up' ? score : direction === 'down' ? -score : Math.abs(score);
  return signed / threshold;
}

export const DAY_MS = 86_400_000;

/**
 * The history from its first window with volume on: the empty windows before it are the time
 * before the data began (a new installation, a store not yet open today), not a baseline of
 * zeros — judged against them, a first hour of sales is a thousand-sigma anomaly. The history
 * may come in any order.
 */
export function sinceDataBegan(history: SeriesPoint[]): SeriesPoint[] {
  let began = Infinity;
  for (const point of history) if (point.volume > 0 && point.t < began) began = point.t;
  return history.filter((point) => point.t >= began);
}

/**
 * For a regular series judged whole: per index j, the first index at or after j whose window has
 * volume (points.length when none) — where a history reaching back to j begins (sinceDataBegan).
 */
export function firstWithVolumeFrom(points: SeriesPoint[]): Int32Array {
  const first = new Int32Array(points.length + 1).fill(points.length);
  for (let j = points.length - 1; j >= 0; j--) first[j] = points[j]!.volume > 0 ? j : first[j + 1]!;
  return first;
}

/**
 * A whole regular series judged window by window from the present values of the `lookback`
 * windows before each (since the data began), newest or oldest first as the detector's live judge
 * reads them: the same values in the same order, without building each window's history.
 */
export function judgeOverLookback(points: SeriesPoint[], lookback: number, newestFirst: boolean, judgeValues: (value: number, values: number[]) => Judgement | null): Array<Judgement | null> {
  const began = firstWithVolumeFrom(points);
  const values: number[] = [];
  return points.map((point, i) => {
    if (point.value === null) return null;
    values.length = 0;
    for (let j = began[Math.max(0, i - lookback)]!; j < i; j++) if (points[j]!.value !== null) values.push(points[j]!.value!);
    if (newestFirst) values.reverse();
    return judgeValues(point.value, values);
  });
}

/** The history's values, leaving out windows without data. */
export function presentValues(history: SeriesPoint[]): number[] {
  const values: number[] = [];
  for (const point of history) if (point.value !== null) values.push(point.value);
  return values;
}

export function median(values: number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A spread never taken below this share of the baseline: a flat history must not make any wiggle infinite. */
export const MIN_RELATIVE_SPREAD = 0.01;

/**
 * The statistical detectors' judgement: the value's distance from `baseline` in spreads (never a
 * spread below `floor`), against the threshold in the rule's direction. Null when baseline and
 * spread are both zero — a history of nothing but zeros (before the data began) has no scale.
 */
export function scaledDistance(value: number, baseline: number, spread: number, floor: number, spec: { threshold: number; direction: Direction }): Judgement | null {
  if (baseline === 0 && spread === 0) return null;
  const score = (value - baseline) / Math.max(spread, floor, 1e-9);
  const level = directedLevel(score, spec.threshold, spec.direction);
  return { score, level, breach: level >= 1, baseline };
}
