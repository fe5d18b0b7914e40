// Which alerts the ticker shows, in what order: firing, pending, then recovering (back to normal,
// kept open a while in case it relapses), critical before the rest, newest first; resolved ones
// stay a while so the room sees them end, then go.
import { OPEN_ALERT_STATES, type ScreenAlert } from '../stream/types.js';

export const RESOLVED_SHOWN_MS = 10 * 60_000;
const STATE_ORDER: Record<string, number> = { firing: 0, pending: 1, recovering: 2, resolved: 3 };
const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** still open: pending, firing or recovering (it may be acknowledged and silenced) */
export const isOpen = (alert: Pick<ScreenAlert, 'state'>): boolean => (OPEN_ALERT_STATES as readonly string[]).includes(alert.state);

export function tickerAlerts(alerts: ScreenAlert[], now: number): ScreenAlert[] {
  return alerts
    .filter((a) => isOpen(a) || (a.state === 'resolved' && now - Date.parse(a.resolvedAt ?? a.at) < RESOLVED_SHOWN_MS))
    .sort((a, b) =>
      (STATE_ORDER[a.state]! - STATE_ORDER[b.state]!) ||
      (SEVERITY_ORDER[a.severity]! - SEVERITY_ORDER[b.severity]!) ||
      Date.parse(b.firedAt ?? b.activeSince) - Date.parse(a.firedAt ?? a.activeSince));
}

/**
 * The alerts that concern a view: everything at the nation; in a region or a store, the
 * nationwide ones (no region or store of their own), the region's and those of its stores in view.
 */
export function alertsOfView(alerts: ScreenAlert[], view: { region?: string; storeIds: string[] }): ScreenAlert[] {
  if (!view.region) return alerts;
  return alerts.filter((a) => {
    const { region, store } = a.labels;
    if (store) return view.storeIds.includes(store);
    return !region || region === view.region;
  });
}
