import { MIN_RELATIVE_SPREAD, presentValues, scaledDistance, type Detector, type Direction } from './types.js';

/**
 * Exponentially weighted mean and variance over the previous `lookback` windows (oldest first,
 * weight `alpha` on the newer); the score is the window's distance from that mean in deviations.
 */
export function ewmaDetector(spec: { threshold: number; alpha: number; lookback: number; direction: Direction }): Detector {
  return {
    historyTimes: (t, windowMs) => Array.from({ length: spec.lookback }, (_, k) => t - (spec.lookback - k) * windowMs),
    judge(current, history) {
      const values = presentValues([...history].sort((a, b) => a.t - b.t));
      if (values.length < 3) return null;
      let mean = values[0]!;
      let variance = 0;
      for (const value of values.slice(1)) {
        const diff = value - mean;
        mean += spec.alpha * diff;
        variance = (1 - spec.alpha) * (variance + spec.alpha * diff * diff);
      }
      return scaledDistance(current.value, mean, Math.sqrt(variance), MIN_RELATIVE_SPREAD * Math.abs(mean), spec);
    },
  };
}
