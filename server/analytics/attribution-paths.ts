// Conversion paths from stored events: each converting user's touches (exposures and clicks
// carrying a userId) in time order within the lookback before the conversion; a conversion
// closes its path. Touches after a user's last conversion that end in the range make a path
// without a conversion (a "null"), which the Markov model needs.
import type { Pool } from 'pg';
import { checkOut } from '../../stream/db/transaction.js';
import { copyOutRows } from '../../stream/db/copy-out.js';
import type { PathCount } from './attribution/index.js';

export interface DayPaths {
  /** local day start (ms) */
  day: number;
  /** paths with their touch ages, one per conversion (time decay needs the ages) */
  converting: PathCount[];
  /** the same and the null paths, counted by channel sequence */
  counted: PathCount[];
}

export async function pathsByDay(pool: Pool, range: { from: number; to: number }, lookbackMs: number, dayOf: (ms: number) => number): Promise<DayPaths[]> {
  const days = new Map<number, { converting: PathCount[]; counted: Map<string, PathCount> }>();
  const dayOfPath = (day: number) => {
    let entry = days.get(day);
    if (!entry) days.set(day, (entry = { converting: [], counted: new Map() }));
    return entry;
  };
  const count = (day: number, channels: string[], conversions: number, value: number, nulls: number) => {
    const counted = dayOfPath(day).counted;
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
      count(dayOf(last.ts), open.map((t) => t.channel), 0, 0, 1);
    }
    touches = [];
  };
  for await (const [userId, tsText, type, channel, eventsText, valueText] of touchRows(pool, range.from - lookbackMs, range.to)) {
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
    dayOfPath(day).converting.push({ channels, conversions: events, value, nulls: 0, ages: path.map((t) => ts - t.ts) });
    count(day, channels, events, value, 0);
  }
  closeUser();
  return [...days.entries()].sort(([a], [b]) => a - b).map(([day, entry]) => ({ day, converting: entry.converting, counted: [...entry.counted.values()] }));
}

/**
 * The touches and conversions with a userId in [from, to), by user and time, streamed (COPY) so a
 * million of them never sit in memory at once: [userId, epoch ms, type, channel, count, value].
 * User ids stay in COPY's escaped text form, which is just as good a key.
 */
async function* touchRows(pool: Pool, from: number, to: number): AsyncGenerator<[string, string, string, string, string, string]> {
  const { client, release } = await checkOut(pool);
  let finished = false;
  try {
    yield* copyOutRows(client, `SELECT user_id, (extract(epoch FROM ts) * 1000)::bigint, type, channel, count, value FROM events
      WHERE user_id IS NOT NULL AND ts >= '${new Date(from).toISOString()}' AND ts < '${new Date(to).toISOString()}'
        AND type IN ('exposure', 'click', 'conversion')
      ORDER BY user_id, ts, id`) as AsyncGenerator<[string, string, string, string, string, string]>;
    finished = true;
  } finally {
    release(!finished); // a COPY abandoned half way leaves its connection unusable: close it
  }
}
