// First-order Markov attribution by removal effect, computed exactly: the probability of
// reaching "conversion" from "start" is the solution of the absorbing chain's linear system
// (I − Q)·x = r, solved by Gaussian elimination — no simulation.
import { creditsFromShares, finish, type ChannelCredit, type PathCount } from './types.js';

/** Transition weights between states: 0 = start, 1..n = channels; ends: conversion, null. */
interface Chain {
  channels: string[];
  /** counts[i][j]: transitions from state i to channel state j (j ≥ 1) */
  counts: number[][];
  toConversion: number[];
  toNull: number[];
}

function buildChain(paths: PathCount[], weightOf: (p: PathCount) => { conversions: number; nulls: number }): Chain {
  const channels = [...new Set(paths.flatMap((p) => p.channels))].sort();
  const index = new Map(channels.map((c, i) => [c, i + 1]));
  const size = channels.length + 1;
  const counts = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const toConversion = new Array<number>(size).fill(0);
  const toNull = new Array<number>(size).fill(0);
  for (const path of paths) {
    if (!path.channels.length) continue;
    const { conversions, nulls } = weightOf(path);
    const through = conversions + nulls;
    if (!through) continue;
    let from = 0;
    for (const channel of path.channels) {
      const to = index.get(channel)!;
      counts[from]![to]! += through;
      from = to;
    }
    toConversion[from]! += conversions;
    toNull[from]! += nulls;
  }
  return { channels, counts, toConversion, toNull };
}

/** P(conversion | start) with the channel states in `removed` sending everything to null. */
export function conversionProbability(chain: Chain, removed = new Set<number>()): number {
  const size = chain.channels.length + 1;
  // x_i = Σ_j P(i→j) x_j + P(i→conversion); a removed state has x = 0
  const a = Array.from({ length: size }, () => new Array<number>(size + 1).fill(0));
  for (let i = 0; i < size; i++) {
    a[i]![i] = 1;
    if (removed.has(i)) continue;
    const out = chain.counts[i]!.reduce((s, v) => s + v, 0) + chain.toConversion[i]! + chain.toNull[i]!;
    if (!out) continue;
    for (let j = 1; j < size; j++) if (chain.counts[i]![j]) a[i]![j]! -= chain.counts[i]![j]! / out;
    a[i]![size] = chain.toConversion[i]! / out;
  }
  return solve(a)[0]!;
}

/** Gaussian elimination with partial pivoting on an augmented matrix. */
function solve(a: number[][]): number[] {
  const n = a.length;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row]![col]!) > Math.abs(a[pivot]![col]!)) pivot = row;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-300) continue; // a state that cannot be left and never converts
    for (let row = 0; row < n; row++) {
      if (row === col || !a[row]![col]) continue;
      const factor = a[row]![col]! / p;
      for (let k = col; k <= n; k++) a[row]![k]! -= factor * a[col]![k]!;
    }
  }
  return a.map((row, i) => (Math.abs(row[i]!) < 1e-300 ? 0 : row[n]! / row[i]!));
}

/** Removal effect of each channel: 1 − P(conversion without it) / P(conversion). */
export function removalEffects(paths: PathCount[], weightOf: (p: PathCount) => { conversions: number; nulls: number } = (p) => p): Map<string, number> {
  const chain = buildChain(paths, weightOf);
  const base = conversionProbability(chain);
  const effects = new Map<string, number>();
  chain.channels.forEach((channel, i) => {
    effects.set(channel, base > 0 ? Math.max(0, 1 - conversionProbability(chain, new Set([i + 1])) / base) : 0);
  });
  return effects;
}

function normalize(effects: Map<string, number>): Map<string, number> {
  const sum = [...effects.values()].reduce((a, b) => a + b, 0);
  return new Map([...effects].map(([c, e]) => [c, sum > 0 ? e / sum : 0]));
}

/**
 * Conversions are credited in proportion to the channels' removal effects. Value likewise, from a
 * chain whose converting paths are weighted by their value (each path's null endings weighted by
 * its average order value), so channels on high-value paths earn more of the revenue.
 */
export function markov(paths: PathCount[]): ChannelCredit[] {
  const converting = paths.filter((p) => p.conversions > 0 || p.value > 0);
  if (!converting.length) return finish(paths, new Map());
  const conversionShares = normalize(removalEffects(paths));
  const totalConversions = paths.reduce((a, p) => a + p.conversions, 0);
  const totalValue = paths.reduce((a, p) => a + p.value, 0);
  const meanValue = totalConversions > 0 ? totalValue / totalConversions : 0;
  const valueShares = meanValue > 0
    ? normalize(removalEffects(paths, (p) => ({ conversions: p.value / meanValue, nulls: p.nulls })))
    : conversionShares;
  return creditsFromShares(paths, conversionShares, valueShares);
}
