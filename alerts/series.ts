// A detector run over a whole series in time order: the backtest CLI, the rule preview and the
// detector-quality bench. Points are judged with the live alerts' code (assess), each only from the
// points before it; episodes follow the live lifecycle (advance), so they start, fire and end as
// the live alert would.
import { assess, type Assessment } from './assess.js';
import type { Detector, Judgement, SeriesPoint } from './detectors/index.js';
import { advance, type InstanceState } from './lifecycle.js';
import type { AlertRule } from '../config/alert-schema.js';

export interface Finding {
  point: SeriesPoint;
  judgement: Judgement;
}

/** The series' typical step: the median gap between consecutive points. */
export function medianStep(points: SeriesPoint[]): number {
  const gaps = points.slice(1).map((p, i) => p.t - points[i]!.t).filter((g) => g > 0).sort((a, b) => a - b);
  return gaps.length ? gaps[gaps.length >> 1]! : 0;
}

/**
 * Which windows of a regular series assess() calls quiet: below minVolume, now and in the median
 * of its history's volumes — when that history is the K windows just before (kept sorted as it
 * slides); null for any other history.
 */
function quietWindows(detector: Detector, sorted: SeriesPoint[], windowMs: number, minVolume: number): boolean[] | null {
  if (minVolume <= 0 || !sorted.length) return sorted.map(() => false);
  // in any order: the volumes' median does not depend on it
  const wanted = detector.historyTimes(sorted[0]!.t, windowMs).map((t) => (sorted[0]!.t - t) / windowMs).sort((a, b) => b - a);
  const k = wanted.length;
  if (!(k > 0 && wanted.every((back, i) => back === k - i))) return null;
  const window: number[] = [];
  const insertAt = (v: number) => {
    let lo = 0;
    let hi = window.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (window[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return sorted.map((point, i) => {
    if (i > 0) window.splice(insertAt(sorted[i - 1]!.volume), 0, sorted[i - 1]!.volume);
    if (i - k - 1 >= 0) window.splice(insertAt(sorted[i - k - 1]!.volume), 1);
    const mid = window.length >> 1;
    const historyMedian = !window.length ? 0 : window.length % 2 ? window[mid]! : (window[mid - 1]! + window[mid]!) / 2;
    return Math.max(point.volume, historyMedian) < minVolume;
  });
}

/**
 * How many earlier windows runs may still look up one judgement at a time (the windows a detector
 * cannot judge along the whole series), shared by the runs it is passed to; past it they throw.
 */
export interface HistoryBudget {
  left: number;
}
export class HistoryBudgetSpent extends Error {}

/** Every point of the series (in time order) with the detector's assessment of it. */
export function assessSeries(detector: Detector, points: SeriesPoint[], windowMs: number, minVolume: number, budget?: HistoryBudget): Array<{ point: SeriesPoint; assessment: Assessment }> {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  // history is looked up within half a step of each wanted time: on a regular series its index
  // is computed, else (or when that misses) searched
  const step = medianStep(sorted) || windowMs;
  const tolerance = Math.max(1, Math.floor(step / 2));
  const start = sorted[0]?.t ?? 0;
  /** the index of the first point at or after t */
  const lowerBound = (t: number): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  /** the nearer of the points either side of index j (the first at or after t), if within tolerance of t */
  const nearestAround = (j: number, t: number): SeriesPoint | undefined => {
    const before = sorted[j - 1];
    const at = sorted[j];
    const best = !before || (at && Math.abs(at.t - t) <= Math.abs(before.t - t)) ? at : before;
    return best && Math.abs(best.t - t) < tolerance ? best : undefined;
  };
  const lookup = (t: number): SeriesPoint | undefined => {
    const guess = sorted[Math.round((t - start) / step)];
    return guess && Math.abs(guess.t - t) < tolerance ? guess : nearestAround(lowerBound(t), t);
  };
  const assessOne = (point: SeriesPoint): Assessment => {
    const history: SeriesPoint[] = [];
    const wanted = detector.historyTimes(point.t, windowMs);
    if (budget && (budget.left -= wanted.length) < 0) throw new HistoryBudgetSpent(`more than the budget of earlier windows looked up one judgement at a time (${wanted.length} for each)`);
    if (wanted.length > 1 && wanted[0]! < wanted[1]!) {
      // ascending (oldest first): one forward scan finds them all
      let j = lowerBound(wanted[0]!);
      for (const t of wanted) {
        while (j < sorted.length && sorted[j]!.t < t) j++;
        const earlier = nearestAround(j, t);
        if (earlier && earlier.t < point.t) history.push(earlier);
      }
    } else {
      for (const t of wanted) {
        const earlier = lookup(t);
        if (earlier && earlier.t < point.t) history.push(earlier);
      }
    }
    return assess(detector, minVolume, point, history);
  };

  // a regular series (one point per window, no gaps) may be judged whole, if the detector can. A
  // time given twice (a file whose clock stepped back) does not stop that: the history of later
  // windows holds the first of them, as the search above finds it, and the repeats are judged one by one.
  const firsts = sorted.filter((p, i) => i === 0 || p.t !== sorted[i - 1]!.t);
  const regular = firsts.every((p, i) => i === 0 || p.t - firsts[i - 1]!.t === windowMs);
  const quiet = detector.judgeSeries && regular ? quietWindows(detector, firsts, windowMs, minVolume) : null;
  if (detector.judgeSeries && quiet) {
    const judgements = detector.judgeSeries(firsts, windowMs);
    const byFirst = new Map<SeriesPoint, Assessment>();
    firsts.forEach((point, i) => {
      const judgement = judgements[i];
      if (judgement === undefined) return; // judged below by its history, as live
      byFirst.set(point, point.value === null ? { kind: 'no-data' } : quiet[i] ? { kind: 'quiet' } : judgement ? { kind: 'judged', judgement } : { kind: 'unjudged' });
    });
    return sorted.map((point) => ({ point, assessment: byFirst.get(point) ?? assessOne(point) }));
  }
  return sorted.map((point) => ({ point, assessment: assessOne(point) }));
}

/** The points where the detector sees a breach (`--points`). */
export function findBreaches(detector: Detector, points: SeriesPoint[], windowMs: number, minVolume: number): Finding[] {
  return breachesOf(assessSeries(detector, points, windowMs, minVolume));
}

/** The breaching points of a series already assessed (assessSeries). */
export function breachesOf(assessed: Array<{ point: SeriesPoint; assessment: Assessment }>): Finding[] {
  return assessed.flatMap(({ point, assessment }) => (assessment.kind === 'judged' && assessment.judgement.breach ? [{ point, judgement: assessment.judgement }] : []));
}

export interface Episode {
  /** the first breaching point: where the episode begins */
  onset: Finding;
  /** where it fired (after `for`); null when it ended before (cleared, never notified) */
  fired: Finding | null;
  /** the last point of the episode (the series' end if still active) */
  end: SeriesPoint;
  /** where it was last back inside the bound and stayed (recovering, keepFiringFor): null if it is firing at its end */
  recovered: SeriesPoint | null;
  /** whether it was still active at the series' end */
  open: boolean;
  /**
   * the point furthest from what it was compared with (its baseline), or for a threshold furthest
   * past its bound: not the highest level, which for `auto` is the recent run's and stays as high
   * for the windows after a spike as for the spike itself
   */
  peak: Finding;
}

export type EpisodeRule = Pick<AlertRule, 'for' | 'hysteresis' | 'noData' | 'minVolume' | 'keepFiringFor'>;

/** Alert episodes as the live lifecycle makes them: pending at the onset, firing after `for`, recovering by hysteresis, ending after `keepFiringFor`. */
export function findEpisodes(detector: Detector, points: SeriesPoint[], windowMs: number, rule: EpisodeRule): Episode[] {
  return episodesOf(assessSeries(detector, points, windowMs, rule.minVolume), rule);
}

/** How far a judged point stands out: its distance from its baseline, or its level when it has none. */
function outOfLine({ point, judgement }: Finding): number {
  return judgement.baseline !== undefined && point.value !== null ? Math.abs(point.value - judgement.baseline) : judgement.level;
}

/** The episodes of a series already assessed (assessSeries). */
export function episodesOf(assessed: Array<{ point: SeriesPoint; assessment: Assessment }>, rule: EpisodeRule): Episode[] {
  const episodes: Episode[] = [];
  let state: InstanceState | null = null;
  let current: Omit<Episode, 'end' | 'open' | 'recovered'> | null = null;
  let recovered: SeriesPoint | null = null;
  let last: SeriesPoint | null = null;
  for (const { point, assessment } of assessed) {
    const step = advance(state, assessment, rule, point.t);
    const judged = assessment.kind === 'judged' ? { point, judgement: assessment.judgement } : null;
    if (step.transition === 'pending' || (step.transition === 'firing' && !current)) {
      current = { onset: judged!, fired: null, peak: judged! };
    }
    if (current && step.next && judged && outOfLine(judged) > outOfLine(current.peak)) current.peak = judged;
    if (step.transition === 'firing' && current) current.fired = judged ?? current.onset;
    if (step.transition === 'recovering') recovered = point;
    if (step.transition === 'relapsed') recovered = null;
    if ((step.transition === 'resolved' || step.transition === 'cleared') && current) {
      episodes.push({ ...current, end: last ?? point, open: false, recovered: recovered ?? (step.transition === 'resolved' ? point : null) });
      current = null;
      recovered = null;
    }
    state = step.next;
    last = point;
  }
  if (current && last) episodes.push({ ...current, end: last, open: true, recovered });
  return episodes;
}
