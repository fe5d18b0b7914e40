// The scopes kept in the hot (Redis) windows: every event counts towards each scope it belongs to.

import type { Scope } from './types.js';

/** The dimensions that decide scopes; an empty or absent value means "none". */
export interface ScopeDimensions {
  channel: string;
  region?: string;
  store?: string;
  campaign?: string;
}

/** Scope keys: all | r:<region> | s:<store> | c:<channel> | rc:<region>:<channel> | sc:<store>:<channel> | k:<campaign> */
export function scopesOf(d: ScopeDimensions): string[] {
  const keys = ['all', `c:${d.channel}`];
  if (d.region) keys.push(`r:${d.region}`, `rc:${d.region}:${d.channel}`);
  if (d.store) keys.push(`s:${d.store}`, `sc:${d.store}:${d.channel}`);
  if (d.campaign) keys.push(`k:${d.campaign}`);
  return keys;
}

/** The hot scope key answering a live query, or null when the combination is not kept hot. */
export function scopeKeyOf(scope: Scope): string | null {
  const { region, store, channel, campaign } = scope;
  if (campaign !== undefined) return region === undefined && store === undefined && channel === undefined ? `k:${campaign}` : null;
  if (store !== undefined) return channel !== undefined ? `sc:${store}:${channel}` : `s:${store}`;
  if (region !== undefined) return channel !== undefined ? `rc:${region}:${channel}` : `r:${region}`;
  if (channel !== undefined) return `c:${channel}`;
  return 'all';
}
