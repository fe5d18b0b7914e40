// The alerts the ticker showed at a past instant: active then, or resolved in the half hour
// before, each in the state it was in then (who had acknowledged it by then). Alerts that went
// pending and cleared are not kept, so replay cannot show them.
import type { Pool } from 'pg';
import { alertView, type AlertRow } from '../../alerts/store.js';
import type { ScreenAlert } from '../../stream/types.js';

const RECENTLY_RESOLVED_MS = 30 * 60_000;
const MAX_ALERTS = 200;

export async function alertsAt(pool: Pool, at: number, regions: string[] | null): Promise<ScreenAlert[]> {
  const { rows } = await pool.query<AlertRow>(
    `SELECT * FROM alerts WHERE active_since <= $1 AND (resolved_at IS NULL OR resolved_at > $2)
       AND ($3::text[] IS NULL OR region = ANY($3::text[]))
     ORDER BY coalesce(fired_at, active_since) DESC LIMIT ${MAX_ALERTS}`,
    [new Date(at), new Date(at - RECENTLY_RESOLVED_MS), regions],
  );
  const then = new Date(at);
  return rows.flatMap((row) => {
    const resolved = row.resolved_at !== null && row.resolved_at <= then;
    const fired = row.fired_at !== null && row.fired_at <= then;
    // a row still open now but never fired, and pending since: pending then
    // recovering_since is the last recovery's (one that relapsed is not kept)
    const recovering = fired && row.recovering_since !== null && row.recovering_since <= then;
    const state = resolved ? 'resolved' : recovering ? 'recovering' : fired ? 'firing' : 'pending';
    if (state === 'resolved' && !row.fired_at) return [];
    const acked = row.acked_at !== null && row.acked_at <= then;
    return [alertView({
      ...row, state, resolved_at: resolved ? row.resolved_at : null, fired_at: fired ? row.fired_at : null, recovering_since: recovering || resolved ? row.recovering_since : null,
      acked_by: acked ? row.acked_by : null, acked_at: acked ? row.acked_at : null,
    }, then)];
  });
}
