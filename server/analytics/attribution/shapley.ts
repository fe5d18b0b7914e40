// Shapley attribution. The characteristic function: what a coalition S of channels brings in on
// its own, v(S) = the conversions (or value) of the paths whose channels all lie in S. It is
// monotone, so credits are never negative, and they add up to the totals (efficiency).
//
// Exact: for up to EXACT_LIMIT channels v is tabulated over all 2^n coalitions (a sum over subsets)
// and every channel's value taken from the definition, Σ_S |S|!(n−|S|−1)!/n! · (v(S∪{c}) − v(S)).
// With this v the Shapley value also has a closed form — each path's conversions split equally
// among its distinct channels — which the tests check the enumeration against, and which serves
// beyond EXACT_LIMIT channels (2^n tables no longer fit); it is exact too, not an estimate.
import { finish, type ChannelCredit, type PathCount } from './types.js';

export const EXACT_LIMIT = 15;

export function shapleyByEnumeration(paths: PathCount[]): ChannelCredit[] {
  const channels = [...new Set(paths.flatMap((p) => p.channels))].sort();
  const n = channels.length;
  if (n > EXACT_LIMIT) throw new Error(`${n} channels: the exact enumeration goes to ${EXACT_LIMIT}`);
  const bit = new Map(channels.map((c, i) => [c, 1 << i]));
  const size = 1 << n;
  // r(T): what the paths with exactly the channel set T bring; then v(S) = Σ_{T ⊆ S} r(T)
  const conversions = new Float64Array(size);
  const value = new Float64Array(size);
  for (const path of paths) {
    if (!path.channels.length) continue;
    let mask = 0;
    for (const channel of path.channels) mask |= bit.get(channel)!;
    conversions[mask]! += path.conversions;
    value[mask]! += path.value;
  }
  for (let i = 0; i < n; i++) {
    for (let mask = 0; mask < size; mask++) {
      if (mask & (1 << i)) {
        conversions[mask]! += conversions[mask ^ (1 << i)]!;
        value[mask]! += value[mask ^ (1 << i)]!;
      }
    }
  }
  const factorial = [1];
  for (let k = 1; k <= n; k++) factorial.push(factorial[k - 1]! * k);
  const coefficient = Array.from({ length: n }, (_, s) => (factorial[s]! * factorial[n - s - 1]!) / factorial[n]!);
  const popcount = new Uint8Array(size);
  for (let mask = 1; mask < size; mask++) popcount[mask] = popcount[mask >> 1]! + (mask & 1);
  const totals = new Map<string, ChannelCredit>();
  channels.forEach((channel, i) => {
    const own = 1 << i;
    let c = 0;
    let v = 0;
    for (let mask = 0; mask < size; mask++) {
      if (mask & own) continue;
      const weight = coefficient[popcount[mask]!]!;
      c += weight * (conversions[mask | own]! - conversions[mask]!);
      v += weight * (value[mask | own]! - value[mask]!);
    }
    totals.set(channel, { channel, conversions: c, value: v });
  });
  return finish(paths, totals);
}

/** The same values by the closed form: each path's total split equally among its distinct channels. */
export function shapleyClosedForm(paths: PathCount[]): ChannelCredit[] {
  const totals = new Map<string, ChannelCredit>();
  for (const path of paths) {
    const distinct = [...new Set(path.channels)];
    for (const channel of distinct) {
      const credit = totals.get(channel) ?? { channel, conversions: 0, value: 0 };
      credit.conversions += path.conversions / distinct.length;
      credit.value += path.value / distinct.length;
      totals.set(channel, credit);
    }
  }
  return finish(paths, totals);
}

export function shapley(paths: PathCount[]): ChannelCredit[] {
  const channels = new Set(paths.flatMap((p) => p.channels)).size;
  return channels <= EXACT_LIMIT ? shapleyByEnumeration(paths) : shapleyClosedForm(paths);
}
