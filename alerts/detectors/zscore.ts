import { MIN_RELATIVE_SPREAD, presentValues, scaledDistance, type Detector, type Direction } from './types.js';

/** Standard score against the previous `lookback` windows (mean and sample deviation). */
export function zscoreDetector(spec: { threshold: number; lookback: number; direction: Direction }): Detector {
  return {
    historyTimes: (t, windowMs) => Array.from({ length: spec.lookback }, (_, k) => t - (k + 1) * windowMs),
    judge(current, history) {
      const values = presentValues(history);
      if (values.length < 3) return null;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
      return scaledDistance(current.value, mean, Math.sqrt(variance), MIN_RELATIVE_SPREAD * Math.abs(mean), spec);
    },
  };
}
