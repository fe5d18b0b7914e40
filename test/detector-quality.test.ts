// NAB's standard-profile scoring, checked against numbers worked out by hand from nab/sweeper.py's
// rules; the recommended `auto` detector on series it must handle; and the backtest's whole-series
// fast path, which must say exactly what the live per-window judge says.
import { describe, expect, it } from 'vitest';
import { AUTO_THRESHOLD, autoDetector } from '../alerts/detectors/auto.js';
import { detectorOf, type Detector, type SeriesPoint } from '../alerts/detectors/index.js';
import { normalizedScore, probationaryLength, scaledSigmoid, scoreFile } from '../alerts/quality/nab-score.js';
import { assessSeries, findEpisodes } from '../alerts/series.js';
import { detectorSchema } from '../config/alert-schema.js';

const MINUTE = 60_000;
const rows = (n: number) => Array.from({ length: n }, (_, i) => i * MINUTE);
const flags = (n: number, at: number[]) => Array.from({ length: n }, (_, i) => at.includes(i));

describe('NAB standard-profile scoring', () => {
  const ts = rows(1000);
  const window: [number, number] = [ts[400]!, ts[499]!]; // 100 rows wide

  it('weights a detection by where it falls: the window\'s left edge is worth 1, its right edge almost nothing', () => {
    expect(probationaryLength(1000)).toBe(150);
    expect(probationaryLength(100_000)).toBe(750);
    expect(scoreFile(ts, flags(1000, [400]), [window]).raw).toBeCloseTo(1, 10);
    // position −1/100: 2·sigmoid(0.05) − 1 = 0.024995, over the maximum 0.986614
    expect(scoreFile(ts, flags(1000, [499]), [window]).raw).toBeCloseTo(0.024995 / 0.986614, 5);
    // only the earliest detection in a window counts
    expect(scoreFile(ts, flags(1000, [450, 400, 480]), [window]).raw).toBeCloseTo(1, 10);
  });

  it('charges a false positive 0.11 far from a window, less just after one; ignores the probationary period', () => {
    const early = scoreFile(ts, flags(1000, [200, 400]), [window]);
    expect(early).toMatchObject({ truePositives: 1, falsePositives: 1 });
    expect(early.raw).toBeCloseTo(1 - 0.11, 10);
    // 21 rows past the window's end, over width − 1 = 99: 2·sigmoid(−5·0.2121) − 1 = −0.48570
    const after = scoreFile(ts, flags(1000, [400, 520]), [window]);
    expect(after.raw).toBeCloseTo(1 + 0.11 * -0.4857, 4);
    expect(scaledSigmoid(3)).toBe(-1);
    const probation = scoreFile(ts, flags(1000, [100]), [window]);
    expect(probation).toMatchObject({ falsePositives: 0, truePositives: 0, falseNegatives: 1, raw: -1 });
  });

  it('normalises a set: never firing is 0, every window at its left edge is 100; a window inside the probation is not scored', () => {
    const missed = scoreFile(ts, flags(1000, []), [window]);
    const perfect = scoreFile(ts, flags(1000, [400]), [window]);
    expect(normalizedScore([missed])).toBe(0);
    expect(normalizedScore([perfect])).toBeCloseTo(100, 8);
    expect(normalizedScore([scoreFile(ts, flags(1000, [200, 400]), [window])])).toBeCloseTo((100 * (0.89 + 1)) / 2, 8);
    const inProbation = scoreFile(ts, flags(1000, []), [[ts[10]!, ts[20]!]]);
    expect(inProbation).toMatchObject({ scoredWindows: 0, windows: 1, raw: 0 });
    expect(normalizedScore([scoreFile(ts, flags(1000, []), [])])).toBeNull();
  });
});

/** a daily pattern at 5-minute steps with a little deterministic noise */
function dailySeries(days: number, alter: (i: number, value: number) => number = (_, v) => v): SeriesPoint[] {
  let state = 7;
  return Array.from({ length: days * 288 }, (_, i) => {
    state = (state * 48271) % 2147483647;
    const value = alter(i, 100 + 40 * Math.sin((2 * Math.PI * (i % 288)) / 288) + (state / 2147483647) * 4);
    return { t: Date.UTC(2026, 0, 1) + i * 300_000, value, volume: Math.abs(value) };
  });
}

const onsets = (detector: Detector, points: SeriesPoint[]) =>
  findEpisodes(detector, points, 300_000, { for: 0, hysteresis: 0.05, noData: 'ok', minVolume: 0, keepFiringFor: 0 }).map((e) => Math.round((e.onset.point.t - points[0]!.t) / 300_000));

describe('the auto detector', () => {
  const auto = () => detectorOf(detectorSchema.parse({ kind: 'auto' }));

  it('stays quiet on a plain daily pattern, past its warm-up', () => {
    expect(onsets(auto(), dailySeries(12))).toEqual([]);
  });

  it('alerts once, at once, on a level shift and on a spike', () => {
    const shifted = dailySeries(12, (i, v) => (i >= 2500 ? v + 60 : v));
    expect(onsets(auto(), shifted)).toEqual([2500]);
    const spiked = dailySeries(12, (i, v) => (i === 3000 ? v + 30 : v));
    expect(onsets(auto(), spiked)).toEqual([3000]);
  });

  it('peaks a spike\'s episode at the spike, not at the ordinary windows its run of surprise still covers', () => {
    const spiked = dailySeries(12, (i, v) => (i === 3000 ? v * 50 : v));
    const [episode, ...more] = findEpisodes(auto(), spiked, 300_000, { for: 0, hysteresis: 0.05, noData: 'ok', minVolume: 0, keepFiringFor: 0 });
    expect(more).toEqual([]);
    // the recent run's mean error stays high for the windows after it: the episode outlasts the spike
    expect(episode!.end.t).toBeGreaterThan(spiked[3000]!.t);
    expect(episode!.peak.point).toEqual(spiked[3000]);
  });

  it('does not echo yesterday\'s outage today: a surprise against the day before must be one against the week before too, when both predict about as well', () => {
    // an hour at 30 % on day 9 from 12:00: one alert, at once; the next day's noon is ordinary
    const outage = dailySeries(16, (i, v) => (i >= 9 * 288 + 144 && i < 9 * 288 + 156 ? v * 0.3 : v));
    expect(onsets(auto(), outage)).toEqual([9 * 288 + 144]);
  });

  it('learns the day: an afternoon that stays at its morning level is an anomaly, though no value is out of range', () => {
    const flat = dailySeries(12, (i, v) => (i >= 2880 + 60 && i < 2880 + 140 ? 100 : v));
    const found = onsets(auto(), flat);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toBeGreaterThanOrEqual(2880 + 60);
    expect(found[0]).toBeLessThan(2880 + 100);
  });

  it('learns a day before it judges (stores opening and closing are the series\' day, not news), then alerts on a drop', () => {
    // 1-minute windows: 11 000 ± 1 000 at night, 27 000 ± 3 000 from 10:00 to 22:00
    let state = 11;
    const series = (alter: (i: number, value: number) => number = (_, v) => v): SeriesPoint[] => Array.from({ length: 9 * 1440 }, (_, i) => {
      state = (state * 48271) % 2147483647;
      const open = i % 1440 >= 600 && i % 1440 < 1320;
      const value = alter(i, (open ? 27_000 : 11_000) + (state / 2147483647 - 0.5) * (open ? 6_000 : 2_000));
      return { t: Date.UTC(2026, 0, 1) + i * MINUTE, value, volume: value };
    });
    const minuteOnsets = (points: SeriesPoint[]) => findEpisodes(auto(), points, MINUTE, { for: 0, hysteresis: 0.05, noData: 'ok', minVolume: 0, keepFiringFor: 0 })
      .map((e) => Math.round((e.onset.point.t - points[0]!.t) / MINUTE));
    // no page on any opening or closing, the first day's included (a new installation)
    expect(minuteOnsets(series())).toEqual([]);
    // halved for half an hour on the last evening: an alert within minutes
    const halved = minuteOnsets(series((i, v) => (i >= 8 * 1440 + 1200 && i < 8 * 1440 + 1230 ? v / 2 : v)));
    expect(halved).toHaveLength(1);
    expect(halved[0]).toBeGreaterThanOrEqual(8 * 1440 + 1200);
    expect(halved[0]).toBeLessThan(8 * 1440 + 1210);
    // the live per-window judge says the same: nothing judged before a day of data, openings judged ordinary after
    const live = autoDetector({ sensitivity: 'medium', direction: 'both' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    const threeDays = series().slice(0, 3 * 1440);
    const fast = assessSeries(live, threeDays, MINUTE, 0);
    expect(fast.map((a) => a.assessment)).toEqual(assessSeries(withoutFastPath, threeDays, MINUTE, 0).map((a) => a.assessment));
    expect(fast.findIndex((a) => a.assessment.kind === 'judged')).toBe(1440);
    const openingScores = (day: number) => fast.slice(day * 1440 + 600, day * 1440 + 615)
      .map((a) => (a.assessment.kind === 'judged' ? a.assessment.judgement.score : NaN));
    for (const day of [1, 2]) {
      expect(openingScores(day).every((score) => score < AUTO_THRESHOLD.medium)).toBe(true);
    }
  });

  it('does not page at the morning after nights that read exactly the same: the first nights of a season, predicted perfectly, are no measure of surprise', () => {
    // 5-minute windows: exactly 40 for 100 windows each night, by day a smooth rise from it and back, with noise
    const floor = dailySeries(10, (i, v) => (i % 288 < 100 ? 40 : 40 + 60 * Math.sin((Math.PI * (i % 288 - 100)) / 188) + (v - Math.round(v)) * 4));
    // (a day's prediction with one night of errors, all 0, made the second morning a billion sigmas; a week's, the eighth)
    expect(onsets(auto(), floor)).toEqual([]);
  });

  it('alerts on a value stuck longer than any run before it (a feed that stopped), not on one the series has held as long before', () => {
    // a small count per 5-minute window (0–3 orders), 10 days; from `at`, `length` windows repeat the value at `at`
    const counts = (...stops: Array<[at: number, length: number]>): SeriesPoint[] => {
      let state = 3;
      const values = Array.from({ length: 10 * 288 }, () => (state = (state * 48271) % 2147483647) % 4);
      for (const [at, length] of stops) for (let i = at + 1; i <= at + length; i++) values[i] = values[at]!;
      return values.map((value, i) => ({ t: Date.UTC(2026, 0, 1) + i * 300_000, value, volume: value + 1 }));
    };
    const at = 7 * 288 + 150;
    expect(onsets(auto(), counts())).toEqual([]);
    expect(onsets(auto(), counts([at, 50]))).toEqual([]);
    // stopped for 130 windows: an alert once the run reaches 64 windows, its episode ending when the value moves again
    const stopped = counts([at, 130]);
    const [episode, ...more] = findEpisodes(auto(), stopped, 300_000, { for: 0, hysteresis: 0.05, noData: 'ok', minVolume: 0, keepFiringFor: 0 });
    expect(more).toEqual([]);
    const onset = Math.round((episode!.onset.point.t - stopped[0]!.t) / 300_000);
    expect(onset).toBeGreaterThanOrEqual(at + 62);
    expect(onset).toBeLessThanOrEqual(at + 63);
    expect(episode!.onset.judgement.unchangedFor).toBe(64);
    expect(Math.round((episode!.end.t - stopped[0]!.t) / 300_000)).toBe(at + 131);
    // the live per-window path judges the same
    const live = autoDetector({ sensitivity: 'medium', direction: 'down' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    expect(assessSeries(withoutFastPath, stopped, 300_000, 0).map((a) => a.assessment)).toEqual(assessSeries(live, stopped, 300_000, 0).map((a) => a.assessment));
    // after a pause of 150 windows four days earlier (news itself, at its 64th), 130 is no news, 160 is — at the 151st
    const [first, ...later] = onsets(auto(), counts([4 * 288, 150], [at, 130]));
    expect(first! - 4 * 288).toBeGreaterThanOrEqual(62);
    expect(first! - 4 * 288).toBeLessThanOrEqual(63);
    expect(later).toEqual([]);
    const paused = counts([4 * 288, 150], [at, 160]);
    /** the length of the run of one value that index j ends (back) or lies in (both ways) */
    const runAt = (j: number, bothWays: boolean) => {
      let length = 1;
      while (paused[j - length]?.value === paused[j]!.value) length++;
      for (let k = j + 1; bothWays && paused[k]?.value === paused[j]!.value; k++) length++;
      return length;
    };
    const earlier = runAt(4 * 288, true);
    expect(earlier).toBeGreaterThanOrEqual(151);
    const longer = onsets(auto(), paused).slice(1);
    expect(longer).toHaveLength(1);
    expect(longer[0]).toBeGreaterThan(at);
    expect(runAt(longer[0]!, false)).toBe(earlier + 1);
    // a series that never moved at all is not news
    expect(onsets(auto(), counts().map((p) => ({ ...p, value: 5, volume: 5 })))).toEqual([]);
  });

  it('learns as far back as it reads where that is less than a day (10 s windows: 2 586 of them)', () => {
    const points: SeriesPoint[] = Array.from({ length: 3000 }, (_, i) => ({ t: Date.UTC(2026, 0, 1) + i * 10_000, value: 100 + (i % 7), volume: 100 }));
    const live = autoDetector({ sensitivity: 'medium', direction: 'both' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    for (const detector of [live, withoutFastPath]) {
      expect(assessSeries(detector, points, 10_000, 0).findIndex((a) => a.assessment.kind === 'judged')).toBe(2586);
    }
  });

  it('judges a whole regular series exactly as the live per-window judge does', () => {
    const series = dailySeries(10, (i, v) => (i % 997 === 0 ? v * 1.8 : v));
    const live = autoDetector({ sensitivity: 'medium', direction: 'both' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    const fast = assessSeries(live, series, 300_000, 0);
    const slow = assessSeries(withoutFastPath, series, 300_000, 0);
    expect(fast.map((a) => a.assessment)).toEqual(slow.map((a) => a.assessment));
    expect(fast.filter((a) => a.assessment.kind === 'judged' && a.assessment.judgement.breach).length).toBeGreaterThan(3);
  });

  it('judges a series whose clock stepped back (times given twice) as the per-window search does', () => {
    // NAB's machine-temperature file steps back 55 minutes once: 11 windows come twice
    const series = dailySeries(10, (i, v) => (i % 997 === 0 ? v * 1.8 : v));
    const stepped = [...series.slice(0, 2000), ...series.slice(1989, 2000).map((p) => ({ ...p, value: p.value! * 1.5 })), ...series.slice(2000)];
    const live = autoDetector({ sensitivity: 'medium', direction: 'both' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    const fast = assessSeries(live, stepped, 300_000, 0);
    const slow = assessSeries(withoutFastPath, stepped, 300_000, 0);
    expect(fast.length).toBe(series.length + 11);
    expect(fast.map((a) => a.assessment)).toEqual(slow.map((a) => a.assessment));
    expect(fast.map((a) => a.point)).toEqual(slow.map((a) => a.point));
  });

  it('does not alert when the data begins: empty windows before it are no history, on the live and the whole-series path alike', () => {
    // two empty days (a new installation), then the daily pattern; each night two empty hours;
    // now and then a window with volume but no value (a ratio's orders without clicks)
    const series = dailySeries(12, (i, v) => (i % 991 === 0 ? v * 2 : v)).map((p, i) => {
      const empty = i < 576 || i % 288 < 24;
      return { ...p, value: empty ? 0 : i % 53 === 0 ? null : p.value, volume: empty ? 0 : p.volume };
    });
    const live = autoDetector({ sensitivity: 'medium', direction: 'both' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    const fast = assessSeries(live, series, 300_000, 0);
    const slow = assessSeries(withoutFastPath, series, 300_000, 0);
    expect(fast.map((a) => a.assessment)).toEqual(slow.map((a) => a.assessment));
    // the first judged window is the one whose history holds enough windows with data
    const firstJudged = fast.findIndex((a) => a.assessment.kind === 'judged');
    expect(firstJudged).toBeGreaterThan(576 + 40);
    expect(onsets(live, series).filter((at) => at < 576 + 288)).toEqual([]);
    expect(onsets(live, series).length).toBeGreaterThan(2);
  });

  it('judges windows without data and quiet windows as the live judge does, also on a whole series', () => {
    // a ratio's nights: no value every 37th window, little volume for a stretch each day, a gap of a day
    const series = dailySeries(10, (i, v) => (i % 991 === 0 ? v * 2 : v)).map((p, i) => ({
      ...p,
      value: i % 37 === 0 || (i >= 1500 && i < 1788) ? null : p.value,
      volume: i % 288 < 144 ? 5 : p.volume,
    }));
    const live = autoDetector({ sensitivity: 'medium', direction: 'both' });
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    for (const minVolume of [0, 50]) {
      const fast = assessSeries(live, series, 300_000, minVolume);
      const slow = assessSeries(withoutFastPath, series, 300_000, minVolume);
      expect(fast.map((a) => a.assessment)).toEqual(slow.map((a) => a.assessment));
      const kinds = new Set(fast.map((a) => a.assessment.kind));
      // unjudged: the first day's windows with enough volume (it learns the day first)
      expect([...kinds].sort()).toEqual(minVolume ? ['judged', 'no-data', 'quiet', 'unjudged'] : ['judged', 'no-data', 'unjudged']);
      if (minVolume) expect(fast.filter((a) => a.assessment.kind === 'quiet').length).toBeGreaterThan(1000);
      expect(fast.filter((a) => a.assessment.kind === 'judged' && a.assessment.judgement.breach).length).toBeGreaterThan(2);
    }
  });
});

describe('the statistical detectors judge a whole series as the live judge does', () => {
  // the same series the auto tests use: spikes, a data that begins late with empty nights and
  // windows without a value, quiet stretches, a clock that stepped back
  const spiked = () => dailySeries(10, (i, v) => (i % 997 === 0 ? v * 4 : v));
  const beganLate = () => dailySeries(12, (i, v) => (i % 991 === 0 ? v * 2 : v)).map((p, i) => {
    const empty = i < 576 || i % 288 < 24;
    return { ...p, value: empty ? 0 : i % 53 === 0 ? null : p.value, volume: empty ? 0 : p.volume };
  });
  const withGaps = () => dailySeries(10, (i, v) => (i % 991 === 0 ? v * 2 : v)).map((p, i) => ({
    ...p, value: i % 37 === 0 || (i >= 1500 && i < 1788) ? null : p.value, volume: i % 288 < 144 ? 5 : p.volume,
  }));
  const stepped = () => {
    const series = spiked();
    return [...series.slice(0, 2000), ...series.slice(1989, 2000).map((p) => ({ ...p, value: p.value! * 1.5 })), ...series.slice(2000)];
  };

  for (const kind of ['zscore', 'ewma', 'seasonal'] as const) {
    it(`${kind}: every window of every series, with and without a minimum volume`, () => {
      const live = detectorOf(detectorSchema.parse({ kind }));
      const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
      expect(live.judgeSeries).toBeTypeOf('function');
      let breaches = 0;
      for (const [series, minVolume] of [[spiked(), 0], [beganLate(), 0], [withGaps(), 0], [withGaps(), 50], [stepped(), 0]] as const) {
        const fast = assessSeries(live, series, 300_000, minVolume);
        const slow = assessSeries(withoutFastPath, series, 300_000, minVolume);
        expect(fast.map((a) => a.assessment)).toEqual(slow.map((a) => a.assessment));
        expect(fast.filter((a) => a.assessment.kind === 'judged').length).toBeGreaterThan(series.length / 4);
        breaches += fast.filter((a) => a.assessment.kind === 'judged' && a.assessment.judgement.breach).length;
      }
      expect(breaches).toBeGreaterThan(0);
    });
  }

  it('seasonal: windows that do not divide the day, and a history whose window just before has no value', () => {
    const live = detectorOf(detectorSchema.parse({ kind: 'seasonal' }));
    const withoutFastPath: Detector = { historyTimes: live.historyTimes, judge: live.judge };
    // 7-minute windows: the same time yesterday is no window of the series
    const odd = dailySeries(8).map((p, i) => ({ ...p, t: Date.UTC(2026, 0, 1) + i * 420_000 }));
    expect(assessSeries(live, odd, 420_000, 0).map((a) => a.assessment)).toEqual(assessSeries(withoutFastPath, odd, 420_000, 0).map((a) => a.assessment));
    // every other window without a value at the same hours every day: there the live judge's step comes out at two windows
    const sparse = dailySeries(10, (i, v) => (i % 997 === 0 ? v * 1.8 : v)).map((p, i) => ({ ...p, value: i % 288 >= 100 && i % 288 < 200 && i % 2 ? null : p.value }));
    const fast = assessSeries(live, sparse, 300_000, 0);
    expect(fast.map((a) => a.assessment)).toEqual(assessSeries(withoutFastPath, sparse, 300_000, 0).map((a) => a.assessment));
    expect(fast.filter((a) => a.assessment.kind === 'judged').length).toBeGreaterThan(sparse.length / 2);
  });
});
