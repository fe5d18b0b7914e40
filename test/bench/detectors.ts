// Detector quality: every shipped detector with its defaults over NAB's labelled series, scored
// with NAB's standard profile (alerts/quality/nab-score.ts), per category and over the 40 files
// with windows, beside NAB's published detectors; alarms on artificialNoAnomaly past the
// probationary period; and the time to judge the longest series, in process and through the CLI.
// NAB_DIR names the corpus (NAB's layout; a clone of numenta/NAB works); default the team's copy.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectorSchema } from '../../config/alert-schema.js';
import { detectorOf } from '../../alerts/detectors/index.js';
import { detectorQuality, type QualityReport } from '../../alerts/quality/detector-quality.js';
import { readNabCorpus } from '../../alerts/quality/nab-corpus.js';
import type { BenchResult } from './report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_NAB_DIR = join(ROOT, '..', 'shared', 'datasets', 'nab-dev');

/** NAB's published standard-profile scores on the same 40 files (from the dataset's README). */
const PUBLISHED: Array<[string, number]> = [
  ['ARTime', 72.9], ['Numenta HTM', 67.3], ['random cut forest', 47.9], ['twitterADVec', 46.4], ['windowed Gaussian', 32.9], ['random', 22.0],
];
const DETECTORS = ['auto', 'zscore', 'ewma', 'seasonal'] as const;

export function benchDetectors(dir = process.env.NAB_DIR || DEFAULT_NAB_DIR): BenchResult[] {
  if (!existsSync(join(dir, 'windows.json'))) {
    process.stdout.write(`detectors: no labelled corpus at ${dir} (set NAB_DIR to a clone of numenta/NAB or a folder in its layout); skipped\n`);
    return [];
  }
  const corpus = readNabCorpus(dir);
  const categories = [...new Set(corpus.filter((s) => s.windows.length).map((s) => s.category))].sort();
  const points = corpus.reduce((a, s) => a + s.timestamps.length, 0);
  const longest = corpus.reduce((a, s) => (s.timestamps.length > a.timestamps.length ? s : a));
  const reports: Array<{ kind: string; report: QualityReport; seconds: number }> = [];
  for (const kind of DETECTORS) {
    const spec = detectorSchema.parse({ kind });
    const started = performance.now();
    const report = detectorQuality(() => detectorOf(spec), corpus);
    reports.push({ kind, report, seconds: (performance.now() - started) / 1000 });
  }

  const pad = (text: string, width: number) => text.padStart(width);
  const header = ['detector (defaults)'.padEnd(24), ...categories.map((c) => pad(c, Math.max(12, c.length))), pad('total', 7), pad('noAnomaly alarms', 17), pad(`longest (${longest.timestamps.length} pts) ms`, 24)];
  process.stdout.write(`\nNAB standard profile over ${corpus.filter((s) => s.windows.length).length} labelled files (${points} points in all)\n${header.join('  ')}\n`);
  for (const { kind, report } of reports) {
    const longestMs = report.files.find((f) => f.name === longest.name)!.ms;
    process.stdout.write(`${[kind.padEnd(24), ...categories.map((c) => pad((report.byCategory[c] ?? NaN).toFixed(1), Math.max(12, c.length))), pad(report.total.toFixed(1), 7), pad(String(report.falseAlarmsWithoutAnomalies), 17), pad(longestMs.toFixed(0), 24)].join('  ')}\n`);
  }
  for (const [name, score] of PUBLISHED) process.stdout.write(`${`NAB: ${name}`.padEnd(24)}  ${' '.repeat(categories.reduce((a, c) => a + Math.max(12, c.length) + 2, 0))}${pad(score.toFixed(1), 7)}\n`);

  // the CLI as a user runs it (npm run backtest), start to finish, on the longest series, with
  // each detector's defaults; twice each, the machine's load moves a single run by ±0.3 s
  const cliSeconds = new Map<string, number[]>();
  for (let run = 0; run < 2; run++) {
    for (const kind of DETECTORS) {
      const cliStarted = performance.now();
      execFileSync('npm', ['run', '-s', 'backtest', '--', '--input', join(dir, 'data', longest.name), '--detector', kind], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      cliSeconds.set(kind, [...(cliSeconds.get(kind) ?? []), (performance.now() - cliStarted) / 1000]);
    }
  }
  process.stdout.write(`npm run backtest on ${longest.name} (${longest.timestamps.length} points), wall time with npm and the process start, two runs: ${DETECTORS.map((kind) => `--detector ${kind} ${cliSeconds.get(kind)!.map((s) => s.toFixed(2)).join(' / ')} s`).join(', ')}\n`);

  return reports.map(({ kind, report, seconds }) => ({
    name: `detectors-${kind}`, events: points, eventsPerSec: Math.round(points / seconds), p50Ms: null, p95Ms: null, p99Ms: null, peakRssMb: null,
    ceiling: null, ratio: null,
    notes: `NAB standard profile ${report.total.toFixed(1)} (${categories.map((c) => `${c} ${(report.byCategory[c] ?? NaN).toFixed(1)}`).join(', ')}); ${report.falseAlarmsWithoutAnomalies} alarms on artificialNoAnomaly`,
    extra: {
      score: report.total, byCategory: report.byCategory, falseAlarmsWithoutAnomalies: report.falseAlarmsWithoutAnomalies,
      truePositives: report.files.reduce((a, f) => a + f.score.truePositives, 0), falsePositives: report.files.reduce((a, f) => a + f.score.falsePositives, 0),
      longestSeriesMs: report.files.find((f) => f.name === longest.name)!.ms, cliSeconds: cliSeconds.get(kind), published: Object.fromEntries(PUBLISHED),
    },
  }));
}
