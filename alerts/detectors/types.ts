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
}

export interface Detector {
  /** end times of the earlier windows this detector compares a window ending at `t` with */
  historyTimes(t: number, windowMs: number): number[];
  /** null when there is nothing to judge by (no baseline yet, a zero baseline) */
  judge(current: SeriesPoint & { value: number }, history: SeriesPoint[]): Judgement | null;
}

export type Direction = 'up' | 'down' | 'both';

/** A z-like score turned into a level against a threshold, in the rule's direction. */
export function directedLevel(score: number, threshold: number, direction: Direction): number {
  const signed = direction === 'up' ? score : direction === 'down' ? -score : Math.abs(score);
  return signed / threshold;
}

export const DAY_MS = 86_400_000;
