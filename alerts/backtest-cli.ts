// `npm run backtest -- --input FILE.csv --detector NAME [--param key=value ...] [--points]`
// (CONTRACT §7): the live alerts' detector and lifecycle code over a CSV series; one JSON line per
// alert episode, at its onset (the episode's first point) — or, with --points, per breaching point.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { LIFECYCLE_DEFAULTS, detectorSchema } from '../config/alert-schema.js';
import { parseDurationMs } from '../config/duration.js';
import { detectorOf, type Detector, type SeriesPoint } from './detectors/index.js';
import { thresholdDetector } from './detectors/threshold.js';
import { findBreaches, findEpisodes, medianStep, type Finding } from './series.js';

export const DETECTOR_NAMES = ['below', 'above', 'drop', 'rise', 'zscore', 'ewma', 'seasonal', 'auto'] as const;
const USAGE = `usage: npm run backtest -- --input FILE.csv --detector ${DETECTOR_NAMES.join('|')} [--param key=value ...] [--points]
  FILE.csv: header timestamp,value[,volume]; timestamps ISO-8601 or "YYYY-MM-DD HH:MM:SS" (read at --param tz, default +08:00)
  prints one line per alert episode at its onset; --points: every breaching point instead
  params: threshold (below/above/zscore/ewma/seasonal), ratio and vs=previous|day-ago|week-ago (drop/rise),
          lookback, alpha, days, minChange, sensitivity=low|medium|high (auto), direction=up|down|both,
          window (default: the series' step), minVolume, for (e.g. 5m: pending before an episode fires, default 0),
          hysteresis (default 0.05: an episode ends when the value is that much back inside the bound),
          keepFiringFor (default 2h: and has stayed inside this long; a breach meanwhile is the same episode; 0s ends it at once)`;

class InputError extends Error {}

function parseParams(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new InputError(`--param ${pair}: expected key=value`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

const numeric = (key: string, text: string): number => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new InputError(`--param ${key}=${text}: not a number`);
  return n;
};

/** The detector named on the command line, validated by the same schema as alerts.yaml. */
export function detectorFromArgs(name: string, params: Record<string, string>): Detector {
  if (name === 'below' || name === 'above') {
    if (params.threshold === undefined) throw new InputError(`--detector ${name} needs --param threshold=<number>`);
    const bound = numeric('threshold', params.threshold);
    return thresholdDetector(name === 'below' ? { below: bound } : { above: bound });
  }
  if (!(DETECTOR_NAMES as readonly string[]).includes(name)) throw new InputError(`--detector ${name}: not one of ${DETECTOR_NAMES.join(', ')}`);
  const spec: Record<string, unknown> = { kind: name };
  for (const [key, text] of Object.entries(params)) {
    if (['window', 'minVolume', 'tz', 'for', 'hysteresis', 'keepFiringFor'].includes(key)) continue;
    spec[key] = ['vs', 'direction', 'sensitivity'].includes(key) ? text : numeric(key, text);
  }
  const parsed = detectorSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`--param ${issue.path.join('.') || name}: ${issue.message}`);
  }
  return detectorOf(parsed.data);
}

function parseTimestamp(text: string, offset: string, line: number): number {
  const local = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/.exec(text.trim());
  const t = local ? Date.parse(`${local[1]}T${local[2]}${offset}`) : /(Z|[+-]\d{2}:?\d{2})$/.test(text.trim()) ? Date.parse(text) : NaN;
  if (!Number.isFinite(t)) throw new InputError(`line ${line}: timestamp "${text}" is neither ISO-8601 with a zone nor YYYY-MM-DD HH:MM:SS`);
  return t;
}

export interface CsvPoint extends SeriesPoint {
  timestamp: string;
}

/** Reads `timestamp,value[,volume]`; an empty value is a window without data. */
export function readSeriesCsv(text: string, offset = '+08:00'): CsvPoint[] {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new InputError(`not a CSV file: ${(err as Error).message}`);
  }
  const header = (records[0] ?? []).map((h) => h.toLowerCase());
  if (header[0] !== 'timestamp' || header[1] !== 'value') throw new InputError(`the header must be "timestamp,value" (found "${(records[0] ?? []).join(',')}")`);
  const hasVolume = header[2] === 'volume';
  return records.slice(1).map((record, i) => {
    const line = i + 2;
    const [timestamp = '', valueText = '', volumeText = ''] = record;
    const value = valueText === '' ? null : Number(valueText);
    if (value !== null && !Number.isFinite(value)) throw new InputError(`line ${line}: value "${valueText}" is not a number`);
    const volume = hasVolume && volumeText !== '' ? Number(volumeText) : Math.abs(value ?? 0);
    if (!Number.isFinite(volume)) throw new InputError(`line ${line}: volume "${volumeText}" is not a number`);
    return { timestamp, t: parseTimestamp(timestamp, offset, line), value, volume };
  });
}

export function runBacktest(argv: string[]): { lines: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { input: { type: 'string' }, detector: { type: 'string' }, param: { type: 'string', multiple: true }, points: { type: 'boolean' } } });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const { input, detector: name } = parsed.values;
  if (!input || !name) throw new InputError('--input and --detector are required');
  const params = parseParams(parsed.values.param ?? []);
  const detector = detectorFromArgs(name, params);
  const offset = params.tz ?? '+08:00';
  if (!/^[+-]\d{2}:\d{2}$/.test(offset)) throw new InputError(`--param tz=${offset}: expected an offset like +08:00`);
  let text: string;
  try {
    text = readFileSync(input, 'utf8');
  } catch (err) {
    throw new InputError(`--input ${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const points = readSeriesCsv(text, offset);
  const windowMs = params.window !== undefined ? parseDurationMs(params.window) : medianStep(points);
  if (!windowMs) throw new InputError(params.window !== undefined ? `--param window=${params.window}: not a duration like 5m` : 'the series needs at least two points');
  const minVolume = params.minVolume !== undefined ? numeric('minVolume', params.minVolume) : 0;
  const byT = new Map(points.map((p) => [p.t, p]));
  const line = ({ point, judgement }: Finding) =>
    JSON.stringify({ timestamp: (byT.get(point.t) as CsvPoint).timestamp, value: point.value, score: Number(judgement.score.toFixed(6)) });
  if (parsed.values.points) return { lines: findBreaches(detector, points, windowMs, minVolume).map(line) };
  const pendingFor = params.for !== undefined ? parseDurationMs(params.for) : 0;
  if (pendingFor === null) throw new InputError(`--param for=${params.for}: not a duration like 5m`);
  const hysteresis = params.hysteresis !== undefined ? numeric('hysteresis', params.hysteresis) : LIFECYCLE_DEFAULTS.hysteresis;
  if (hysteresis < 0 || hysteresis >= 1) throw new InputError(`--param hysteresis=${params.hysteresis}: between 0 and 1`);
  const keepFiringFor = params.keepFiringFor !== undefined ? parseDurationMs(params.keepFiringFor) : LIFECYCLE_DEFAULTS.keepFiringFor;
  if (keepFiringFor === null) throw new InputError(`--param keepFiringFor=${params.keepFiringFor}: not a duration like 2h`);
  // as the live alerts: an episode that ends before \`for\` never fired, and is no alert
  const episodes = findEpisodes(detector, points, windowMs, { for: pendingFor, hysteresis, noData: 'ok', minVolume, keepFiringFor }).filter((e) => e.fired);
  return { lines: episodes.map((e) => line(e.onset)) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  try {
    const { lines } = runBacktest(process.argv.slice(2));
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    process.stderr.write(`backtest: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
}
