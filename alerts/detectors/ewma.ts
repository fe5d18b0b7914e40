import { directedLevel, type Detector, type Direction } from './types.js';

const MIN_RELATIVE_SPREAD = 0.01;

/**
 * Exponentially weighted mean and variance over the previous `lookback` windows (oldest first,
 * weight `alpha` on the newer); the score is the window's distance from that mean in deviations.
 */
export function ewmaDetector(spec: { threshold: number; alpha: number; lookback: number; direction: Direction }): Detector {
  return {
    historyTimes: (t, windowMs) => Array.from({ length: spec.lookback }, (_, k) => t - (spec.lookback - k) * windowMs),
    judge(current, history) {
      const values = [...history].sort((a, b) => a.t - b.t).flatMap((p) => (p.value === null ? [] : [p.value]));
      if (values.length < 3) return null;
      let mean = values[0]!;
      let variance = 0;
      for (const value of values.slice(1)) {
        const diff = value - mean;
        mean += spec.alpha * diff;
        variance = (1 - spec.alpha) * (variance + spec.alpha * diff * diff);
      }
      if (mean === 0 && variance === 0) return null; // nothing but zeros: no scale to judge by
      const spread = Math.max(Math.sqrt(variance), MIN_RELATIVE_SPREAD * Math.abs(mean), 1e-9);
      const score = (current.value - mean) / spread;
      const level = directedLevel(score, spec.threshold, spec.direction);
      return { score, level, breach: level >= 1, baseline: mean };
    },
  };
}
