import { DAY_MS, directedLevel, type Detector, type Direction } from './types.js';

const MAD_TO_SIGMA = 1.4826;

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A daily profile: the same window on each of the previous `days` days. Robust: the baseline is
 * their median and the spread their median absolute deviation, never less than `minChange` of
 * the baseline, so one odd day in the profile neither hides nor invents an anomaly.
 */
export function seasonalDetector(spec: { threshold: number; days: number; minChange: number; direction: Direction }): Detector {
  return {
    historyTimes: (t) => Array.from({ length: spec.days }, (_, k) => t - (k + 1) * DAY_MS),
    judge(current, history) {
      const values = history.flatMap((p) => (p.value === null ? [] : [p.value])).sort((a, b) => a - b);
      if (values.length < 3) return null;
      const baseline = median(values);
      const mad = median(values.map((v) => Math.abs(v - baseline)).sort((a, b) => a - b));
      // a profile of zeros (days before the data began, a store closed at this hour) has no scale
      if (baseline === 0 && mad === 0) return null;
      // the floor is minChange / threshold so that a departure of exactly minChange reaches the threshold
      const floor = (spec.minChange * Math.abs(baseline)) / spec.threshold;
      const spread = Math.max(MAD_TO_SIGMA * mad, floor, 1e-9);
      const score = (current.value - baseline) / spread;
      const level = directedLevel(score, spec.threshold, spec.direction);
      return { score, level, breach: level >= 1, baseline };
    },
  };
}
