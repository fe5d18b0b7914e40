// A detector's quality on a labelled corpus: its alert episodes (live lifecycle, its defaults with `for` 0) scored
// with NAB's standard profile per category and over every file with windows; and on files
// without windows, how often it fires after the probationary period.
import { LIFECYCLE_DEFAULTS } from '../../config/alert-schema.js';
import type { Detector, SeriesPoint } from '../detectors/index.js';
import { findEpisodes, medianStep } from '../series.js';
import type { LabelledSeries } from './nab-corpus.js';
import { normalizedScore, probationaryLength, scoreFile, type FileScore } from './nab-score.js';

export interface QualityReport {
  /** normalised NAB score per category (null: a category without windows) */
  byCategory: Record<string, number | null>;
  /** over every file that has windows */
  total: number;
  /** alerts raised after the probationary period on artificialNoAnomaly, NAB's series without anomalies */
  falseAlarmsWithoutAnomalies: number;
  files: Array<{ name: string; score: FileScore; ms: number }>;
}

/** Rows where an alert fired. */
export function detections(detector: Detector, series: LabelledSeries): boolean[] {
  const points: SeriesPoint[] = series.timestamps.map((t, i) => ({ t, value: series.values[i]!, volume: Math.abs(series.values[i]!) }));
  const windowMs = medianStep(points);
  const episodes = findEpisodes(detector, points, windowMs, { ...LIFECYCLE_DEFAULTS, for: 0, noData: 'ok', minVolume: 0 });
  const rowOf = new Map(series.timestamps.map((t, i) => [t, i]));
  const detected = new Array<boolean>(series.timestamps.length).fill(false);
  for (const episode of episodes) if (episode.fired) detected[rowOf.get(episode.fired.point.t)!] = true;
  return detected;
}

export function detectorQuality(makeDetector: () => Detector, corpus: LabelledSeries[]): QualityReport {
  const files = corpus.map((series) => {
    const started = performance.now();
    const detected = detections(makeDetector(), series);
    return { name: series.name, category: series.category, score: scoreFile(series.timestamps, detected, series.windows), ms: performance.now() - started,
      lateAlarms: series.category !== 'artificialNoAnomaly' ? 0 : detected.filter((d, i) => d && i >= probationaryLength(detected.length)).length };
  });
  const byCategory: Record<string, number | null> = {};
  for (const category of new Set(files.map((f) => f.category))) byCategory[category] = normalizedScore(files.filter((f) => f.category === category).map((f) => f.score));
  return {
    byCategory,
    total: normalizedScore(files.filter((f) => f.score.windows > 0).map((f) => f.score))!,
    falseAlarmsWithoutAnomalies: files.reduce((a, f) => a + f.lateAlarms, 0),
    files: files.map(({ name, score, ms }) => ({ name, score, ms })),
  };
}
