// The Numenta Anomaly Benchmark's scoring (numenta/NAB, nab/sweeper.py and the normalisation in
// nab/runner.py), for detectors that raise alerts: a detection is the onset of an alert episode.
// Per file: the first 15 % of rows (at most 750) are probationary and not scored; each labelled
// window is worth −A_FN until detected, and then the best (earliest) of its detections, weighted
// by a scaled sigmoid of its position in the window; each detection outside every window adds
// A_FP × the scaled sigmoid of its distance past the window before it (−A_FP when none is before
// it). Over a set: 100 × (raw − null) / (perfect − null), null being the score of a detector that
// never fires (−A_FN per scored window) and perfect A_TP per labelled window.

export interface CostProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's "standard" application profile. */
export const STANDARD_PROFILE: CostProfile = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };
export const PROBATION_SHARE = 0.15;

/** 2·sigmoid(−5x) − 1: +0.987 at the left edge of a window (x = −1), 0 at its right edge, → −1 far past it. */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

export const probationaryLength = (rows: number) => Math.min(Math.floor(PROBATION_SHARE * rows), PROBATION_SHARE * 5000);

export interface FileScore {
  /** the file's raw score under the profile */
  raw: number;
  /** windows with at least one row past the probationary period (the ones a null detector loses) */
  scoredWindows: number;
  /** all labelled windows (the ones a perfect detector wins) */
  windows: number;
  truePositives: number;
  falseNegatives: number;
  /** detections outside every window, past the probationary period */
  falsePositives: number;
}

/**
 * Scores one file. `windows` are [first, last] timestamps that are rows of `timestamps` (NAB's
 * labels are); `detected[i]` says whether the detector raised an alert at row i.
 */
export function scoreFile(timestamps: number[], detected: boolean[], windows: Array<[number, number]>, profile: CostProfile = STANDARD_PROFILE): FileScore {
  const rowOf = new Map(timestamps.map((t, i) => [t, i]));
  const spans = windows.map(([from, to]) => {
    const left = rowOf.get(from);
    const right = rowOf.get(to);
    if (left === undefined || right === undefined) throw new Error(`window ${new Date(from).toISOString()}–${new Date(to).toISOString()} does not start and end on rows of the series`);
    return { left, right, width: right - left + 1 };
  }).sort((a, b) => a.left - b.left);
  const probation = probationaryLength(timestamps.length);
  const maxTp = scaledSigmoid(-1);

  // per scored window: −A_FN until a detection in it scores better
  const windowScore = new Map<number, number>();
  for (const [w, span] of spans.entries()) if (span.right >= probation) windowScore.set(w, -profile.fnWeight);
  let fpScore = 0;
  let falsePositives = 0;
  let w = 0;
  let previous: { right: number; width: number } | null = null;
  for (let i = 0; i < timestamps.length; i++) {
    while (w < spans.length && spans[w]!.right < i) previous = spans[w++]!;
    const inWindow = w < spans.length && spans[w]!.left <= i;
    if (!detected[i] || i < probation) continue;
    if (inWindow) {
      const span = spans[w]!;
      const score = (scaledSigmoid(-(span.right - i + 1) / span.width) * profile.tpWeight) / maxTp;
      windowScore.set(w, Math.max(windowScore.get(w)!, score));
    } else {
      const position = previous === null ? 3 : Math.abs(previous.right - i) / (previous.width - 1);
      fpScore += scaledSigmoid(position) * profile.fpWeight;
      falsePositives++;
    }
  }
  const scores = [...windowScore.values()];
  const truePositives = scores.filter((s) => s > -profile.fnWeight).length;
  return {
    raw: fpScore + scores.reduce((a, b) => a + b, 0),
    scoredWindows: windowScore.size,
    windows: spans.length,
    truePositives,
    falseNegatives: windowScore.size - truePositives,
    falsePositives,
  };
}

/** NAB's normalised score of a set of files: null detector = 0, perfect = 100; null when the set has no windows. */
export function normalizedScore(files: FileScore[], profile: CostProfile = STANDARD_PROFILE): number | null {
  const raw = files.reduce((a, f) => a + f.raw, 0);
  const nullScore = -profile.fnWeight * files.reduce((a, f) => a + f.scoredWindows, 0);
  const perfect = profile.tpWeight * files.reduce((a, f) => a + f.windows, 0);
  return perfect === nullScore ? null : (100 * (raw - nullScore)) / (perfect - nullScore);
}
