import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  events: number;
  eventsPerSec: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  peakRssMb: number | null;
  /** the machine's own ceiling for the same kind of work, measured in the same run */
  ceiling: { name: string; perSec: number } | null;
  /** our figure as a share of the ceiling */
  ratio: number | null;
  notes?: string;
  extra?: Record<string, unknown>;
}

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** p50 / p95 / p99 and the maximum of a set of latencies (ms). */
export function latencySummary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? null };
}

export function saveResult(result: BenchResult): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}${result.name}.json`, `${JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2)}\n`);
}

const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits }));

export function printTable(results: BenchResult[]): void {
  const rows = [
    ['name', 'events', 'events/s', 'p50 ms', 'p95 ms', 'p99 ms', 'peak RSS MB', 'ceiling', 'ceiling/s', 'ratio'],
    ...results.map((r) => [
      r.name, fmt(r.events), fmt(r.eventsPerSec), fmt(r.p50Ms, 1), fmt(r.p95Ms, 1), fmt(r.p99Ms, 1), fmt(r.peakRssMb),
      r.ceiling?.name ?? '—', fmt(r.ceiling?.perSec), r.ratio === null ? '—' : `${(r.ratio * 100).toFixed(1)} %`,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const [i, row] of rows.entries()) {
    process.stdout.write(`${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
    if (i === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  }
  for (const r of results) if (r.notes) process.stdout.write(`  ${r.name}: ${r.notes}\n`);
}
