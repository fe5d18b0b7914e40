// Event-time bucket arithmetic. All buckets are aligned to the epoch (UTC) except 1 d buckets,
// which start at local midnight (`dayOffsetMs` = the configured UTC offset).

import type { LiveWindow, Step } from './types.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const BUCKET_MS = 10 * SECOND;

export const STEP_MS: Record<Step, number> = { '10s': 10 * SECOND, '1m': MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '1h': HOUR, '1d': DAY };
export const WINDOW_MS: Record<LiveWindow, number> = { '1m': MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '1h': HOUR, '24h': DAY };

/** Start of the step bucket holding `ms`; 1 d buckets are shifted to local midnight. */
export function floorTo(ms: number, stepMs: number, dayOffsetMs = 0): number {
  const shift = stepMs >= DAY ? dayOffsetMs : 0;
  return Math.floor((ms + shift) / stepMs) * stepMs - shift;
}

export function ceilTo(ms: number, stepMs: number, dayOffsetMs = 0): number {
  const floored = floorTo(ms, stepMs, dayOffsetMs);
  return floored === ms ? ms : floored + stepMs;
}

// The hot levels kept in Redis are 10 s buckets, and 1 min / 1 h levels so long windows read few
// keys (apply-entry.lua writes all three; sum-ranges.lua reads a range from the fewest that cover it).

/** The rolling window ending with (and including) the 10 s bucket that holds `nowMs`. */
export function liveWindowRange(window: LiveWindow, nowMs: number): { from: number; to: number } {
  const to = floorTo(nowMs, BUCKET_MS) + BUCKET_MS;
  return { from: to - WINDOW_MS[window], to };
}
