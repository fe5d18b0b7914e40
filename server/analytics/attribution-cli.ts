// `npm run attribution -- --input FILE.csv --model MODEL [--param key=value ...]` (CONTRACT §8):
// the scheduled job's models over a path-count CSV (path,total_conversions,total_conversion_value,total_null,
// separated by commas or semicolons). Prints the credits per channel as JSON.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { parseDurationMs } from '../../config/duration.js';
import { MODELS, attribute, type Model, type ModelParams, type PathCount } from './attribution/index.js';

const USAGE = `usage: npm run attribution -- --input FILE.csv --model ${MODELS.join('|')} [--param key=value ...]
  FILE.csv: header path,total_conversions,total_conversion_value,total_null (commas or semicolons); path: channels joined by " > "
  params: halfLife=7d and touchSpacing=1d (time_decay: paths in a CSV have no times, touches are taken touchSpacing apart),
          first=0.4 and last=0.4 (position_based)`;

export class InputError extends Error {}

/** Reads the common path-count export; the separator is whichever the header uses. */
export function readPathCsv(text: string): PathCount[] {
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = header.includes(';') && !header.includes(',') ? ';' : ',';
  let records: string[][];
  try {
    records = parse(text, { delimiter, skip_empty_lines: true, trim: true, bom: true, relax_quotes: true });
  } catch (err) {
    throw new InputError(`not a CSV file: ${(err as Error).message}`);
  }
  const columns = (records[0] ?? []).map((h) => h.toLowerCase());
  const expected = ['path', 'total_conversions', 'total_conversion_value', 'total_null'];
  if (expected.some((name, i) => columns[i] !== name)) throw new InputError(`the header must be "${expected.join(delimiter)}" (found "${(records[0] ?? []).join(delimiter)}")`);
  return records.slice(1).map((record, i) => {
    const line = i + 2;
    const channels = (record[0] ?? '').split('>').map((c) => c.trim());
    if (!channels.length || channels.some((c) => !c)) throw new InputError(`line ${line}: path "${record[0]}" has an empty channel`);
    const number = (text: string | undefined, name: string) => {
      const n = Number(text);
      if (text === undefined || text === '' || !Number.isFinite(n) || n < 0) throw new InputError(`line ${line}: ${name} "${text ?? ''}" is not a number ≥ 0`);
      return n;
    };
    return { channels, conversions: number(record[1], 'total_conversions'), value: number(record[2], 'total_conversion_value'), nulls: number(record[3], 'total_null') };
  });
}

function modelParams(pairs: string[]): ModelParams {
  const params: ModelParams = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new InputError(`--param ${pair}: expected key=value`);
    const [key, text] = [pair.slice(0, at), pair.slice(at + 1)];
    if (key === 'halfLife' || key === 'touchSpacing') {
      const ms = parseDurationMs(text);
      if (!ms) throw new InputError(`--param ${pair}: not a duration like 7d or 12h`);
      params[key === 'halfLife' ? 'halfLifeMs' : 'touchSpacingMs'] = ms;
    } else if (key === 'first' || key === 'last') {
      const share = Number(text);
      if (!(share >= 0 && share <= 1)) throw new InputError(`--param ${pair}: a share between 0 and 1`);
      params[key] = share;
    } else {
      throw new InputError(`--param ${key}: unknown (halfLife, touchSpacing, first, last)`);
    }
  }
  if ((params.first ?? 0.4) + (params.last ?? 0.4) > 1) throw new InputError('--param first + last: at most 1');
  return params;
}

export function runAttributionCli(argv: string[]): string {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { input: { type: 'string' }, model: { type: 'string' }, param: { type: 'string', multiple: true } } });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const { input, model } = parsed.values;
  if (!input || !model) throw new InputError('--input and --model are required');
  if (!(MODELS as readonly string[]).includes(model)) throw new InputError(`--model ${model}: not one of ${MODELS.join(', ')}`);
  const params = modelParams(parsed.values.param ?? []);
  let text: string;
  try {
    text = readFileSync(input, 'utf8');
  } catch (err) {
    throw new InputError(`--input ${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return JSON.stringify(attribute(model as Model, readPathCsv(text), params));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  try {
    process.stdout.write(`${runAttributionCli(process.argv.slice(2))}\n`);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    process.stderr.write(`attribution: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
}
