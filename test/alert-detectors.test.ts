// The detectors, the shared checks and the lifecycle, on constructed series: each case would fail
// if the detector missed what it must find or fired on what it must not.
import { describe, expect, it } from 'vitest';
import { assess } from '../alerts/assess.js';
import { changeDetector } from '../alerts/detectors/change.js';
import { ewmaDetector } from '../alerts/detectors/ewma.js';
import type { SeriesPoint } from '../alerts/detectors/index.js';
import { seasonalDetector } from '../alerts/detectors/seasonal.js';
import { thresholdDetector } from '../alerts/detectors/threshold.js';
import { zscoreDetector } from '../alerts/detectors/zscore.js';
import { advance, type InstanceState } from '../alerts/lifecycle.js';
import { findEpisodes } from '../alerts/series.js';
import { findBreaches } from '../alerts/series.js';
import { silencing } from '../alerts/silences.js';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 0, 0);

/** a deterministic pseudo-random series: value(i) for i = 0..n-1, one point per `step` */
function series(n: number, value: (i: number) => number, step = 5 * MIN): SeriesPoint[] {
  return Array.from({ length: n }, (_, i) => ({ t: T0 + i * step, value: value(i), volume: 1_000 }));
}
function noise(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  };
}
const firedAt = (findings: ReturnType<typeof findBreaches>, step = 5 * MIN) => findings.map((f) => Math.round((f.point.t - T0) / step));

describe('detectors on constructed series', () => {
  it('drop vs the previous window finds a step drop once, at the step, and not the recovery', () => {
    const points = series(40, (i) => (i >= 20 && i < 30 ? 40 : 100));
    const found = firedAt(findBreaches(changeDetector({ kind: 'drop', vs: 'previous', ratio: 0.5 }), points, 5 * MIN, 0));
    expect(found).toEqual([20]);
    const rises = firedAt(findBreaches(changeDetector({ kind: 'rise', vs: 'previous', ratio: 0.5 }), points, 5 * MIN, 0));
    expect(rises).toEqual([30]);
  });

  it('drop vs a day ago compares with the same window yesterday, not with the window before', () => {
    // a daily curve (high by day, low by night) — a night is no drop against last night
    const daily = (i: number) => (Math.floor(((i * 5 * MIN) % DAY) / 3_600_000) >= 8 ? 100 : 10);
    const points = series(288 * 2, (i) => (i === 288 + 150 ? 30 : daily(i)));
    const found = findBreaches(changeDetector({ kind: 'drop', vs: 'day-ago', ratio: 0.5 }), points, 5 * MIN, 0);
    expect(firedAt(found)).toEqual([288 + 150]);
    expect(found[0]!.judgement.score).toBeCloseTo(-0.7, 6);
  });

  it('zscore finds a spike and a step, and stays quiet on noise', () => {
    const rand = noise(7);
    const noisy = series(300, () => 100 + rand() * 10);
    expect(findBreaches(zscoreDetector({ threshold: 4, lookback: 24, direction: 'both' }), noisy, 5 * MIN, 0)).toEqual([]);
    const spiky = noisy.map((p, i) => (i === 200 ? { ...p, value: 200 } : p));
    expect(firedAt(findBreaches(zscoreDetector({ threshold: 4, lookback: 24, direction: 'both' }), spiky, 5 * MIN, 0))).toEqual([200]);
    // direction: a spike up is no breach for a rule that watches falls
    expect(findBreaches(zscoreDetector({ threshold: 4, lookback: 24, direction: 'down' }), spiky, 5 * MIN, 0)).toEqual([]);
  });

  it('a slow drift does not alarm zscore or ewma, a sudden jump of the same size does', () => {
    const drift = series(200, (i) => 100 + i * 0.5);
    expect(findBreaches(zscoreDetector({ threshold: 4, lookback: 12, direction: 'both' }), drift, 5 * MIN, 0)).toEqual([]);
    expect(findBreaches(ewmaDetector({ threshold: 4, alpha: 0.3, lookback: 24, direction: 'both' }), drift, 5 * MIN, 0)).toEqual([]);
    const rand = noise(3);
    const jump = series(200, (i) => (i >= 150 ? 180 : 100) + rand() * 4);
    expect(firedAt(findBreaches(ewmaDetector({ threshold: 4, alpha: 0.3, lookback: 24, direction: 'both' }), jump, 5 * MIN, 0))[0]).toBe(150);
  });

  it('seasonal learns the day: the evening peak is normal, a collapse at noon is not', () => {
    const rand = noise(11);
    const profile = (i: number) => {
      const hour = ((i * 15 * MIN) % DAY) / 3_600_000;
      return 50 + 400 * Math.exp(-((hour - 20) ** 2) / 4) + 100 * Math.exp(-((hour - 12) ** 2) / 2);
    };
    const days = 10;
    const points = series(96 * days, (i) => (i === 96 * 9 + 48 ? profile(i) * 0.35 : profile(i) * (1 + rand() * 0.1)), 15 * MIN);
    const found = findBreaches(seasonalDetector({ threshold: 4, days: 7, minChange: 0.3, direction: 'both' }), points, 15 * MIN, 0);
    expect(found.map((f) => Math.round((f.point.t - T0) / (15 * MIN)))).toEqual([96 * 9 + 48]);
    // zscore over the previous hours would take each evening's climb for an anomaly
    const naive = findBreaches(zscoreDetector({ threshold: 4, lookback: 8, direction: 'both' }), points, 15 * MIN, 0);
    expect(naive.length).toBeGreaterThan(1);
  });

  it('seasonal pages nobody on a series with no daily pattern, where one window against earlier days is noise', () => {
    const rand = noise(5);
    // heavy-tailed noise around a level: each window's value says nothing about the same time tomorrow
    const noisy = series(96 * 10, () => 100 * Math.exp(1.2 * (rand() + rand() + rand() - 1.5)), 15 * MIN);
    const defaults = { threshold: 5, days: 7, minChange: 0.3, direction: 'both' as const };
    expect(findBreaches(seasonalDetector(defaults), noisy, 15 * MIN, 0)).toEqual([]);
    // the same window against the median and spread of the same time on the 7 days before, at 3σ, alarms again and again
    const alone = noisy.slice(96 * 7).filter((p) => {
      const profile = [1, 2, 3, 4, 5, 6, 7].map((k) => noisy.find((q) => q.t === p.t - k * DAY)!.value!).sort((a, b) => a - b);
      const mid = profile[3]!;
      const mad = profile.map((v) => Math.abs(v - mid)).sort((a, b) => a - b)[3]!;
      return Math.abs(p.value! - mid) > 3 * Math.max(1.4826 * mad, 0.1 * mid);
    });
    expect(alone.length).toBeGreaterThan(5);
  });

  it('does not judge against a history of nothing but zeros (days before the data began), but does against varied lows', () => {
    const zeros = Array.from({ length: 7 }, (_, k) => ({ t: T0 - (k + 1) * DAY, value: 0, volume: 0 }));
    const now = { t: T0, value: 24_038, volume: 24_038 };
    expect(seasonalDetector({ threshold: 4, days: 7, minChange: 0.3, direction: 'both' }).judge(now, zeros)).toBeNull();
    expect(zscoreDetector({ threshold: 4, lookback: 7, direction: 'both' }).judge(now, zeros)).toBeNull();
    expect(ewmaDetector({ threshold: 4, alpha: 0.3, lookback: 7, direction: 'both' }).judge(now, zeros)).toBeNull();
    const lows = zeros.map((p, k) => ({ ...p, value: k % 2 }));
    expect(zscoreDetector({ threshold: 4, lookback: 7, direction: 'both' }).judge(now, lows)!.breach).toBe(true);
  });

  it('thresholds are strict, and score the value itself', () => {
    const below = thresholdDetector({ below: 1.5 });
    expect(below.judge({ t: 0, value: 1.5, volume: 1 }, [])!.breach).toBe(false);
    expect(below.judge({ t: 0, value: 1.49, volume: 1 }, [])).toMatchObject({ breach: true, score: 1.49 });
    expect(thresholdDetector({ above: 100 }).judge({ t: 0, value: 101, volume: 1 }, [])!.breach).toBe(true);
  });
});

describe('checks every rule shares', () => {
  const drop = changeDetector({ kind: 'drop', vs: 'previous', ratio: 0.5 });
  it('does not judge a quiet window, unless its baseline had the volume', () => {
    const history = [{ t: 0, value: 0.1, volume: 3 }];
    expect(assess(drop, 50, { t: 1, value: 0, volume: 2 }, history).kind).toBe('quiet');
    expect(assess(drop, 50, { t: 1, value: 0, volume: 2 }, [{ t: 0, value: 0.1, volume: 400 }])).toMatchObject({ kind: 'judged', judgement: { breach: true } });
  });
  it('judges from the first window with data: the empty windows before it (a new installation, a store not yet open) are no baseline', () => {
    const zscore = zscoreDetector({ threshold: 4, lookback: 60, direction: 'both' });
    // an hour back: 57 empty minutes, then the first three with sales
    const opening = Array.from({ length: 60 }, (_, k) => {
      const value = k >= 57 ? [100, 110, 95][k - 57]! : 0;
      return { t: T0 + k * MIN, value, volume: value };
    });
    const now = { t: T0 + 60 * MIN, value: 105, volume: 105 };
    // against all sixty, 105 is 5σ above a mean of 5
    expect(zscore.judge(now, opening)!.breach).toBe(true);
    const judged = assess(zscore, 0, now, opening);
    expect(judged).toMatchObject({ kind: 'judged', judgement: { breach: false } });
    if (judged.kind === 'judged') expect(judged.judgement.baseline).toBeCloseTo(305 / 3, 8);
    // the history may come newest first (zscore's order); fewer than three windows with data: no judgement
    expect(assess(zscore, 0, now, opening.slice(0, 59).reverse()).kind).toBe('unjudged');
    // empty windows after the data began are part of the baseline: a collapse is still judged
    const collapsed = opening.map((p, k) => (k >= 57 ? p : { ...p, value: 100 + (k % 3), volume: 100 }));
    collapsed[0] = { ...collapsed[0]!, value: 0, volume: 0 };
    expect(assess(zscore, 0, { t: now.t, value: 0, volume: 0 }, collapsed)).toMatchObject({ kind: 'judged', judgement: { breach: true } });
  });
  it('tells no data (a ratio over nothing) and a missing baseline apart', () => {
    expect(assess(drop, 0, { t: 1, value: null, volume: 0 }, []).kind).toBe('no-data');
    expect(assess(drop, 0, { t: 1, value: 5, volume: 10 }, []).kind).toBe('unjudged');
  });
});

describe('the lifecycle', () => {
  const rule = { for: 60_000, hysteresis: 0.05, noData: 'ok' as const, keepFiringFor: 0 };
  const below = thresholdDetector({ below: 1.5 });
  const at = (value: number | null) => (value === null ? { kind: 'no-data' as const } : assess(below, 0, { t: 0, value, volume: 1 }, []));

  it('goes pending, fires after `for`, and resolves', () => {
    let state: InstanceState | null = null;
    const steps: Array<string | null> = [];
    for (const [t, value] of [[0, 1.2], [30_000, 1.3], [60_000, 1.1], [90_000, 1.4], [120_000, 2]] as const) {
      const step = advance(state, at(value), rule, t);
      state = step.next;
      steps.push(step.transition);
    }
    expect(steps).toEqual(['pending', null, 'firing', null, 'resolved']);
    expect(state).toBeNull();
  });

  it('clears a pending breach that ends before `for`, and fires at once with for: 0', () => {
    const pending = advance(null, at(1), rule, 0);
    expect(advance(pending.next, at(2), rule, 10_000)).toEqual({ next: null, transition: 'cleared' });
    expect(advance(null, at(1), { ...rule, for: 0 }, 0).transition).toBe('firing');
  });

  it('does not flap on a value hovering at the threshold (hysteresis)', () => {
    let state: InstanceState | null = advance(null, at(1.4), { ...rule, for: 0 }, 0).next;
    const transitions: Array<string | null> = [];
    for (const value of [1.51, 1.49, 1.52, 1.5, 1.55, 1.49]) {
      const step = advance(state, at(value), rule, 1);
      state = step.next;
      transitions.push(step.transition);
    }
    expect(transitions.every((t) => t === null)).toBe(true);
    expect(advance(state, at(1.58), rule, 2).transition).toBe('resolved');
  });

  it('keeps a recovered alert open for keepFiringFor: a breach meanwhile is the same alert firing again, not a new one', () => {
    const keep = { ...rule, for: 0, keepFiringFor: 600_000 };
    let state: InstanceState | null = null;
    const steps: Array<[number, string | null, string | undefined]> = [];
    const MIN = 60_000;
    for (const [minute, value] of [[0, 1.2], [1, 1.1], [2, 1.8], [5, 1.9], [11, 1.2], [12, 1.7], [21, 1.8], [22, 1.6], [23, 1.2]] as const) {
      const step = advance(state, at(value), keep, minute * MIN);
      state = step.next;
      steps.push([minute, step.transition, state?.state]);
    }
    expect(steps).toEqual([
      [0, 'firing', 'firing'], [1, null, 'firing'],
      [2, 'recovering', 'recovering'], [5, null, 'recovering'],
      // back below 1.5 within 10 minutes of recovering: firing again, still the alert that began at minute 0
      [11, 'relapsed', 'firing'],
      [12, 'recovering', 'recovering'], [21, null, 'recovering'],
      // ten minutes after the last recovery: resolved; the next breach is a new alert
      [22, 'resolved', undefined], [23, 'firing', 'firing'],
    ]);
    expect(state).toEqual({ state: 'firing', activeSince: 23 * MIN });
    // relapsing keeps when the breach began
    const recovering: InstanceState = { state: 'recovering', activeSince: 5, recoveringSince: 100 };
    expect(advance(recovering, at(1), keep, 200)).toEqual({ next: { state: 'firing', activeSince: 5 }, transition: 'relapsed' });
  });

  it('recovers only what fired, holds through windows it cannot judge, and with keepFiringFor 0 resolves at once', () => {
    const keep = { ...rule, keepFiringFor: 600_000 };
    const pending = advance(null, at(1), keep, 0);
    expect(advance(pending.next, at(2), keep, 10_000)).toEqual({ next: null, transition: 'cleared' });
    const recovering: InstanceState = { state: 'recovering', activeSince: 0, recoveringSince: 0 };
    expect(advance(recovering, { kind: 'unjudged' }, keep, 700_000)).toEqual({ next: recovering, transition: null });
    expect(advance(recovering, at(null), { ...keep, noData: 'keep' }, 700_000)).toEqual({ next: recovering, transition: null });
    expect(advance(recovering, at(null), keep, 700_000).transition).toBe('resolved');
    // as while firing, a value within the hysteresis of the bound (1.52 against 1.5) still counts as a breach
    expect(advance(recovering, at(1.52), keep, 60_000).transition).toBe('relapsed');
    expect(advance({ state: 'firing', activeSince: 0 }, at(2), rule, 1).transition).toBe('resolved');
  });

  it('makes episodes as the lifecycle does: one per incident with its relapses, and where it was back to normal for good', () => {
    const MIN = 60_000;
    // below 1.5 at minutes 10–19, back, below again at 25–29, back for good from 30; and at 80–84
    const points = Array.from({ length: 100 }, (_, i) => ({ t: i * MIN, value: (i >= 10 && i < 20) || (i >= 25 && i < 30) || (i >= 80 && i < 85) ? 1 : 2, volume: 1 }));
    const summary = (keepFiringFor: number) => findEpisodes(below, points, MIN, { ...rule, for: 0, minVolume: 0, keepFiringFor })
      .map((e) => [e.onset.point.t / MIN, e.recovered && e.recovered.t / MIN, e.end.t / MIN, e.open]);
    expect(summary(0)).toEqual([[10, 20, 19, false], [25, 30, 29, false], [80, 85, 84, false]]);
    expect(summary(10 * MIN)).toEqual([[10, 30, 39, false], [80, 85, 94, false]]);
    // still recovering when the series ends: open, and where it recovered
    expect(summary(30 * MIN)).toEqual([[10, 30, 59, false], [80, 85, 99, true]]);
  });

  it('handles no data as the rule says', () => {
    const firing: InstanceState = { state: 'firing', activeSince: 0 };
    expect(advance(firing, at(null), rule, 1).transition).toBe('resolved');
    expect(advance(firing, at(null), { ...rule, noData: 'keep' }, 1)).toEqual({ next: firing, transition: null });
    expect(advance(null, at(null), { ...rule, noData: 'alerting', for: 0 }, 1).transition).toBe('firing');
  });
});

describe('silences', () => {
  const labels = { rule: 'channel-cvr-drop', channel: 'douyin', severity: 'critical' };
  const silence = (matchers: Array<{ name: string; value: string; isRegex?: boolean; isEqual?: boolean }>, startsAt = 0, endsAt = 100) => ({
    id: 's', matchers: matchers.map((m) => ({ isRegex: false, isEqual: true, ...m })), startsAt, endsAt, createdBy: 'oncall', comment: '',
  });
  it('matches every matcher, anchored regexes and negations, within its time', () => {
    expect(silencing([silence([{ name: 'channel', value: 'douyin' }, { name: 'severity', value: 'critical' }])], labels, 50)).toBeDefined();
    expect(silencing([silence([{ name: 'channel', value: 'douyin' }, { name: 'severity', value: 'info' }])], labels, 50)).toBeUndefined();
    expect(silencing([silence([{ name: 'channel', value: 'dou', isRegex: true }])], labels, 50)).toBeUndefined();
    expect(silencing([silence([{ name: 'channel', value: 'dou.*', isRegex: true }])], labels, 50)).toBeDefined();
    expect(silencing([silence([{ name: 'channel', value: 'jd', isEqual: false }])], labels, 50)).toBeDefined();
    expect(silencing([silence([{ name: 'channel', value: 'douyin' }], 60, 100)], labels, 50)).toBeUndefined();
    expect(silencing([silence([{ name: 'channel', value: 'douyin' }], 0, 50)], labels, 50)).toBeUndefined();
  });
});
