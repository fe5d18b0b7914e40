// The recommended detector for people who do not tune statistics. It learns, from the series
// itself, what an ordinary surprise looks like and alerts on an unusual run of surprises:
// - each window is predicted three ways — the median of the windows just before it (robust to a
//   lone outlier), the same time yesterday, the same time a week ago — and the way that predicted
//   the trailing stretch best is used, so daily and weekly seasonality are learnt when the
//   history shows them; where the two seasons predicted about as well, a surprise must be one
//   under both;
// - the mean error of the last few windows is compared with the errors over the stretch (NAB's
//   "anomaly likelihood" idea), so a noisy series needs a bigger surprise than a calm one; where
//   the same windows a day and a week earlier (give or take half a run) held a surprise that
//   would have alerted — stores opening, a nightly job — it is part of the series' day, and only
//   one twice its size alerts;
// - a value beyond anything the reach has held (a new high or low, past a margin) counts too;
// - so does a value that stays exactly the same for longer than any run before it, and at least
//   STUCK_MIN windows: a stopped door counter or tracking feed is perfectly predictable, so it
//   surprises nothing above.
// Each window is judged only from the windows before it, and only once its history holds a whole
// day: before that, a store opening is as new as a collapse (it learns the day first). One knob:
// sensitivity.
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
/**
 * errors a day's or a week's prediction must have made before it competes with the local one: a
 * season's first night of a store that reads exactly 0 each night is predicted perfectly, and
 * then the morning was a billion sigmas
 */
const SEASONAL_FEWEST = STRETCH / 2;
/** how much worse than the best a day's or a week's prediction may have done and still have to confirm a surprise */
const SEASONS_AGREE = 2;
/** windows a value must stay exactly the same, at the least, to count as stuck */
const STUCK_MIN = 64;
/** how far past the reach's range, as a share of it, a value counts as beyond anything seen */
const EXTREME_MARGIN = 0.05;
/** z of the recent mean error against the stretch's errors */
export const AUTO_THRESHOLD: Record<Sensitivity, number> = { low: 5.5, medium: 4.5, high: 3.5 };
const WEEK_MS = 7 * DAY_MS;
/**
 * How far back the data must reach before a window is judged: a day, so the day's shape (stores
 * opening) has been seen once — or nearly the whole reach where that is shorter (windows under
 * 34 s: REACH windows of 10 s span 7 h). `shortestStep` is the window length (the least time
 * between two windows with data).
 */
const learnsFor = (shortestStep: number) => Math.min(DAY_MS, (REACH - PREDICT - RECENT) * shortestStep);

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

/** How one way of predicting did: the stretch's errors and the recent windows' mean error. */
interface Surprise {
  predict: Predict;
  meanError: number;
  /** the stretch's errors' deviation, kept off zero */
  scale: number;
  recentError: number;
  prediction: number;
}

/** A prediction of window i: its predicted value, or NaN when it cannot be made. */
type Predict = (i: number) => number;

/** how many windows either side of "one season earlier" a surprise then may have peaked (its run's start shifts) */
const SAME_TIME_SLACK = RECENT / 2;

// reused: the errors sameTimeError slides over (one judgement at a time)
const sameTimeErrors = new Float64Array(2 * SAME_TIME_SLACK + RECENT);

/**
 * The largest mean error, under one way of predicting, of RECENT windows ending within
 * SAME_TIME_SLACK windows of one season before the current one — the smaller of a day's and a
 * week's; NaN where neither is in the history.
 */
function sameTimeError(values: Float64Array, times: Float64Array, from: number, to: number, step: number, predict: Predict): number {
  let smallest = NaN;
  for (const periodMs of [DAY_MS, WEEK_MS]) {
    const center = to - 1 - Math.round(periodMs / step);
    const first = center - SAME_TIME_SLACK - RECENT + 1;
    // as the seasonal predictions do: only where that window is one season earlier (no gap between),
    // and the windows looked at end before the current run
    if (first < from + PREDICT || center + SAME_TIME_SLACK >= to - RECENT || Math.abs(times[center]! - (times[to - 1]! - periodMs)) >= step / 2) continue;
    // each window's error once (NaN: no prediction), then a run of RECENT slid over them
    for (let k = 0; k < sameTimeErrors.length; k++) sameTimeErrors[k] = Math.abs(values[first + k]! - predict(first + k));
    let largest = 0;
    let sum = 0;
    let count = 0;
    for (let k = 0; k < sameTimeErrors.length; k++) {
      if (!Number.isNaN(sameTimeErrors[k]!)) {
        sum += sameTimeErrors[k]!;
        count++;
      }
      if (k >= RECENT && !Number.isNaN(sameTimeErrors[k - RECENT]!)) {
        sum -= sameTimeErrors[k - RECENT]!;
        count--;
      }
      if (k >= RECENT - 1 && count && sum / count > largest) largest = sum / count;
    }
    if (!(largest >= smallest)) smallest = largest;
  }
  return smallest;
}

/**
 * The errors of the STRETCH windows before the last RECENT ones, and theirs, for one way of
 * predicting; null with fewer than `fewest` errors before them.
 */
function surpriseOf(values: Float64Array, from: number, to: number, predict: Predict, fewest: number): Surprise | null {
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
  if (count < fewest || recentCount === 0) return null;
  const mean = sum / count;
  const deviation = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
  const scale = Math.max(deviation, 1e-9 + 1e-6 * Math.abs(mean));
  return { predict, meanError: mean, scale, recentError: recent / recentCount, prediction: predict(n - 1) };
}

/**
 * How unusual the recent windows' mean error is against the stretch's errors (NAB's "anomaly
 * likelihood"). Where the error at the same time a season earlier would itself have scored
 * `threshold`, how far past that error this one goes, reaching `threshold` at twice it.
 */
function scoreOf(surprise: Surprise, values: Float64Array, times: Float64Array, from: number, to: number, step: number, threshold: number): number {
  const { meanError, scale, recentError } = surprise;
  const usual = sameTimeError(values, times, from, to, step, surprise.predict);
  // NaN compares false: no season in the history leaves the stretch's mean
  if ((usual - meanError) / scale >= threshold) return ((recentError - usual) / usual) * threshold;
  return (recentError - meanError) / scale;
}

// reused across judgements (one window is judged at a time)
let values = new Float64Array(REACH + 1);
let times = new Float64Array(REACH + 1);

/** How many earlier windows the detector reads at this window length. */
const spanFor = (windowMs: number) => Math.min(REACH, Math.max(STRETCH + RECENT + PREDICT, Math.ceil(WEEK_MS / windowMs) + STRETCH + RECENT));

/**
 * What a judgement needs besides the values: each window's local prediction and its value one
 * season earlier. The live judge makes them on the spot; a whole-series run reads them from
 * arrays made once (the same arithmetic, so the same judgements).
 */
interface Predictions {
  local(from: number): Predict;
  seasonal(periodMs: number, step: number, from: number): Predict;
}

/** Predictions made on the spot, from values/times alone. */
function onTheSpot(vals: Float64Array, ts: Float64Array): Predictions {
  return {
    local: (from) => (i) => (i >= from + PREDICT ? localPrediction(vals, i - PREDICT) : NaN),
    seasonal: (periodMs, step, from) => {
      const lag = Math.round(periodMs / step);
      return (i) => {
        const j = i - lag;
        return j >= from && Math.abs(ts[j]! - (ts[i]! - periodMs)) < step / 2 ? vals[j]! : NaN;
      };
    },
  };
}

/**
 * Judges the last of values/times[from, to) (the current window) from the ones before it, which
 * are the windows of its history that hold data, oldest first; lo/hi are the range of those before
 * it, shortestStep the least time between two of them (the current one included).
 */
function judgeLast(vals: Float64Array, ts: Float64Array, from: number, to: number, lo: number, hi: number, shortestStep: number, predictions: Predictions, threshold: number, direction: Direction): Judgement | null {
  const n = to - from;
  if (n - 1 < PREDICT + RECENT + 30 || ts[to - 1]! - ts[from]! < learnsFor(shortestStep)) return null;
  const current = vals[to - 1]!;
  const step = (ts[to - 1]! - ts[from]!) / (n - 1);
  const ways = [predictions.local(from), predictions.seasonal(DAY_MS, step, from), predictions.seasonal(WEEK_MS, step, from)];
  const surprises = ways.map((predict, k) => surpriseOf(vals, from, to, predict, k ? SEASONAL_FEWEST : 30));
  let best: Surprise | null = null;
  for (const surprise of surprises) if (surprise && (!best || surprise.meanError < best.meanError)) best = surprise;
  if (!best) return null;
  // the other season, when it predicted nearly as well: a surprise must be one under both (a week
  // ago may simply have gone otherwise than yesterday)
  const [, day, week] = surprises;
  const otherSeason = best === day ? week : best === week ? day : null;
  const confirming = otherSeason && otherSeason.meanError <= SEASONS_AGREE * best.meanError ? otherSeason : null;

  // a range means something only over a whole stretch of history
  const margin = EXTREME_MARGIN * Math.max(hi - lo, 1e-9);
  const extreme = n > STRETCH + RECENT + PREDICT && (current > hi + margin || current < lo - margin);
  let surprise = scoreOf(best, vals, ts, from, to, step, threshold);
  if (confirming) surprise = Math.min(surprise, scoreOf(confirming, vals, ts, from, to, step, threshold));
  let score = Math.max(surprise, extreme ? threshold : 0);
  const signed = current - best.prediction;
  if ((direction === 'up' && signed < 0) || (direction === 'down' && signed > 0)) score = 0;
  // stuck: in every direction (a feed that stopped hides a rise as well as a fall)
  const unchangedFor = score < threshold ? stuckRun(vals, from, to) : 0;
  if (unchangedFor) score = threshold;
  const level = score / threshold;
  return { score, level, breach: level >= 1, baseline: best.prediction, ...(unchangedFor ? { unchangedFor } : {}) };
}

/**
 * How many windows the value has stayed exactly the same, when that is at least STUCK_MIN and
 * longer than any run of one value in the stretch of history before it (at least STRETCH windows,
 * so a series that never moved is not news); 0 otherwise. The history is scanned only when the
 * run is already that long.
 */
function stuckRun(vals: Float64Array, from: number, to: number): number {
  const current = vals[to - 1]!;
  let run = 1;
  while (to - 1 - run >= from && vals[to - 1 - run] === current) run++;
  if (run < STUCK_MIN || to - run - from < STRETCH) return 0;
  let longest = 1;
  let length = 1;
  for (let i = from + 1; i < to - run; i++) {
    length = vals[i] === vals[i - 1] ? length + 1 : 1;
    if (length > longest) longest = length;
  }
  return run > longest ? run : 0;
}

/**
 * Predictions of a whole series made once: the local median of every window and, for each season,
 * the value one regular lag earlier with how far its time is from exactly one season earlier.
 * A judgement whose average step gives another lag (gaps in its history) makes that season's
 * predictions on the spot.
 */
function madeOnce(vals: Float64Array, ts: Float64Array, windowMs: number): Predictions {
  const spot = onTheSpot(vals, ts);
  const local = new Float64Array(vals.length).fill(NaN);
  for (let i = PREDICT; i < vals.length; i++) local[i] = localPrediction(vals, i - PREDICT);
  const seasons = new Map<number, { lag: number; offset: Float64Array }>();
  for (const periodMs of [DAY_MS, WEEK_MS]) {
    const lag = Math.round(periodMs / windowMs);
    const offset = new Float64Array(vals.length).fill(Infinity);
    for (let i = lag; i < vals.length; i++) offset[i] = Math.abs(ts[i - lag]! - (ts[i]! - periodMs));
    seasons.set(periodMs, { lag, offset });
  }
  return {
    local: (from) => (i) => (i >= from + PREDICT ? local[i]! : NaN),
    seasonal: (periodMs, step, from) => {
      const season = seasons.get(periodMs)!;
      if (Math.round(periodMs / step) !== season.lag) return spot.seasonal(periodMs, step, from);
      const { lag, offset } = season;
      return (i) => (i - lag >= from && offset[i]! < step / 2 ? vals[i - lag]! : NaN);
    },
  };
}

/** The range of values[from, to) as both ends move forward: monotonic queues of indexes. */
function slidingRange(vals: Float64Array) {
  const highs: number[] = [];
  const lows: number[] = [];
  let hHead = 0;
  let lHead = 0;
  let added = 0;
  return (from: number, to: number): { lo: number; hi: number } => {
    for (; added < to; added++) {
      const v = vals[added]!;
      while (highs.length > hHead && vals[highs[highs.length - 1]!]! <= v) highs.pop();
      highs.push(added);
      while (lows.length > lHead && vals[lows[lows.length - 1]!]! >= v) lows.pop();
      lows.push(added);
    }
    while (hHead < highs.length && highs[hHead]! < from) hHead++;
    while (lHead < lows.length && lows[lHead]! < from) lHead++;
    return hHead < highs.length ? { lo: vals[lows[lHead]!]!, hi: vals[highs[hHead]!]! } : { lo: Infinity, hi: -Infinity };
  };
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
      let lo = Infinity;
      let hi = -Infinity;
      let shortestStep = Infinity;
      for (const point of history as SeriesPoint[]) {
        if (point.value === null) continue;
        if (n && point.t - times[n - 1]! < shortestStep) shortestStep = point.t - times[n - 1]!;
        values[n] = point.value;
        times[n++] = point.t;
        if (point.value < lo) lo = point.value;
        if (point.value > hi) hi = point.value;
      }
      if (n && current.t - times[n - 1]! < shortestStep) shortestStep = current.t - times[n - 1]!;
      values[n] = current.value;
      times[n++] = current.t;
      return judgeLast(values, times, 0, n, lo, hi, shortestStep, onTheSpot(values, times), threshold, spec.direction);
    },
    judgeSeries(points, windowMs) {
      // the windows with data, as the live judge's history holds them
      const present = points.flatMap((p, i) => (p.value === null ? [] : [i]));
      const vals = Float64Array.from(present, (i) => points[i]!.value!);
      const ts = Float64Array.from(present, (i) => points[i]!.t);
      // a history begins at its first window with volume (sinceDataBegan), which may be one
      // without a value: per point of the series, the first with volume at or after it, and the
      // first with a value at or after that (an index into the values)
      const dataAt = new Int32Array(points.length + 1).fill(points.length);
      const presentAt = new Int32Array(points.length + 1).fill(present.length);
      for (let i = points.length - 1, p = present.length; i >= 0; i--) {
        if (points[i]!.value !== null) p--;
        presentAt[i] = p;
        dataAt[i] = points[i]!.volume > 0 ? i : dataAt[i + 1]!;
      }
      const predictions = madeOnce(vals, ts, windowMs);
      const range = slidingRange(vals);
      // steps[i]: the time from the window with data before i to i; their least over a history
      const steps = Float64Array.from(ts, (t, i) => (i ? t - ts[i - 1]! : Infinity));
      const stepRange = slidingRange(steps);
      const reach = spanFor(windowMs) * windowMs;
      const judgements = new Array<Judgement | null>(points.length).fill(null);
      let from = 0;
      for (let k = 0; k < present.length; k++) {
        while (points[from]!.t < ts[k]! - reach) from++;
        // moves forward only, as the sliding range needs: every bound it is taken from does
        const began = Math.min(presentAt[dataAt[from]!]!, k);
        const { lo, hi } = range(began, k);
        const shortestStep = stepRange(began + 1, k + 1).lo;
        judgements[present[k]!] = judgeLast(vals, ts, began, k + 1, lo, hi, shortestStep, predictions, threshold, spec.direction);
      }
      return judgements;
    },
  };
}
