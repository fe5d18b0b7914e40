import type { Detector } from './types.js';

/**
 * `below n` / `above n`. The level is 1 at the bound and grows by one per |n| past it, so a
 * hysteresis of 5 % clears `below 1.5` only at 1.575 or more.
 */
export function thresholdDetector(when: { below: number } | { above: number }): Detector {
  const below = 'below' in when;
  const bound = below ? when.below : when.above;
  const scale = Math.max(Math.abs(bound), 1e-9);
  return {
    historyTimes: () => [],
    judge(current) {
      const past = below ? bound - current.value : current.value - bound;
      return { score: current.value, level: 1 + past / scale, breach: past > 0 };
    },
  };
}
