import { MIN_RELATIVE_SPREAD, judgeOverLookback, presentValues, scaledDistance, type Detector, type Direction, type Judgement } from './types.js';

/** Standard score against the previous `lookback` windows (mean and sample deviation). */
export function zscoreDetector(spec: { threshold: number; lookback: number; direction: Direction }): Detector {
  /** values newest first, as historyTimes orders the history */
  const judgeValues = (value: number, values: number[]): Judgement | null => {
    if (values.length < 3) return null;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
    return scaledDistance(value, mean, Math.sqrt(variance), MIN_RELATIVE_SPREAD * Math.abs(mean), spec);
  };
  return {
    historyTimes: (t, windowMs) => Array.from({ length: spec.lookback }, (_, k) => t - (k + 1) * windowMs),
    judge: (current, history) => judgeValues(current.value, presentValues(history)),
    judgeSeries: (points) => judgeOverLookback(points, spec.lookback, true, judgeValues),
  };
}
