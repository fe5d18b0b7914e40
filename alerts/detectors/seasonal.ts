import { DAY_MS, median, type Detector, type Direction, type Judgement, type SeriesPoint } from './types.js';

/** the recent windows whose departures from their own profiles say what an ordinary departure is */
export const SEASONAL_STRETCH = 144;
/** the latest windows whose mean departure is judged */
const RECENT = 6;

/**
 * A daily profile: each window is expected to be the median of the same window on the previous
 * `days` days. What is judged is not one departure from it but how unusual the mean departure of
 * the last few windows is against the departures of the recent stretch from their own profiles
 * — so a series that follows its days loosely needs a bigger departure than one that follows
 * them closely, and a series with no daily pattern at all (its departures always large) pages
 * nobody. A departure smaller than `minChange` of the profile never counts. Tuned on NAB's
 * labelled series (npm run bench, BENCH_ONLY=detectors).
 */
export function seasonalDetector(spec: { threshold: number; days: number; minChange: number; direction: Direction }): Detector {
  return {
    historyTimes(t, windowMs) {
      const wanted: number[] = [];
      for (let k = spec.days; k >= 0; k--) {
        for (let j = SEASONAL_STRETCH - 1; j >= 0; j--) if (j || k) wanted.push(t - j * windowMs - k * DAY_MS);
      }
      return wanted;
    },
    judge(current, history) {
      const values = new Map<number, number>();
      // the window's length: the nearest earlier window of any day (history holds only windows with data)
      let windowMs = Infinity;
      for (const point of history as SeriesPoint[]) {
        if (point.value === null) continue;
        values.set(point.t, point.value);
        const back = (current.t - point.t) % DAY_MS;
        if (back > 0 && back < windowMs) windowMs = back;
      }
      if (!Number.isFinite(windowMs)) return null;
      values.set(current.t, current.value);
      const departures: number[] = [];
      let baseline = 0;
      for (let j = 0; j < SEASONAL_STRETCH; j++) {
        const t = current.t - j * windowMs;
        const value = values.get(t);
        if (value === undefined) continue;
        const profile: number[] = [];
        for (let k = 1; k <= spec.days; k++) {
          const earlier = values.get(t - k * DAY_MS);
          if (earlier !== undefined) profile.push(earlier);
        }
        // a profile of nothing but zeros is the days before the data began, not a pattern
        if (profile.length < 3 || profile.every((v) => v === 0)) {
          if (j === 0) return null;
          continue;
        }
        const expected = median(profile);
        if (j === 0) baseline = expected;
        departures.push(Math.abs(value - expected));
      }
      if (departures.length < SEASONAL_STRETCH / 2) return null;
      const recent = departures.slice(0, RECENT);
      const past = departures.slice(RECENT);
      const recentMean = recent.reduce((a, b) => a + b, 0) / recent.length;
      const mean = past.reduce((a, b) => a + b, 0) / past.length;
      const spread = Math.sqrt(past.reduce((a, b) => a + (b - mean) ** 2, 0) / past.length);
      let score = (recentMean - mean) / Math.max(spread, 1e-9 + 1e-6 * mean);
      const signed = current.value - baseline;
      if (Math.abs(signed) < spec.minChange * Math.abs(baseline)) score = 0;
      if ((spec.direction === 'up' && signed < 0) || (spec.direction === 'down' && signed > 0)) score = 0;
      const level = score / spec.threshold;
      return { score, level, breach: level >= 1, baseline } satisfies Judgement;
    },
  };
}
