// A labelled corpus in NAB's layout: data/<category>/<file>.csv (timestamp,value, timestamps as
// "YYYY-MM-DD HH:MM:SS") and windows.json ({"<category>/<file>.csv": [[start, end], …]}).
// Timestamps are read as UTC: only their order and spacing matter here.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface LabelledSeries {
  /** "<category>/<file>.csv" */
  name: string;
  category: string;
  timestamps: number[];
  values: number[];
  windows: Array<[number, number]>;
}

const utc = (text: string) => Date.parse(`${text.trim().slice(0, 19).replace(' ', 'T')}Z`);

export function readNabCorpus(dir: string): LabelledSeries[] {
  const labels = JSON.parse(readFileSync(join(dir, 'windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  const corpus: LabelledSeries[] = [];
  for (const category of readdirSync(join(dir, 'data')).sort()) {
    for (const file of readdirSync(join(dir, 'data', category)).filter((f) => f.endsWith('.csv')).sort()) {
      const name = `${category}/${file}`;
      const lines = readFileSync(join(dir, 'data', category, file), 'utf8').trim().split('\n').slice(1);
      const timestamps: number[] = [];
      const values: number[] = [];
      for (const line of lines) {
        const comma = line.indexOf(',');
        timestamps.push(utc(line.slice(0, comma)));
        values.push(Number(line.slice(comma + 1)));
      }
      corpus.push({ name, category, timestamps, values, windows: (labels[name] ?? []).map(([from, to]) => [utc(from), utc(to)]) });
    }
  }
  return corpus;
}
