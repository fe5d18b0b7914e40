import { DAY_MS, firstWithVolumeFrom, median, type Detector, type Direction, type Judgement } from './types.js';

/** the recent windows whose departures from their own profiles say what an ordinary departure is */
export const SEASONAL_STRETCH = 144;
/** the latest windows whose mean departure is judged */
const RECENT = 6;

type Spec = { threshold: number; days: number; minChange: number; direction: Direction };

/** A window's expected value: the median of its profile; null for a profile of fewer than 3 days or nothing but zeros (the days before the data began, not a pattern). */
function expectedOf(profile: number[]): number | null {
  if (profile.length < 3 || profile.every((v) => v === 0)) return null;
  return median(profile);
}

/**
 * The judgement of a window from the stretch ending at it: for j = 0 (the window) … STRETCH − 1
 * windows back, its value (null: none in the history) and its expected value (null: no profile).
 */
function judgeStretch(spec: Spec, valueAt: (j: number) => number | null, expectedAt: (j: number) => number | null): Judgement | null {
  const departures: number[] = [];
  let baseline = 0;
  for (let j = 0; j < SEASONAL_STRETCH; j++) {
    const value = valueAt(j);
    if (value === null) continue;
    const expected = expectedAt(j);
    if (expected === null) {
      if (j === 0) return null;
      continue;
    }
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
  const signed = valueAt(0)! - baseline;
  if (Math.abs(signed) < spec.minChange * Math.abs(baseline)) score = 0;
  if ((spec.direction === 'up' && signed < 0) || (spec.direction === 'down' && signed > 0)) score = 0;
  const level = score / spec.threshold;
  return { score, level, breach: level >= 1, baseline };
}

/**
 * A daily profile: each window is expected to be the median of the same window on the previous
 * `days` days. What is judged is not one departure from it but how unusual the mean departure of
 * the last few windows is against the departures of the recent stretch from their own profiles
 * — so a series that follows its days loosely needs a bigger departure than one that follows
 * them closely, and a series with no daily pattern at all (its departures always large) pages
 * nobody. A departure smaller than `minChange` of the profile never counts. Tuned on NAB's
 * labelled series (npm run bench, BENCH_ONLY=detectors).
 */
export function seasonalDetector(spec: Spec): Detector {
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
      for (const point of history) {
        if (point.value === null) continue;
        values.set(point.t, point.value);
        const back = (current.t - point.t) % DAY_MS;
        if (back > 0 && back < windowMs) windowMs = back;
      }
      if (!Number.isFinite(windowMs)) return null;
      values.set(current.t, current.value);
      return judgeStretch(spec, (j) => values.get(current.t - j * windowMs) ?? null, (j) => {
        const profile: number[] = [];
        for (let k = 1; k <= spec.days; k++) {
          const earlier = values.get(current.t - j * windowMs - k * DAY_MS);
          if (earlier !== undefined) profile.push(earlier);
        }
        return expectedOf(profile);
      });
    },
    judgeSeries(points, windowMs) {
      const n = points.length;
      const lag = DAY_MS / windowMs;
      // a window that does not divide the day: the same time yesterday is no window of the series
      if (!Number.isInteger(lag)) return points.map(() => undefined);
      const began = firstWithVolumeFrom(points);
      const value = (at: number, from: number) => (at >= from ? points[at]!.value : null);
      const profile: number[] = [];
      /** window m's expected value from the earlier days its history holds (from `from` on) */
      const expectedFrom = (m: number, from: number) => {
        profile.length = 0;
        for (let k = 1; k <= spec.days; k++) {
          const earlier = value(m - k * lag, from);
          if (earlier !== null) profile.push(earlier);
        }
        return expectedOf(profile);
      };
      // each window's expected value when every earlier day is in its history: made once
      const expectedWhole = Array.from({ length: n }, (_, m) => expectedFrom(m, 0));
      return points.map((point, i) => {
        if (point.value === null) return null;
        // where its history begins: the first window with volume among the windows it reads
        // (the last SEASONAL_STRETCH of each of the days before and of today)
        let from = n;
        for (let k = spec.days; k >= 0 && from === n; k--) {
          const hi = i - k * lag - (k === 0 ? 1 : 0);
          if (hi < 0) continue;
          const first = began[Math.max(0, i - k * lag - SEASONAL_STRETCH + 1)]!;
          if (first <= hi) from = first;
        }
        if (from === n) return null;
        // the live judge's window length is the nearest earlier window of any day: one step when
        // the window just before (on some day) has a value; else left to be judged as live
        let stepBack = false;
        for (let k = 0; k <= spec.days && !stepBack; k++) stepBack = value(i - 1 - k * lag, from) !== null;
        if (!stepBack) return undefined;
        const whole = from <= Math.max(0, i - SEASONAL_STRETCH + 1 - spec.days * lag);
        return judgeStretch(spec, (j) => (j === 0 ? point.value : i - j >= 0 ? value(i - j, from) : null), (j) => (whole ? expectedWhole[i - j]! : expectedFrom(i - j, from)));
      });
    },
  };
}
