import { creditsFromWeights, type ChannelCredit, type ModelParams, type PathCount } from './types.js';

const DAY_MS = 86_400_000;

export const firstTouch = (paths: PathCount[]): ChannelCredit[] => creditsFromWeights(paths, (p) => p.channels.map((_, i) => (i === 0 ? 1 : 0)));

export const lastTouch = (paths: PathCount[]): ChannelCredit[] => creditsFromWeights(paths, (p) => p.channels.map((_, i) => (i === p.channels.length - 1 ? 1 : 0)));

/** Each touch an equal share (a channel touched twice gets two shares). */
export const linear = (paths: PathCount[]): ChannelCredit[] => creditsFromWeights(paths, (p) => p.channels.map(() => 1 / p.channels.length));

/**
 * Touches weighted by 2^(−age / halfLife): a touch a half-life before the conversion counts half
 * as much as one at the conversion. Paths without touch times (CSV) take touches `touchSpacing` apart.
 */
export function timeDecay(paths: PathCount[], params: ModelParams = {}): ChannelCredit[] {
  const halfLife = params.halfLifeMs ?? 7 * DAY_MS;
  const spacing = params.touchSpacingMs ?? DAY_MS;
  return creditsFromWeights(paths, (p) => {
    const ages = p.ages ?? p.channels.map((_, i) => (p.channels.length - 1 - i) * spacing);
    const raw = ages.map((age) => 2 ** (-Math.max(0, age) / halfLife));
    const sum = raw.reduce((a, b) => a + b, 0);
    return raw.map((w) => w / sum);
  });
}

/**
 * U-shaped: `first` (40 %) to the first touch, `last` (40 %) to the last, the rest split over the
 * touches between. One touch takes everything; two split first : last in proportion.
 */
export function positionBased(paths: PathCount[], params: ModelParams = {}): ChannelCredit[] {
  const first = params.first ?? 0.4;
  const last = params.last ?? 0.4;
  return creditsFromWeights(paths, (p) => {
    const n = p.channels.length;
    if (n === 1) return [1];
    if (n === 2) return [first / (first + last), last / (first + last)];
    const middle = (1 - first - last) / (n - 2);
    return p.channels.map((_, i) => (i === 0 ? first : i === n - 1 ? last : middle));
  });
}
