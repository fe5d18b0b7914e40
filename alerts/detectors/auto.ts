// The recommended detector for people who do not tune statistics. It learns, from the series
// itself, what an ordinary surprise looks like and alerts on an unusual run of surprises:
// - each window is predicted three ways — the median of the windows just before it (robust to a
//   lone outlier), the same time yesterday, the same time a week ago — and the way that predicted
//   the trailing stretch best is used, so daily and weekly seasonality are learnt when the
//   history shows them;
// - the mean error of the last few windows is compared with the errors over the stretch (NAB's
//   "anomaly likelihood" idea), so a noisy series needs a bigger surprise than a calm one;
// - a value beyond anything the reach has held (a new high or low, past a margin) counts too.
// Each window is judged only from the windows before it. One knob: sensitivity.
// Tuned on NAB's labelled series (npm run bench, BENCH_ONLY=detectors); one setting for all.
import { DAY_MS, type Detector, type Direction, type Judgement, type SeriesPoint } from './types.js';

export type Sensitivity = 'low' | 'medium' | 'high';

/** windows in the local median prediction */
const PREDICT = 6;
/** windows whose mean error is judged */
const RECENT = 8;
/** windows whose errors say what is ordinary */
const STRETCH = 480;
/** windows looked back on, at most: a week and a stretch, for the range and the seasonal predictions */
const REACH = 2600;
/** how far past the reach's range, as a share of it, a value counts as beyond anything seen */
const EXTREME_MARGIN = 0.05;
/** z of the recent mean error against the stretch's errors */
export const AUTO_THRESHOLD: Record<Sensitivity, number> = { low: 5.5, medium: 4.5, high: 3.5 };
const WEEK_MS = 7 * DAY_MS;

const scratch = new Float64Array(PREDICT);

/** The median of values[from, from + PREDICT), by insertion sort into a reused buffer. */
function localPrediction(values: Float64Array, from: number): number {
  for (let i = 0; i < PREDICT; i++) {
    const v = values[from + i]!;
    let j = i - 1;
    while (j >= 0 && scratch[j]! > v) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = v;
  }
  return (scratch[(PREDICT >> 1) - 1]! + scratch[PREDICT >> 1]!) / 2;
}

interface Surprise {
  score: number;
  meanError: number;
  prediction: number;
}

/**
 * How unusual the mean error of the last RECENT windows is against the errors of the STRETCH
 * windows before them, for one way of predicting (`predict(i)`: window i's prediction, NaN when
 * it cannot be made).
 */
function surpriseOf(values: Float64Array, from: number, to: number, predict: (i: number) => number): Surprise | null {
  const n = to;
  const pastEnd = n - RECENT;
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  let recent = 0;
  let recentCount = 0;
  for (let i = Math.max(from + PREDICT, pastEnd - STRETCH); i < n; i++) {
    const predicted = predict(i);
    if (Number.isNaN(predicted)) continue;
    const error = Math.abs(values[i]! - predicted);
    if (i < pastEnd) {
      sum += error;
      sumSq += error * error;
      count++;
    } else {
      recent += error;
      recentCount++;
    }
  }
  if (count < 30 || recentCount === 0) return null;
  const mean = sum / count;
  const deviation = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
  const score = (recent / recentCount - mean) / Math.max(deviation, 1e-9 + 1e-6 * Math.abs(mean));
  return { score, meanError: mean, prediction: predict(n - 1) };
}

// reused across judgements (one window is judged at a time)
let values = new Float64Array(REACH + 1);
let times = new Float64Array(REACH + 1);

/** How many earlier windows the detector reads at this window length. */
const spanFor = (windowMs: number) => Math.min(REACH, Math.max(STRETCH + RECENT + PREDICT, Math.ceil(WEEK_MS / windowMs) + STRETCH + RECENT));

/**
 * Judges the last of values/times[from, to) (the current window) from the ones before it, which
 * are the windows of its history that hold data, oldest first.
 */
function judgeLast(vals: Float64Array, ts: Float64Array, from: number, to: number, threshold: number, direction: Direction): Judgement | null {
  const n = to - from;
  if (n - 1 < PREDICT + RECENT + 30) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to - 1; i++) {
    const v = vals[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const current = vals[to - 1]!;
  const step = (ts[to - 1]! - ts[from]!) / (n - 1);
  // the value one season earlier, when the history holds the window at that time
  const seasonal = (periodMs: number) => {
    const lag = Math.round(periodMs / step);
    return (i: number) => {
      const j = i - lag;
      return j >= from && Math.abs(ts[j]! - (ts[i]! - periodMs)) < step / 2 ? vals[j]! : NaN;
    };
  };
  const ways = [(i: number) => (i >= from + PREDICT ? localPrediction(vals, i - PREDICT) : NaN), seasonal(DAY_MS), seasonal(WEEK_MS)];
  let best: Surprise | null = null;
  for (const predict of ways) {
    const surprise = surpriseOf(vals, from, to, predict);
    if (surprise && (!best || surprise.meanError < best.meanError)) best = surprise;
  }
  if (!best) return null;

  // a range means something only over a whole stretch of history
  const margin = EXTREME_MARGIN * Math.max(hi - lo, 1e-9);
  const extreme = n > STRETCH + RECENT + PREDICT && (current > hi + margin || current < lo - margin);
  let score = Math.max(best.score, extreme ? threshold : 0);
  const signed = current - best.prediction;
  if ((direction === 'up' && signed < 0) || (direction === 'down' && signed > 0)) score = 0;
  const level = score / threshold;
  return { score, level, breach: level >= 1, baseline: best.prediction };
}

export function autoDetector(spec: { sensitivity: Sensitivity; direction: Direction }): Detector {
  const threshold = AUTO_THRESHOLD[spec.sensitivity];
  return {
    historyTimes(t, windowMs) {
      const span = spanFor(windowMs);
      const wanted = new Array<number>(span);
      for (let k = 0; k < span; k++) wanted[k] = t - (span - k) * windowMs;
      return wanted;
    },
    judge(current, history) {
      // history comes oldest first (historyTimes' order); windows without data are left out
      if (values.length < history.length + 1) {
        values = new Float64Array(history.length + 1);
        times = new Float64Array(history.length + 1);
      }
      let n = 0;
      for (const point of history as SeriesPoint[]) {
        if (point.value === null) continue;
        values[n] = point.value;
        times[n++] = point.t;
      }
      values[n] = current.value;
      times[n++] = current.t;
      return judgeLast(values, times, 0, n, threshold, spec.direction);
    },
    judgeSeries(points, windowMs) {
      const vals = Float64Array.from(points, (p) => p.value);
      const ts = Float64Array.from(points, (p) => p.t);
      const span = spanFor(windowMs);
      return points.map((_, i) => judgeLast(vals, ts, Math.max(0, i - span), i + 1, threshold, spec.direction));
    },
  };
}
