import { directedLevel, type Detector, type Direction } from './types.js';

/** Spread never taken below this share of the mean: a flat history must not make any wiggle infinite. */
const MIN_RELATIVE_SPREAD = 0.01;

/** Standard score against the previous `lookback` windows (mean and sample deviation). */
export function zscoreDetector(spec: { threshold: number; lookback: number; direction: Direction }): Detector {
  return {
    historyTimes: (t, windowMs) => Array.from({ length: spec.lookback }, (_, k) => t - (k + 1) * windowMs),
    judge(current, history) {
      const values = history.flatMap((p) => (p.value === null ? [] : [p.value]));
      if (values.length < 3) return null;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
      if (mean === 0 && variance === 0) return null; // nothing but zeros (e.g. before the data began): no scale to judge by
      const spread = Math.max(Math.sqrt(variance), MIN_RELATIVE_SPREAD * Math.abs(mean), 1e-9);
      const score = (current.value - mean) / spread;
      const level = directedLevel(score, spec.threshold, spec.direction);
      return { score, level, breach: level >= 1, baseline: mean };
    },
  };
}
