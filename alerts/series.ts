// A detector run over a whole series in time order: the backtest CLI and the rule preview.
import { assess } from './assess.js';
import type { Detector, Judgement, SeriesPoint } from './detectors/index.js';

export interface Finding {
  point: SeriesPoint;
  judgement: Judgement;
}

/** The series' typical step: the median gap between consecutive points. */
export function medianStep(points: SeriesPoint[]): number {
  const gaps = points.slice(1).map((p, i) => p.t - points[i]!.t).filter((g) => g > 0).sort((a, b) => a - b);
  return gaps.length ? gaps[gaps.length >> 1]! : 0;
}

/** The points where the detector sees a breach; history is looked up within half a step of each wanted time. */
export function findBreaches(detector: Detector, points: SeriesPoint[], windowMs: number, minVolume: number): Finding[] {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const tolerance = Math.max(1, Math.floor((medianStep(sorted) || windowMs) / 2));
  const nearest = (t: number): SeriesPoint | undefined => {
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.t < t) lo = mid + 1;
      else hi = mid;
    }
    const candidates = [sorted[lo - 1], sorted[lo]].filter((p): p is SeriesPoint => p !== undefined && Math.abs(p.t - t) < tolerance);
    return candidates.sort((a, b) => Math.abs(a.t - t) - Math.abs(b.t - t))[0];
  };
  const findings: Finding[] = [];
  for (const point of sorted) {
    const history = detector.historyTimes(point.t, windowMs).flatMap((t) => {
      const found = nearest(t);
      return found && found.t < point.t ? [found] : [];
    });
    const result = assess(detector, minVolume, point, history);
    if (result.kind === 'judged' && result.judgement.breach) findings.push({ point, judgement: result.judgement });
  }
  return findings;
}
