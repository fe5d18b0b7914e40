// Per-minute sums of the fields rules look back on, kept in memory and read incrementally from the
// 10 s rollup (or, for cuts by channel alone, from the minutes by channel). A rule judges each
// window against earlier windows snapped to whole minutes; read as ranges, every one of them
// moved each minute and all were read again (a seasonal rule over 62 stores: 71 000 windows a
// minute). Kept as minutes, a cycle reads only the minutes that are new, the last few again
// (stragglers) and a slice of the rest (late events): the minutes late events can still reach
// (the lateness and a margin for a processor's backlog) are all read again every REFRESH_MS,
// older ones every SETTLED_REFRESH_MS (only a backlog longer than the margin writes there;
// reading twelve days of a weekly look-back every ten minutes cost a cycle ~70 000 rows at
// 1 M events a day). Any window is then a sum over its minutes.
import type { Pool } from 'pg';
import type { AlertRule } from '../config/alert-schema.js';
import { MINUTE } from '../stream/buckets.js';
import { CHANNEL_ROLLUPS, byChannelOnly } from '../stream/db/narrow-rollups.js';
import { dimensionConditions } from '../stream/db/queries.js';
import { rowsInIntervals } from './window-rows.js';
import type { Scope, SumField } from '../stream/types.js';

/** minutes read again every cycle: events up to this late are in the next judgement */
const RECENT_MINUTES = 15;
/** every minute late events can reach is read again within this long, so they reach the baselines */
export const REFRESH_MS = 10 * MINUTE;
/** and every older minute held within this long */
export const SETTLED_REFRESH_MS = 60 * MINUTE;
const MONEY_FIELDS = new Set<SumField>(['revenue', 'spend']);

/** What a rule's windows are summed from: its filter and groupBy, one field. */
export interface MinuteSource {
  filter: Scope;
  groupBy: 'channel' | 'region' | 'store' | null;
  field: SumField;
}

/** Which sum fields a metric's value and volume are made of. */
export function fieldsOf(metric: AlertRule['metric']): SumField[] {
  switch (metric) {
    case 'ctr': return ['clicks', 'exposure'];
    case 'cvr': return ['conversions', 'visits', 'clicks'];
    case 'roi': return ['revenue', 'spend'];
    case 'cac': return ['spend', 'conversions'];
    case 'uniqueUsers': return [];
    default: return [metric];
  }
}

interface Held {
  source: MinuteSource;
  /** minutes held: [from, to) in ms, whole minutes */
  from: number;
  to: number;
  /** per group, a ring of per-minute values (money in integer units), slot = minute % capacity; its version counts changes */
  capacity: number;
  groups: Map<string, { ring: Float64Array; version: number }>;
  /** where the next refresh slice starts, of the minutes late events can reach and of the older ones */
  cursor: number;
  settledCursor: number;
}

/** The union of intervals as disjoint ones, in order (a row is read once however many sources want it). */
function disjoint(intervals: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [f, t] of [...intervals].filter(([f, t]) => t > f).sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1];
    if (last && f <= last[1]) last[1] = Math.max(last[1], t);
    else out.push([f, t]);
  }
  return out;
}

/** a source's cut, without its field: sources of one shape are read from the same rows */
const shapeKey = (s: MinuteSource) => `${s.groupBy ?? ''}|${JSON.stringify(Object.entries(s.filter).filter(([, v]) => v !== undefined).sort())}`;

const keys = new WeakMap<MinuteSource, string>();
/** a source's identity (kept per object: it is asked for each instance of each rule every cycle) */
function sourceKey(s: MinuteSource): string {
  let key = keys.get(s);
  if (key === undefined) keys.set(s, (key = `${s.field}|${shapeKey(s)}`));
  return key;
}

/**
 * `changeableMs`: how far back of the newest minute writes still land in the ordinary course
 * (the events' lateness and a margin).
 */
export function createMinuteHistory(deps: { pool: Pool; moneyScale: number; changeableMs: number }) {
  const { pool, moneyScale, changeableMs } = deps;
  const held = new Map<string, Held>();
  /** versions are drawn from one counter: a source read anew never repeats one its windows were summed at */
  let versions = 0;

  /**
   * Reads the minutes of `intervals` once for sources of one shape (filter and groupBy; a field
   * each) and sets each target's minutes in its own intervals (within those read).
   */
  async function readInto(intervals: Array<[number, number]>, targets: Array<{ h: Held; intervals: Array<[number, number]>; groups: Set<string> }>): Promise<void> {
    const { filter, groupBy } = targets[0]!.h.source;
    const iso = (ms: number) => new Date(ms).toISOString();
    // one interval (sources read whole, at start or after a pause) as a plain range, which
    // PostgreSQL may scan in parallel; several (the recent minutes and a refresh slice) with a
    // range scan each
    const single = intervals.length === 1;
    const params: unknown[] = single ? [iso(intervals[0]![0]), iso(intervals[0]![1])] : [intervals.map(([f]) => iso(f)), intervals.map(([, t]) => iso(t))];
    const where = dimensionConditions(filter, params);
    // nationwide or per channel: the minutes by channel (a twelve-day look-back was 5.2 M rows of the 10 s rollup at 1 M events a day)
    const table = byChannelOnly(filter, groupBy) ? CHANNEL_ROLLUPS.minute.table : 'rollup_10s';
    const rowsRead = single ? `${table} r WHERE ${['r.bucket >= $1', 'r.bucket < $2', ...where].join(' AND ')}` : rowsInIntervals(table, 'bucket', where);
    const values = targets.map(({ h: { source: { field } } }, i) =>
      `${MONEY_FIELDS.has(field) ? `round(sum(${field}) * ${moneyScale})` : `sum(${field})`}::text AS v${i}`);
    // grouped by the minute as a time (date_bin), turned into a number once per minute, not per row
    const { rows } = await pool.query<{ g: string; m: string } & Record<string, string>>(
      `SELECT g, (extract(epoch FROM minute)::bigint / 60)::text AS m, ${targets.map((_, i) => `v${i}`).join(', ')}
       FROM (SELECT ${groupBy ? `r.${groupBy}` : `''`} AS g, date_bin('1 minute', r.bucket, 'epoch'::timestamptz) AS minute, ${values.join(', ')}
             FROM ${rowsRead} GROUP BY 1, 2) AS per_minute`,
      params,
    );
    for (const [i, { h, intervals: own, groups }] of targets.entries()) {
      const read = new Map<string, Map<number, number>>();
      for (const row of rows) {
        if (!groups.has(row.g)) continue;
        let minutes = read.get(row.g);
        if (!minutes) read.set(row.g, (minutes = new Map()));
        minutes.set(Number(row.m), Number(row[`v${i}`]));
      }
      for (const group of groups) if (!h.groups.has(group)) h.groups.set(group, { ring: new Float64Array(h.capacity), version: ++versions });
      // the minutes read are what the rows say, nothing where there are none; a group whose minutes
      // changed gets a new version (its windows are summed again)
      for (const [group, kept] of h.groups) {
        const minutes = read.get(group);
        let changed = false;
        for (const [f, t] of own) {
          for (let m = f / MINUTE; m < t / MINUTE; m++) {
            const value = minutes?.get(m) ?? 0;
            const slot = m % h.capacity;
            if (kept.ring[slot] !== value) {
              kept.ring[slot] = value;
              changed = true;
            }
          }
        }
        if (changed) kept.version = ++versions;
      }
    }
  }

  /**
   * Holds, for each source, the minutes [from, to) (whole minutes) for the groups named, reading
   * what is new or due; intervalMs is how often this is called (it sizes the refresh slice).
   */
  async function sync(needs: Array<{ source: MinuteSource; from: number; to: number; groups: string[] }>, intervalMs: number): Promise<void> {
    const merged = new Map<string, { source: MinuteSource; from: number; to: number; groups: Set<string> }>();
    for (const need of needs) {
      const key = sourceKey(need.source);
      const m = merged.get(key);
      if (!m) merged.set(key, { ...need, groups: new Set(need.groups) });
      else {
        m.from = Math.min(m.from, need.from);
        m.to = Math.max(m.to, need.to);
        for (const g of need.groups) m.groups.add(g);
      }
    }
    for (const key of held.keys()) if (!merged.has(key)) held.delete(key);
    // sources read whole (new ones, or after a pause) are read together with the others of their
    // shape, once over all their minutes: a rule's fields and other rules' of the same cut share the rows
    const whole = new Map<string, Array<{ key: string; made: Held; groups: Set<string> }>>();
    // the others read their recent minutes and a refresh slice, also together per cut
    const recent = new Map<string, Array<{ h: Held; intervals: Array<[number, number]>; groups: Set<string>; moved: Pick<Held, 'from' | 'to' | 'cursor' | 'settledCursor'> }>>();
    const due: Array<Promise<void>> = [];
    for (const [key, need] of merged) {
      const span = (need.to - need.from) / MINUTE;
      const h = held.get(key);
      const fresh = !h
        || need.from < Math.max(h.from, need.to - h.capacity * MINUTE) // further back than held
        || need.to - h.to > (h.capacity * MINUTE) / 2 // a long pause
        || [...need.groups].some((g) => !h!.groups.has(g)); // a group not held
      if (!h || fresh) {
        const made: Held = { source: need.source, from: need.from, to: need.to, capacity: Math.ceil(span * 1.25) + RECENT_MINUTES * 2, groups: new Map(), cursor: need.from, settledCursor: need.from };
        const shape = shapeKey(need.source);
        const list = whole.get(shape) ?? [];
        list.push({ key, made, groups: need.groups });
        whole.set(shape, list);
        continue;
      }
      // what is held changes only once its minutes are read (a failed read leaves it as it was)
      const from = Math.max(h.from, need.to - h.capacity * MINUTE);
      const recentFrom = Math.max(from, Math.min(h.to, need.to - RECENT_MINUTES * MINUTE));
      const intervals: Array<[number, number]> = [[recentFrom, need.to]];
      // a slice of the older minutes late events can reach, and one of the settled minutes before
      // them, each cursor going round its part once in its period
      const settledTo = Math.min(recentFrom, Math.max(from, Math.floor((need.to - changeableMs) / MINUTE) * MINUTE));
      const slice = (cursor: number, partFrom: number, partTo: number, periodMs: number): number => {
        const minutes = (partTo - partFrom) / MINUTE;
        if (minutes <= 0) return cursor;
        const size = Math.min(minutes, Math.ceil((minutes * intervalMs) / periodMs));
        if (cursor < partFrom || cursor >= partTo) cursor = partFrom;
        const sliceTo = Math.min(partTo, cursor + size * MINUTE);
        intervals.push([cursor, sliceTo]);
        return sliceTo;
      };
      const cursor = slice(h.cursor, settledTo, recentFrom, REFRESH_MS);
      const settledCursor = slice(h.settledCursor, from, settledTo, SETTLED_REFRESH_MS);
      const list = recent.get(shapeKey(need.source)) ?? [];
      list.push({ h, intervals, groups: need.groups, moved: { from, to: need.to, cursor, settledCursor } });
      recent.set(shapeKey(need.source), list);
    }
    for (const list of recent.values()) {
      due.push(readInto(disjoint(list.flatMap((t) => t.intervals)), list).then(() => {
        for (const { h, moved } of list) Object.assign(h, moved);
      }));
    }
    for (const list of whole.values()) {
      const from = Math.min(...list.map(({ made }) => made.from));
      const to = Math.max(...list.map(({ made }) => made.to));
      due.push(readInto([[from, to]], list.map(({ made, groups }) => ({ h: made, intervals: [[made.from, made.to]], groups }))).then(() => {
        for (const { key, made } of list) held.set(key, made);
      }));
    }
    await Promise.all(due);
  }

  /** Sums of one source's field for one group over [from, to) (whole minutes held), money in currency, and the version they are of. */
  function summer(source: MinuteSource, group: string): { version: number; sum: (from: number, to: number) => number } {
    const h = held.get(sourceKey(source));
    const g = h?.groups.get(group);
    if (!h || !g) return { version: -1, sum: () => 0 };
    const { capacity } = h;
    const { ring } = g;
    const scale = MONEY_FIELDS.has(source.field) ? moneyScale : 1;
    return {
      version: g.version,
      sum: (from, to) => {
        let total = 0;
        const last = Math.min(to, h.to) / MINUTE;
        for (let m = Math.max(from, h.from) / MINUTE; m < last; m++) total += ring[m % capacity]!;
        return total / scale;
      },
    };
  }

  return { sync, summer };
}
