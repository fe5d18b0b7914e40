import { MIN_RELATIVE_SPREAD, judgeOverLookback, presentValues, scaledDistance, type Detector, type Direction, type Judgement } from './types.js';

/**
 * Exponentially weighted mean and variance over the previous `lookback` windows (oldest first,
 * weight `alpha` on the newer); the score is the window's distance from that mean in deviations.
 */
export function ewmaDetector(spec: { threshold: number; alpha: number; lookback: number; direction: Direction }): Detector {
  /** values oldest first */
  const judgeValues = (value: number, values: number[]): Judgement | null => {
    if (values.length < 3) return null;
    let mean = values[0]!;
    let variance = 0;
    for (let i = 1; i < values.length; i++) {
      const diff = values[i]! - mean;
      mean += spec.alpha * diff;
      variance = (1 - spec.alpha) * (variance + spec.alpha * diff * diff);
    }
    return scaledDistance(value, mean, Math.sqrt(variance), MIN_RELATIVE_SPREAD * Math.abs(mean), spec);
  };
  return {
    historyTimes: (t, windowMs) => Array.from({ length: spec.lookback }, (_, k) => t - (spec.lookback - k) * windowMs),
    judge: (current, history) => judgeValues(current.value, presentValues([...history].sort((a, b) => a.t - b.t))),
    judgeSeries: (points) => judgeOverLookback(points, spec.lookback, false, judgeValues),
  };
}
