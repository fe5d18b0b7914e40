// Conversion paths from stored events: each converting user's touches (exposures and clicks
// carrying a userId) in time order within the lookback before the conversion; a conversion
// closes its path. Touches after a user's last conversion that end in the range make a path
// without a conversion (a "null"), which the Markov model needs. Every path counts for the whole
// business (region ''); a conversion that names its region counts for that region too (a
// region's paths are its customers' orders; paths without an order have no region).
import type { Pool } from 'pg';
import { checkOut } from '../../stream/db/transaction.js';
import { copyOutRows } from '../../stream/db/copy-out.js';
import type { PathCount } from './attribution/index.js';

export interface DayPaths {
  /** local day start (ms) */
  day: number;
  /** '' for the whole business, else the region of the orders */
  region: string;
  /** paths with their touch ages, one per conversion (time decay needs the ages) */
  converting: PathCount[];
  /** the same and the null paths, counted by channel sequence */
  counted: PathCount[];
}

export async function pathsByDay(pool: Pool, range: { from: number; to: number }, lookbackMs: number, dayOf: (ms: number) => number): Promise<DayPaths[]> {
  const days = new Map<string, { day: number; region: string; converting: PathCount[]; counted: Map<string, PathCount> }>();
  const dayOfPath = (day: number, region: string) => {
    const key = `${day}|${region}`;
    let entry = days.get(key);
    if (!entry) days.set(key, (entry = { day, region, converting: [], counted: new Map() }));
    return entry;
  };
  const count = (day: number, region: string, channels: string[], conversions: number, value: number, nulls: number) => {
    const counted = dayOfPath(day, region).counted;
    const key = channels.join('\u0001');
    const path = counted.get(key) ?? { channels, conversions: 0, value: 0, nulls: 0 };
    path.conversions += conversions;
    path.value += value;
    path.nulls += nulls;
    counted.set(key, path);
  };

  let user = '';
  let touches: Array<{ channel: string; ts: number }> = [];
  const closeUser = () => {
    const last = touches.at(-1);
    if (last && last.ts >= range.from) {
      const open = touches.filter((t) => t.ts >= last.ts - lookbackMs);
      count(dayOf(last.ts), '', open.map((t) => t.channel), 0, 0, 1);
    }
    touches = [];
  };
  for await (const [userId, tsText, type, channel, eventsText, valueText, region] of touchRows(pool, range.from - lookbackMs, range.to)) {
    if (userId !== user) {
      closeUser();
      user = userId;
    }
    const ts = Number(tsText);
    const events = Number(eventsText);
    if (type !== 'conversion') {
      touches.push({ channel, ts });
      continue;
    }
    const path = touches.filter((t) => t.ts >= ts - lookbackMs);
    touches = [];
    if (ts < range.from || !path.length) continue; // before the range, or a conversion no touch led to
    const day = dayOf(ts);
    const channels = path.map((t) => t.channel);
    const value = Number(valueText);
    for (const scope of region ? ['', region] : ['']) {
      dayOfPath(day, scope).converting.push({ channels, conversions: events, value, nulls: 0, ages: path.map((t) => ts - t.ts) });
      count(day, scope, channels, events, value, 0);
    }
  }
  closeUser();
  return [...days.values()]
    .sort((a, b) => a.day - b.day || a.region.localeCompare(b.region))
    .map((entry) => ({ day: entry.day, region: entry.region, converting: entry.converting, counted: [...entry.counted.values()] }));
}

/**
 * The touches and conversions with a userId in [from, to), by user and time, streamed (COPY) so a
 * million of them never sit in memory at once: [userId, epoch ms, type, channel, count, value, region ('' if none)].
 * User ids stay in COPY's escaped text form, which is just as good a key.
 */
type TouchRow = [string, string, string, string, string, string, string];
async function* touchRows(pool: Pool, from: number, to: number): AsyncGenerator<TouchRow> {
  const { client, release } = await checkOut(pool);
  let finished = false;
  try {
    yield* copyOutRows(client, `SELECT user_id, (extract(epoch FROM ts) * 1000)::bigint, type, channel, count, value, coalesce(region, '') FROM events
      WHERE user_id IS NOT NULL AND ts >= '${new Date(from).toISOString()}' AND ts < '${new Date(to).toISOString()}'
        AND type IN ('exposure', 'click', 'conversion')
      ORDER BY user_id, ts, id`) as AsyncGenerator<TouchRow>;
    finished = true;
  } finally {
    release(!finished); // a COPY abandoned half way leaves its connection unusable: close it
  }
}
