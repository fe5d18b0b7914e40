// Multi-touch attribution, pure: the scheduled job (paths built from stored events) and the
// `npm run attribution` CLI (path counts from a CSV) run the same models.

/** One distinct path and how often it ended in a conversion or in nothing. */
export interface PathCount {
  /** channels in touch order (a channel may repeat) */
  channels: string[];
  conversions: number;
  /** revenue of those conversions */
  value: number;
  /** times the same path ended without a conversion */
  nulls: number;
  /** age of each touch at the conversion (ms), same order as channels; absent in CSV input */
  ages?: number[];
}

export interface ChannelCredit {
  channel: string;
  conversions: number;
  value: number;
}

export const MODELS = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov', 'shapley'] as const;
export type Model = (typeof MODELS)[number];

export interface ModelParams {
  /** time_decay: a touch this old counts half (ms); default 7 days */
  halfLifeMs?: number;
  /** time_decay on paths without touch times: assumed spacing of touches (ms); default 1 day */
  touchSpacingMs?: number;
  /** position_based: shares of the first and the last touch; default 0.4 each */
  first?: number;
  last?: number;
}

/** Credits per channel from per-path weights (each path's weights sum to 1). */
export function creditsFromWeights(paths: PathCount[], weigh: (path: PathCount) => number[]): ChannelCredit[] {
  const totals = new Map<string, ChannelCredit>();
  for (const path of paths) {
    if (!path.channels.length || (!path.conversions && !path.value)) continue;
    const weights = weigh(path);
    path.channels.forEach((channel, i) => {
      const credit = totals.get(channel) ?? { channel, conversions: 0, value: 0 };
      credit.conversions += path.conversions * weights[i]!;
      credit.value += path.value * weights[i]!;
      totals.set(channel, credit);
    });
  }
  return finish(paths, totals);
}

/** Every channel present in the paths gets a row (zero credits included), sorted by channel. */
export function finish(paths: PathCount[], totals: Map<string, ChannelCredit>): ChannelCredit[] {
  for (const path of paths) for (const channel of path.channels) if (!totals.has(channel)) totals.set(channel, { channel, conversions: 0, value: 0 });
  return [...totals.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
}

/** Credits from channel shares (summing to 1) of the totals. */
export function creditsFromShares(paths: PathCount[], conversionShares: Map<string, number>, valueShares: Map<string, number>): ChannelCredit[] {
  const totalConversions = paths.reduce((a, p) => a + p.conversions, 0);
  const totalValue = paths.reduce((a, p) => a + p.value, 0);
  const totals = new Map<string, ChannelCredit>();
  for (const [channel, share] of conversionShares) totals.set(channel, { channel, conversions: share * totalConversions, value: 0 });
  for (const [channel, share] of valueShares) {
    const credit = totals.get(channel) ?? { channel, conversions: 0, value: 0 };
    credit.value = share * totalValue;
    totals.set(channel, credit);
  }
  return finish(paths, totals);
}
