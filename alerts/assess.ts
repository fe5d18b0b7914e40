// One window judged by a rule's detector, with the checks every rule shares: no data, the
// minimum volume below which a window is not judged at all, and no history from before the data began.
import type { Detector, Judgement, SeriesPoint } from './detectors/index.js';
import { median, sinceDataBegan } from './detectors/types.js';

export type Assessment =
  | { kind: 'judged'; judgement: Judgement }
  /** a ratio over nothing (no clicks, no spend) */
  | { kind: 'no-data' }
  /** too little volume, now and in the baseline, to judge */
  | { kind: 'quiet' }
  /** no baseline yet (a young history, a zero baseline) */
  | { kind: 'unjudged' };

/**
 * The volume guard looks at the window and at its baseline: a store whose traffic collapses
 * from 200 to 0 is judged (the baseline had volume); one that went from 3 to 0 at night is not.
 */
export function assess(detector: Detector, minVolume: number, current: SeriesPoint, history: SeriesPoint[]): Assessment {
  if (current.value === null) return { kind: 'no-data' };
  if (minVolume > 0 && Math.max(current.volume, median(history.map((p) => p.volume))) < minVolume) return { kind: 'quiet' };
  const judgement = detector.judge({ ...current, value: current.value }, sinceDataBegan(history));
  return judgement ? { kind: 'judged', judgement } : { kind: 'unjudged' };
}
