// Replay: a view's frame as of a past instant, rebuilt from the rollups — the same shape the live
// wall receives, so every panel draws it unchanged. Values are as known now (late events
// included); with none, they equal what the live frame showed then. The instant's 10 s bucket
// counts whole, as the live frame's current bucket did. Sums are summed by PostgreSQL (exact
// numerics), once per figure shown, as the hot windows are.
import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { BUCKET_MS, DAY, HOUR, MINUTE, floorTo, liveWindowRange } from '../../stream/buckets.js';
import { newUsersToday } from '../../stream/db/first-seen.js';
import { SUMS_AS_TEXT, dimensionConditions, rowsOverRange, sumsOfRow, sumsOverRange, type QueryContext } from '../../stream/db/queries.js';
import { EMPTY_SUMS, deriveMetrics } from '../../stream/derive.js';
import { LIVE_WINDOWS, SUM_FIELDS, type FlowPoint, type FlowValues, type LiveResponse, type MetricValues, type ScreenFrame, type Scope, type SumField, type Sums } from '../../stream/types.js';
import { CHANNEL_TREND_POINTS, TREND_POINTS } from '../push/view-read.js';
import type { ViewPlan } from '../push/view-plan.js';

type SumsRow = Record<SumField, string | null>;

const flow = (sums: Sums, storeScope: boolean): FlowValues => {
  const { uniqueUsers: _none, ...rest } = deriveMetrics(sums, 0, storeScope);
  return rest;
};

/** The view's frame at `at` (epoch ms, no later than now). */
export async function replayFrame(pool: Pool, cfg: AppConfig, plan: ViewPlan, at: number, ctx: QueryContext): Promise<ScreenFrame> {
  const end = floorTo(at, BUCKET_MS) + BUCKET_MS;
  const todayFrom = floorTo(at, DAY, cfg.dayOffsetMs);
  const filter: Scope = { region: plan.scope.store ? undefined : plan.scope.region, store: plan.scope.store, channel: plan.scope.channel };
  const viewIsStore = plan.level === 'store';

  const [today, lastHour, yesterday, day, users, newUsers] = await Promise.all([
    todayByPart(pool, { from: todayFrom, to: end, filter }, ctx),
    lastHourRows(pool, end, filter),
    sumsOverRange(pool, { from: todayFrom - DAY, to: end - DAY, filter }, ctx),
    sumsOverRange(pool, { from: end - DAY, to: end, filter }, ctx),
    uniqueUsers(pool, end, todayFrom, filter),
    newUsersToday(pool, { todayFrom, to: at, filter }, ctx.places),
  ]);

  const windowSums: Record<string, Sums> = { ...lastHour.windows, '24h': day };
  const windows = Object.fromEntries(LIVE_WINDOWS.map((w) => {
    const range = liveWindowRange(w, at);
    return [w, { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), ...deriveMetrics(windowSums[w] ?? EMPTY_SUMS, users[w] ?? 0, viewIsStore) }];
  })) as LiveResponse['windows'];

  const trendStarts = Array.from({ length: TREND_POINTS }, (_, i) => end - (TREND_POINTS - i) * BUCKET_MS);
  const minuteEnd = floorTo(at, MINUTE) + MINUTE;
  const minuteStarts = Array.from({ length: CHANNEL_TREND_POINTS }, (_, i) => minuteEnd - (CHANNEL_TREND_POINTS - i) * MINUTE);
  const point = (t: number, sums: Sums | undefined, storeScope: boolean): FlowPoint => ({ t: new Date(t).toISOString(), ...flow(sums ?? EMPTY_SUMS, storeScope) });
  const childIsStore = plan.level !== 'nation';
  const todayValues: MetricValues = deriveMetrics(today.total, users.today ?? 0, viewIsStore);

  return {
    viewKey: plan.viewKey,
    level: plan.level,
    scope: plan.scope,
    path: plan.path,
    asOf: new Date(at).toISOString(),
    partial: false,
    windows,
    today: { from: new Date(todayFrom).toISOString(), to: new Date(end).toISOString(), values: todayValues, yesterday, newUsers },
    trend: trendStarts.map((t) => point(t, lastHour.buckets.get(t), viewIsStore)),
    channels: plan.channels.map(({ key: _key, ...channel }) => ({
      ...channel,
      today: flow(today.byChannel.get(channel.id) ?? EMPTY_SUMS, viewIsStore),
      trend: minuteStarts.map((t) => point(t, lastHour.minutes.get(`${t}|${channel.id}`), viewIsStore)),
    })),
    children: plan.children.map((child) => ({ ...child.node, today: flow((childIsStore ? today.byStore : today.byRegion).get(child.node.id) ?? EMPTY_SUMS, childIsStore) })),
    stores: plan.stores.map((store) => ({ ...store.node, today: flow(today.byStore.get(store.node.id) ?? EMPTY_SUMS, true) })),
    ...(plan.provinces && { provinces: plan.provinces }),
  };
}

/** Today's sums up to the instant: in all, per channel, per region, per store (one read, grouping sets). */
async function todayByPart(pool: Pool, range: { from: number; to: number; filter: Scope }, ctx: QueryContext) {
  const params: unknown[] = [];
  const rows = rowsOverRange(range, ctx, params, (p) => dimensionConditions(range.filter, p));
  const { rows: found } = await pool.query<SumsRow & { channel: string | null; region: string | null; store: string | null; g: number }>(
    `SELECT channel, region, store, GROUPING(channel, region, store) AS g, ${SUMS_AS_TEXT} FROM ${rows}
     GROUP BY GROUPING SETS ((), (channel), (region), (store))`,
    params,
  );
  const result = { total: EMPTY_SUMS as Sums, byChannel: new Map<string, Sums>(), byRegion: new Map<string, Sums>(), byStore: new Map<string, Sums>() };
  for (const row of found) {
    const sums = sumsOfRow(row);
    if (row.g === 7) result.total = sums;
    else if (row.g === 3) result.byChannel.set(row.channel!, sums);
    else if (row.g === 5) result.byRegion.set(row.region!, sums);
    else if (row.g === 6) result.byStore.set(row.store!, sums);
  }
  return result;
}

/** The hour before the instant from the 10 s rollup: per bucket, per minute and channel, and the 1 m…1 h windows. */
async function lastHourRows(pool: Pool, end: number, filter: Scope) {
  const params: unknown[] = [new Date(end - HOUR).toISOString(), new Date(end).toISOString()];
  const where = ['bucket >= $1', 'bucket < $2', ...dimensionConditions(filter, params)].join(' AND ');
  const { rows: found } = await pool.query<SumsRow & { bucket: Date | null; minute: Date | null; channel: string | null; g: number }>(
    `SELECT bucket, minute, channel, GROUPING(bucket, minute, channel) AS g, ${SUMS_AS_TEXT}
     FROM (SELECT *, date_bin('1 minute', bucket, 'epoch'::timestamptz) AS minute FROM rollup_10s WHERE ${where}) AS hour
     GROUP BY GROUPING SETS ((bucket), (minute, channel))`,
    params,
  );
  const buckets = new Map<number, Sums>();
  const minutes = new Map<string, Sums>();
  for (const row of found) {
    if (row.g === 3) buckets.set(row.bucket!.getTime(), sumsOfRow(row));
    else minutes.set(`${row.minute!.getTime()}|${row.channel}`, sumsOfRow(row));
  }
  // the windows: exact sums of their buckets, in one more statement
  const windowParams: unknown[] = [...params];
  const cuts = (['1m', '5m', '15m', '1h'] as const).map((w) => {
    windowParams.push(new Date(liveWindowRange(w, end - BUCKET_MS).from).toISOString());
    return [w, `$${windowParams.length}`] as const;
  });
  const columns = cuts.flatMap(([w, from]) => SUM_FIELDS.map((f) => `sum(${f}) FILTER (WHERE bucket >= ${from})::text AS "${w}_${f}"`));
  const { rows: [sumsRow] } = await pool.query<Record<string, string | null>>(`SELECT ${columns.join(', ')} FROM rollup_10s WHERE ${where}`, windowParams);
  const windows = Object.fromEntries(cuts.map(([w]) => [w, sumsOfRow(Object.fromEntries(SUM_FIELDS.map((f) => [f, sumsRow![`${w}_${f}`] ?? null])) as SumsRow)]));
  return { buckets, minutes, windows };
}

/** Unique users of each window and of today, exact from the raw events (the live wall's are HyperLogLog estimates). */
async function uniqueUsers(pool: Pool, end: number, todayFrom: number, filter: Scope): Promise<Record<string, number>> {
  const params: unknown[] = [new Date(Math.min(todayFrom, end - DAY)).toISOString(), new Date(end).toISOString()];
  const where = ['ts >= $1', 'ts < $2', 'user_id IS NOT NULL', ...dimensionConditions(filter, params)].join(' AND ');
  const cuts: Array<[string, number]> = [...LIVE_WINDOWS.map((w) => [w, liveWindowRange(w, end - BUCKET_MS).from] as [string, number]), ['today', todayFrom]];
  const columns = cuts.map(([name, from]) => {
    params.push(new Date(from).toISOString());
    return `count(DISTINCT user_id) FILTER (WHERE ts >= $${params.length})::int AS "${name}"`;
  });
  const { rows: [row] } = await pool.query<Record<string, number>>(`SELECT ${columns.join(', ')} FROM events WHERE ${where}`, params);
  return row ?? {};
}
