import { DAY_MS, median, presentValues, scaledDistance, type Detector, type Direction } from './types.js';

const MAD_TO_SIGMA = 1.4826;

/**
 * A daily profile: the same window on each of the previous `days` days. Robust: the baseline is
 * their median and the spread their median absolute deviation, never less than `minChange` of
 * the baseline, so one odd day in the profile neither hides nor invents an anomaly.
 */
export function seasonalDetector(spec: { threshold: number; days: number; minChange: number; direction: Direction }): Detector {
  return {
    historyTimes: (t) => Array.from({ length: spec.days }, (_, k) => t - (k + 1) * DAY_MS),
    judge(current, history) {
      const values = presentValues(history);
      if (values.length < 3) return null;
      const baseline = median(values);
      const mad = median(values.map((v) => Math.abs(v - baseline)));
      // the floor is minChange / threshold so that a departure of exactly minChange reaches the threshold
      const floor = (spec.minChange * Math.abs(baseline)) / spec.threshold;
      return scaledDistance(current.value, baseline, MAD_TO_SIGMA * mad, floor, spec);
    },
  };
}
