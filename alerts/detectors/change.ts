import { DAY_MS, type Detector } from './types.js';

const OFFSET = { 'day-ago': DAY_MS, 'week-ago': 7 * DAY_MS } as const;

/**
 * `drop` / `rise` by `ratio` against one baseline window: the previous window, or the same
 * window a day or a week ago. Score: the relative change (−0.62 = down 62 %).
 */
export function changeDetector(spec: { kind: 'drop' | 'rise'; vs: 'previous' | 'day-ago' | 'week-ago'; ratio: number }): Detector {
  return {
    historyTimes: (t, windowMs) => [t - (spec.vs === 'previous' ? windowMs : OFFSET[spec.vs])],
    judge(current, history) {
      const baseline = history[0]?.value;
      if (baseline === null || baseline === undefined || baseline === 0) return null;
      const change = current.value / baseline - 1;
      const level = (spec.kind === 'drop' ? -change : change) / spec.ratio;
      return { score: change, level, breach: level >= 1, baseline };
    },
  };
}
