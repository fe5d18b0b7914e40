// Conversion paths from stored events: each converting user's touches (exposures and clicks
// carrying a userId) in time order within the lookback before the conversion; a conversion
// closes its path. Touches after a user's last conversion that end in the range make a path
// without a conversion (a "null"), which the Markov model needs.
import type { Pool } from 'pg';
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
  const { rows } = await pool.query<[string, Date, string, string, number, string]>({
    text: `SELECT user_id, ts, type, channel, count, value::text FROM events
           WHERE user_id IS NOT NULL AND ts >= $1 AND ts < $2 AND type IN ('exposure', 'click', 'conversion')
           ORDER BY user_id, ts, id`,
    values: [new Date(range.from - lookbackMs).toISOString(), new Date(range.to).toISOString()],
    rowMode: 'array',
  });
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
  for (const [userId, at, type, channel, events, valueText] of rows) {
    if (userId !== user) {
      closeUser();
      user = userId;
    }
    const ts = at.getTime();
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
