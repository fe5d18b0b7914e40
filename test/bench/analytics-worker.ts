// One analytics measurement in a process of its own, so its peak RSS is its own: prints one JSON
// line. Modes: paths | model:<name> | job:attribution | job:segments | shapley:<channels>.
// Stores from REDIS_URL, DATABASE_URL, DB_SCHEMA (the schema the bench filled).
import { loadConfig } from '../../config/load.js';
import { attribute, MODELS, type Model, type PathCount } from '../../server/analytics/attribution/index.js';
import { shapleyByEnumeration, shapleyClosedForm } from '../../server/analytics/attribution/shapley.js';
import { pathsByDay } from '../../server/analytics/attribution-paths.js';
import { attributionSettings, runAttribution } from '../../server/analytics/attribution-job.js';
import { runSegments, segmentSettings } from '../../server/analytics/segments-job.js';
import { DAY, floorTo } from '../../stream/buckets.js';
import { createPool, storeSettingsFromEnv } from '../../stream/connect.js';
import pino from 'pino';
import { seededRandom } from '../../server/simulator/generator.js';

const mode = process.argv[2] ?? 'paths';
const cfg = loadConfig();
const stores = storeSettingsFromEnv();
const pool = createPool(stores.databaseUrl, stores.dbSchema, { max: 2 });
const settings = attributionSettings(cfg);
// the jobs log their phases; keep those lines for the result
const logged: Array<Record<string, unknown>> = [];
const ctx = { aborted: () => false, log: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) }) };
const now = Date.now();
const range = { from: floorTo(now, DAY, cfg.dayOffsetMs) + DAY - settings.days * DAY, to: floorTo(now, DAY, cfg.dayOffsetMs) + DAY };
const dayOf = (ms: number) => floorTo(ms, DAY, cfg.dayOffsetMs);
const timed = async <T>(work: () => Promise<T> | T): Promise<[T, number]> => {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
};

let out: Record<string, unknown>;
if (mode === 'paths' || mode.startsWith('model:')) {
  const [days, pathsMs] = await timed(() => pathsByDay(pool, range, settings.lookbackMs, dayOf));
  const converting = days.reduce((n, d) => n + d.converting.length, 0);
  const distinct = days.reduce((n, d) => n + d.counted.length, 0);
  const nulls = days.reduce((n, d) => n + d.counted.reduce((m, p) => m + p.nulls, 0), 0);
  const touches = days.reduce((n, d) => n + d.converting.reduce((m, p) => m + p.channels.length, 0), 0);
  out = { pathsMs, converting, nulls, distinct, touchesOnConvertingPaths: touches };
  if (mode.startsWith('model:')) {
    const model = mode.slice(6) as Model;
    if (!MODELS.includes(model)) throw new Error(`unknown model ${model}`);
    const rssBefore = process.memoryUsage().rss;
    const [credits, modelMs] = await timed(() => days.map((d) => attribute(model, model === 'time_decay' ? d.converting : d.counted, settings.params)));
    out = { ...out, model, modelMs, rssBeforeModelMb: rssBefore / 2 ** 20, credited: credits.flat().reduce((n, c) => n + c.conversions, 0) };
  }
} else if (mode === 'job:attribution') {
  const [rows, ms] = await timed(() => runAttribution(pool, cfg, settings, ctx));
  out = { ms, rows };
} else if (mode === 'job:segments') {
  // the first run rebuilds every customer's days from the raw events; later runs only the days late events may still change
  const segments = segmentSettings(cfg);
  const phasesOf = (run: number) => Object.fromEntries(Object.entries(logged.filter((l) => l.msg === 'segments computed')[run] ?? {}).filter(([key]) => key.endsWith('Ms')));
  const [customers, ms] = await timed(() => runSegments(pool, cfg, segments, ctx));
  const [, nextMs] = await timed(() => runSegments(pool, cfg, segments, ctx, Date.now()));
  out = { ms, customers, ...phasesOf(0), nextMs, next: phasesOf(1) };
} else if (mode.startsWith('shapley:')) {
  // paths of 1–6 touches over n channels, 20 000 of them (the enumeration's cost is in 2^n, not in the paths)
  const n = Number(mode.slice(8));
  const random = seededRandom(n);
  const channels = Array.from({ length: n }, (_, i) => `c${i}`);
  const paths: PathCount[] = Array.from({ length: 20_000 }, () => ({
    channels: Array.from({ length: 1 + Math.floor(random() * 6) }, () => channels[Math.floor(random() * n)]!),
    conversions: random() < 0.3 ? 1 : 0, value: 100, nulls: 1,
  }));
  const [exact, enumerationMs] = await timed(() => shapleyByEnumeration(paths));
  const [closed, closedFormMs] = await timed(() => shapleyClosedForm(paths));
  const gap = Math.max(...exact.map((c) => Math.abs(c.conversions - closed.find((d) => d.channel === c.channel)!.conversions)));
  out = { channels: n, paths: paths.length, enumerationMs, closedFormMs, maxDifference: gap };
} else throw new Error(`unknown mode ${mode}`);

await pool.end();
process.stdout.write(`${JSON.stringify({ mode, ...out, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
