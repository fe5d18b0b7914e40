import type { Pool } from 'pg';
import { STEP_MS, ceilTo, floorTo } from '../buckets.js';
import { EMPTY_SUMS, metricPoint, pickedPoint } from '../derive.js';
import type { AppConfig } from '../../config/load.js';
import { narrowRollupFor, rowIsPoint } from './narrow-rollups.js';
import { SUMMED, SUM_COLUMNS, sumsAsText } from './columns.js';
import { newUsersRows, placesOf, type Places } from './first-seen.js';
import type { Storage } from './migrate.js';
import { readFromCurrentHours } from './touched.js';
import { sketchKindFor, type SketchDim } from './user-sketches.js';
import { UserSketch } from '../user-sketch.js';
import { SUM_FIELDS, type GroupBy, type MetricPoint, type MetricsResponse, type PickedPoint, type PointField, type Scope, type Step, type SumField, type Sums } from '../types.js';

export interface MetricsQuery {
  from: number;
  to: number;
  step: Step;
  groupBy?: GroupBy;
  filter: Scope;
  /** when set (a manager), only these regions are read */
  regionsAllowed?: string[];
  /** grouped: groups with a series of their own, the rest summed as "other" (default and at most MAX_GROUPS) */
  groupLimit?: number;
}

/** the fields read from the rollups' sums: the sums themselves and the ratios derived from them */
const FROM_SUMS: ReadonlySet<PointField> = new Set<PointField>([...SUM_FIELDS, 'ctr', 'cvr', 'roi', 'cac']);

export const MAX_POINTS_PER_SERIES = 10_000;

const COARSE_TABLE: Partial<Record<Step, string>> = { '1h': 'rollup_1h', '1d': 'rollup_1d' };

export interface QueryContext {
  storage: Storage;
  dayOffsetMs: number;
  places: Places;
  /** how many channels, regions and stores the configuration has (ingest refuses others) */
  configured: Record<'channel' | 'region' | 'store', number>;
}

export const queryContextOf = (cfg: AppConfig, storage: Storage): QueryContext =>
  ({
    storage, dayOffsetMs: cfg.dayOffsetMs, places: placesOf(cfg),
    configured: { channel: cfg.channels.length, region: cfg.regions.length, store: cfg.storeById.size },
  });

/**
 * The rows a query reads, as a subquery over (bucket, dims, sums). A cut a narrow rollup holds
 * (`narrow`, see narrowRollupFor) reads it, on both paths. Otherwise fine steps read the 10 s
 * rollup. 1 h / 1 d read their rollup tables on plain PostgreSQL. On TimescaleDB they read the
 * continuous aggregates except where an event landed since their last refresh (touched_hours,
 * touched_days: written with the event, cleared once a refresh covered it — see
 * refreshTouched): those hours come from the 10 s rollup — the hour in progress from the sums the
 * batches keep of it (current_hours) — a touched day from its hours. So late events show at once,
 * and a query re-aggregates only the few past hours still waiting for their refresh.
 */
export function sourceRows(step: Step, storage: Storage, narrow?: string): string {
  if (narrow) return narrow;
  const table = COARSE_TABLE[step];
  if (!table) return 'rollup_10s';
  if (storage === 'postgres') return table;
  const dims = 'channel, region, store, campaign';
  // driven by the marks (a handful of rows), each reaching its own range through the indexes:
  // a join would let the planner scan a whole aggregate when it misjudges the marks
  const hourFromTenSeconds = (mark: string) => `CROSS JOIN LATERAL (SELECT ${dims}, ${SUMMED} FROM rollup_10s r
             WHERE r.bucket >= ${mark}.bucket AND r.bucket < ${mark}.bucket + INTERVAL '1 hour' GROUP BY ${dims}) AS r
           WHERE NOT ${readFromCurrentHours(`${mark}.bucket`)}`;
  // the hour in progress, summed by the batches as they wrote it (touched.ts)
  const hourInProgress = (mark: string) => `JOIN current_hours h ON h.bucket = ${mark}.bucket
           WHERE ${readFromCurrentHours(`${mark}.bucket`)}`;
  if (step === '1h') {
    return `(SELECT bucket, ${dims}, ${SUM_COLUMNS} FROM rollup_1h c WHERE NOT EXISTS (SELECT 1 FROM touched_hours t WHERE t.bucket = c.bucket)
             UNION ALL
             SELECT t.bucket, r.* FROM touched_hours t ${hourFromTenSeconds('t')}
             UNION ALL
             SELECT t.bucket, ${prefixed('h', dims)}, ${prefixed('h', SUM_COLUMNS)} FROM touched_hours t ${hourInProgress('t')}) AS coarse`;
  }
  return `(SELECT bucket, ${dims}, ${SUM_COLUMNS} FROM rollup_1d c WHERE NOT EXISTS (SELECT 1 FROM touched_days t WHERE t.bucket = c.bucket)
           UNION ALL
           SELECT d.bucket, h.* FROM touched_days d CROSS JOIN LATERAL (SELECT ${dims}, ${SUMMED} FROM rollup_1h h
             WHERE h.bucket >= d.bucket AND h.bucket < d.bucket + INTERVAL '1 day' AND NOT EXISTS (SELECT 1 FROM touched_hours t WHERE t.bucket = h.bucket)
             GROUP BY ${dims}) AS h
           UNION ALL
           SELECT d.bucket, r.* FROM touched_days d JOIN touched_hours t ON t.bucket >= d.bucket AND t.bucket < d.bucket + INTERVAL '1 day'
             ${hourFromTenSeconds('t')}
           UNION ALL
           SELECT d.bucket, ${prefixed('h', dims)}, ${prefixed('h', SUM_COLUMNS)} FROM touched_days d JOIN touched_hours t ON t.bucket >= d.bucket AND t.bucket < d.bucket + INTERVAL '1 day'
             ${hourInProgress('t')}) AS coarse`;
}

/** `a, b` → `h.a, h.b` */
const prefixed = (alias: string, columns: string) => columns.split(', ').map((c) => `${alias}.${c}`).join(', ');

const DIMENSIONS: Array<keyof Scope & SketchDim> = ['region', 'store', 'channel', 'campaign'];

/** `dim = $n` for each dimension the filter names, its value pushed onto `params`. */
export function dimensionConditions(filter: Scope, params: unknown[]): string[] {
  return DIMENSIONS.flatMap((dim) => {
    const value = filter[dim];
    if (value === undefined) return [];
    params.push(value);
    return [`${dim} = $${params.length}`];
  });
}

/** Bucket range of a query after alignment to its step. */
export function alignedRange(query: Pick<MetricsQuery, 'from' | 'to' | 'step'>, dayOffsetMs: number): { from: number; to: number } {
  const stepMs = STEP_MS[query.step];
  return { from: floorTo(query.from, stepMs, dayOffsetMs), to: ceilTo(query.to, stepMs, dayOffsetMs) };
}

function whereClause(query: MetricsQuery, timeColumn: string, params: unknown[]): string {
  const conditions = [`${timeColumn} >= $1`, `${timeColumn} < $2`];
  conditions.push(...dimensionConditions(query.filter, params));
  if (query.regionsAllowed) {
    params.push(query.regionsAllowed);
    conditions.push(`region = ANY($${params.length}::text[])`);
  }
  return conditions.join(' AND ');
}

/**
 * A bucket's start as epoch milliseconds (int8 text): parsing timestamptz rows was the answer's
 * largest cost after JSON. Grouped queries still group by the date_bin timestamptz and convert
 * only the groups: converting every row before grouping cost PostgreSQL a quarter more.
 */
const msOf = (expr: string) => `(extract(epoch FROM ${expr}) * 1000)::int8`;

/** Adds the stride and origin to a query's params; answers the bucket start of a time column in them. */
function bucketsIn(params: unknown[], stride: string, origin: string): (column: string) => string {
  params.push(stride, origin);
  const [strideAt, originAt] = [params.length - 1, params.length];
  return (column) => `date_bin($${strideAt}::interval, ${column}, $${originAt}::timestamptz)`;
}

interface Row {
  /** bucket start, epoch ms (see msOf) */
  t: string;
  g: string | null;
  other: boolean;
}

/** Series × points in one answer: a caller chooses both (groups come from producers' campaign ids). */
export const MAX_SERIES_POINTS = 20_000;
/** Groups shown at most in one answer; the rest are summed into one "other" series. */
export const MAX_GROUPS = 1000;

/** How many groups fit beside the "other" series at this many points per series (≥ 1 up to MAX_POINTS_PER_SERIES). */
export const groupsThatFit = (points: number) => Math.min(MAX_GROUPS, Math.floor(MAX_SERIES_POINTS / points) - 1);

/**
 * The `limit` groups with the most activity in the range (revenue, then conversions, visits,
 * exposure, spend; '' = events without that dimension), and how many groups there are in all.
 */
async function topGroups(pool: Pool, query: MetricsQuery, group: GroupBy, limit: number, from: number, to: number, ctx: QueryContext) {
  const params: unknown[] = [new Date(from).toISOString(), new Date(to).toISOString()];
  const where = whereClause(query, 'bucket', params);
  const source = sourceRows(query.step, ctx.storage, narrowRollupFor(query.step, query.filter, group, query.regionsAllowed)?.table);
  params.push(limit);
  const { rows } = await pool.query<{ g: string; total: number }>(
    `SELECT g, count(*) OVER ()::int AS total FROM (
       SELECT ${group} AS g, sum(revenue) AS r, sum(conversions) AS c, sum(visits) AS v, sum(exposure) AS e, sum(spend) AS s
       FROM ${source} WHERE ${where} GROUP BY 1) ranked
     ORDER BY r DESC, c DESC, v DESC, e DESC, s DESC, g LIMIT $${params.length}`,
    params,
  );
  return { keys: rows.map((r) => r.g), total: rows[0]?.total ?? 0 };
}

/**
 * g: the group's key; other: whether the row falls in "other"; by: what the sums group by beside
 * the bucket — the column itself where no row falls in "other" (its statistics let PostgreSQL
 * hash the groups: ~20 % faster on a week of hours by channel than sorting on NULLIF(…)).
 */
type Grouping = (column: string, params: unknown[]) => { g: string; other: string; by: string };

/**
 * Unique users per bucket (and group). Hourly and daily points read the sketches (one per point
 * where the cut matches; merged where the query spans several, e.g. a manager's regions or
 * "other"): exact up to 2 048 customers, ±0.81 % (standard error) above. Finer steps, and
 * campaigns combined with other dimensions, count distinct customers in the raw events.
 */
async function uniqueUsersRows(pool: Pool, query: MetricsQuery, span: { from: number; to: number; stride: string; origin: string }, grouping: Grouping): Promise<Array<Row & { n: number }>> {
  const fixed = new Set<SketchDim>(DIMENSIONS.filter((d) => query.filter[d] !== undefined));
  if (query.groupBy) fixed.add(query.groupBy);
  if (query.regionsAllowed) fixed.add('region');
  const kind = query.step === '1h' || query.step === '1d' ? sketchKindFor(fixed) : null;
  const params: unknown[] = [new Date(span.from).toISOString(), new Date(span.to).toISOString()];
  if (kind !== null) {
    const where = whereClause(query, 'bucket', params);
    params.push(query.step, kind);
    const key = `step = $${params.length - 1} AND kind = $${params.length}`;
    const deltaKey = `step = '1h' AND kind = $${params.length}`;
    const deltaBucket = query.step === '1d' ? `date_bin('1 day', bucket, '${span.origin}'::timestamptz)` : 'bucket';
    const group = grouping(query.groupBy ?? "''", params);
    const { rows } = await pool.query<Row & { users: string | null; sketch: Buffer | null }>(
      // a point read from one sketch takes its stored count; only the parts of points merging
      // several bring their bytes (one row each: PostgreSQL's bytea arrays parse slowly here)
      `SELECT ${msOf('t')} AS t, g, other, CASE WHEN parts = 1 THEN users::text END AS users, CASE WHEN parts > 1 THEN sketch END AS sketch
       FROM (SELECT bucket AS t, ${group.g} AS g, ${group.other} AS other, users, sketch,
                    count(*) OVER (PARTITION BY bucket, ${group.g}, ${group.other}) + count(*) FILTER (WHERE users IS NULL) OVER (PARTITION BY bucket, ${group.g}, ${group.other}) AS parts
             FROM (SELECT bucket, channel, region, store, campaign, users, sketch FROM user_sketches WHERE ${key} AND ${where}
                   UNION ALL
                   SELECT ${deltaBucket}, channel, region, store, campaign, NULL, delta FROM user_sketch_deltas WHERE ${deltaKey} AND ${where}) AS s) AS counted`,
      params,
    );
    const points = new Map<string, Row & { n: number; merged?: UserSketch }>();
    for (const row of rows) {
      const id = `${row.t}|${row.other}|${JSON.stringify(row.g)}`;
      let point = points.get(id);
      if (!point) points.set(id, (point = { t: row.t, g: row.g, other: row.other, n: 0 }));
      if (row.users !== null) point.n = Number(row.users);
      else (point.merged ??= new UserSketch()).merge(UserSketch.decode(row.sketch!));
    }
    return [...points.values()].map(({ merged, ...point }) => ({ ...point, n: merged ? merged.estimate() : point.n }));
  }
  const where = whereClause(query, 'ts', params);
  const bin = bucketsIn(params, span.stride, span.origin)('ts');
  const group = grouping(query.groupBy ? `coalesce(${query.groupBy}, '')` : "''", params);
  const { rows } = await pool.query<Row & { n: string }>(
    `SELECT ${msOf(bin)} AS t, ${group.g} AS g, ${group.other} AS other, count(DISTINCT user_id)::text AS n
     FROM events WHERE ${where} AND user_id IS NOT NULL GROUP BY ${bin}, 2, 3`,
    params,
  );
  return rows.map((row) => ({ ...row, n: Number(row.n) }));
}

/**
 * Sums per bucket (and group) from the rollups, exact; unique users from the sketches (hourly and
 * daily points) or counted from the raw events (see uniqueUsersRows). Buckets without data are
 * returned as zeros so series are dense. Grouped, only the `groupLimit` most active groups get a
 * series of their own; the rest are summed into one series marked `other` (the answer's `groups`
 * says how many there were).
 */
export function queryMetrics(pool: Pool, query: MetricsQuery, ctx: QueryContext): Promise<MetricsResponse> {
  return readMetrics(pool, query, ctx, null, false) as Promise<MetricsResponse>;
}

/** queryMetrics answering only `fields` (each point its time and those): a statement none of them needs is not run. */
export function queryMetricFields(pool: Pool, query: MetricsQuery, fields: readonly PointField[], ctx: QueryContext): Promise<MetricsResponse<PickedPoint>> {
  return readMetrics(pool, query, ctx, fields, false);
}

async function readMetrics(pool: Pool, query: MetricsQuery, ctx: QueryContext, fields: readonly PointField[] | null, rankGroups: boolean): Promise<MetricsResponse<MetricPoint | PickedPoint>> {
  const { dayOffsetMs } = ctx;
  const stepMs = STEP_MS[query.step];
  const { from, to } = alignedRange(query, dayOffsetMs);
  const origin = new Date(query.step === '1d' ? -dayOffsetMs : 0).toISOString();
  const stride = `${stepMs / 1000} seconds`;
  const group = query.groupBy ?? null;
  const limit = Math.min(query.groupLimit ?? MAX_GROUPS, MAX_GROUPS);
  // channels, regions and stores come from the configuration: when they all fit (and "none"),
  // there is nothing to rank — unless stored data holds more (a store since removed)
  const fits = group !== null && group !== 'campaign' && ctx.configured[group] + 1 <= limit;
  const top = group && (rankGroups || !fits) ? await topGroups(pool, query, group, limit, from, to, ctx) : null;
  const withOther = top !== null && top.total > top.keys.length;

  /** the group column of a row source, and whether the row falls in "other" */
  const grouping: Grouping = (column, params) => {
    if (!group) return { g: 'NULL', other: 'false', by: '' };
    if (!withOther) return { g: `NULLIF(${column}, '')`, other: 'false', by: `, ${column}` };
    params.push(top.keys);
    const isOther = `NOT (${column} = ANY($${params.length}::text[]))`;
    return { g: `CASE WHEN ${isOther} THEN NULL ELSE NULLIF(${column}, '') END`, other: isOther, by: ', 2, 3' };
  };

  const sumParams: unknown[] = [new Date(from).toISOString(), new Date(to).toISOString()];
  const sumWhere = whereClause(query, 'bucket', sumParams);
  const narrow = narrowRollupFor(query.step, query.filter, group, query.regionsAllowed);
  const source = sourceRows(query.step, ctx.storage, narrow?.table);
  // where each row is one point, it is read as it is: summing ~1 row a group cost a week of hours
  // by channel ~9 ms in hashing
  const asPoints = narrow !== null && !withOther && rowIsPoint(narrow, query.step, query.filter, group);
  const sumBin = asPoints ? 'bucket' : bucketsIn(sumParams, stride, origin)('bucket');
  const sumGroup = grouping(group ?? "''", sumParams);
  const wanted = (field: PointField) => !fields || fields.includes(field);
  // sums, unique users and new users are read at once, each on a connection of its own; each
  // only where a field asked for needs it
  const sumsRead = !fields || fields.some((f) => FROM_SUMS.has(f))
    ? pool.query<Row & Record<string, string>>(
      `SELECT ${msOf(sumBin)} AS t, ${sumGroup.g} AS g, ${sumGroup.other} AS other, ${sumsAsText(!asPoints)}
       FROM ${source} WHERE ${sumWhere}${asPoints ? '' : ` GROUP BY ${sumBin}${sumGroup.by}`}`,
      sumParams,
    ).then((r) => r.rows)
    : Promise.resolve([]);
  const usersRead = wanted('uniqueUsers') ? uniqueUsersRows(pool, query, { from, to, stride, origin }, grouping) : Promise.resolve([]);
  const newParams: unknown[] = [new Date(from).toISOString(), new Date(to).toISOString()];
  const ledger = newUsersRows(query, ctx.places, newParams);
  let freshRead: Promise<Array<Row & { n: string }>> = Promise.resolve([]);
  if (ledger && wanted('newUsers')) {
    const bin = bucketsIn(newParams, stride, origin);
    const newGroup = grouping(ledger.groupColumn ?? "''", newParams);
    const conditions = ledger.conditions.join(' AND ');
    // hourly and daily points read the ledger's counts; finer ones its rows
    freshRead = pool.query<Row & { n: string }>(
      stepMs >= STEP_MS['1h']
        ? `SELECT ${msOf(bin('bucket'))} AS t, ${newGroup.g} AS g, ${newGroup.other} AS other, sum(n)::text AS n FROM ${query.step === '1d' ? 'new_users_daily' : 'new_users_hourly'}
           WHERE bucket >= $1 AND bucket < $2 AND ${conditions} GROUP BY ${bin('bucket')}, 2, 3`
        : `SELECT ${msOf(bin('first_ts'))} AS t, ${newGroup.g} AS g, ${newGroup.other} AS other, count(*)::text AS n FROM first_seen
           WHERE first_ts >= $1 AND first_ts < $2 AND ${conditions} GROUP BY ${bin('first_ts')}, 2, 3`,
      newParams,
    ).then((r) => r.rows);
  }
  // all three settle before one's error is thrown: no rejection is left unhandled
  const settled = await Promise.allSettled([sumsRead, usersRead, freshRead]);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  const [sums, users, fresh] = settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as
    [Awaited<typeof sumsRead>, Awaited<typeof usersRead>, Awaited<typeof freshRead>];

  const OTHER = '\u0000other';
  const seriesByGroup = new Map<string | null, Map<number, { sums: Sums; users: number; newUsers: number }>>();
  const cell = (row: Row) => {
    const g = row.other ? OTHER : row.g;
    const t = Number(row.t);
    let series = seriesByGroup.get(g);
    if (!series) seriesByGroup.set(g, (series = new Map()));
    let point = series.get(t);
    if (!point) series.set(t, (point = { sums: { exposure: 0, clicks: 0, visits: 0, conversions: 0, revenue: 0, spend: 0 }, users: 0, newUsers: 0 }));
    return point;
  };
  for (const row of sums) {
    cell(row).sums = {
      exposure: Number(row.exposure), clicks: Number(row.clicks), visits: Number(row.visits),
      conversions: Number(row.conversions), revenue: Number(row.revenue), spend: Number(row.spend),
    };
  }
  for (const row of users) cell(row).users = row.n;
  for (const row of fresh) cell(row).newUsers = Number(row.n);
  if (!seriesByGroup.size && !group) seriesByGroup.set(null, new Map());

  const storeScope = query.filter.store !== undefined || group === 'store';
  // every series has the same buckets: their times are written once
  const times: string[] = [];
  for (let t = from; t < to; t += stepMs) times.push(new Date(t).toISOString());
  const series: MetricsResponse<MetricPoint | PickedPoint>['series'] = [...seriesByGroup.entries()]
    .sort(([a], [b]) => (a === OTHER ? 1 : b === OTHER ? -1 : String(a ?? '').localeCompare(String(b ?? ''))))
    .map(([g, points]) => {
      const dense: Array<MetricPoint | PickedPoint> = [];
      for (let i = 0; i < times.length; i++) {
        const point = points.get(from + i * stepMs);
        const newUsers = ledger ? point?.newUsers ?? 0 : null;
        dense.push(fields
          ? pickedPoint(fields, times[i]!, point?.sums ?? EMPTY_SUMS, point?.users ?? 0, storeScope, newUsers)
          : metricPoint(times[i]!, point?.sums ?? EMPTY_SUMS, point?.users ?? 0, storeScope, newUsers));
      }
      if (g === OTHER) return { key: {}, other: true, points: dense };
      return { key: group ? { [group]: g } : {}, points: dense };
    });
  const response: MetricsResponse<MetricPoint | PickedPoint> = { step: query.step, from: new Date(from).toISOString(), to: new Date(to).toISOString(), series };
  if (top) response.groups = { total: top.total, shown: top.keys.length, limit };
  else if (group) {
    if (series.length > limit) return readMetrics(pool, query, ctx, fields, true);
    response.groups = { total: series.length, shown: series.length, limit };
  }
  return response;
}

/**
 * The rollup rows of [from, to) (multiples of 10 s) as a subquery over (dims, sums): whole hours
 * from the hourly rollup, the ragged ends from the 10 s rollup, filtered by `conditions` over
 * `params` (which this extends).
 */
export function rowsOverRange(range: { from: number; to: number }, ctx: QueryContext, params: unknown[], conditions: (params: unknown[]) => string[]): string {
  const hourFrom = Math.min(ceilTo(range.from, STEP_MS['1h']), range.to);
  const hourTo = Math.max(floorTo(range.to, STEP_MS['1h']), hourFrom);
  const at = params.length;
  params.push(...[range.from, hourFrom, hourTo, range.to].map((ms) => new Date(ms).toISOString()));
  const [from, hourStart, hourEnd, to] = [1, 2, 3, 4].map((i) => `$${at + i}`);
  const dimWhere = conditions(params).map((c) => ` AND ${c}`).join('');
  const hourly = sourceRows('1h', ctx.storage);
  const columns = `channel, region, store, campaign, ${SUM_COLUMNS}`;
  return `(SELECT ${columns} FROM ${hourly} WHERE bucket >= ${hourStart} AND bucket < ${hourEnd}${dimWhere}
           UNION ALL
           SELECT ${columns} FROM rollup_10s
           WHERE ((bucket >= ${from} AND bucket < ${hourStart}) OR (bucket >= ${hourEnd} AND bucket < ${to}))${dimWhere}) AS parts`;
}

export const SUMS_AS_TEXT = sumsAsText(true);

export const sumsOfRow = (row: Record<SumField, string | null>): Sums => ({
  exposure: Number(row.exposure ?? 0), clicks: Number(row.clicks ?? 0), visits: Number(row.visits ?? 0),
  conversions: Number(row.conversions ?? 0), revenue: Number(row.revenue ?? 0), spend: Number(row.spend ?? 0),
});

/** Exact sums of one scope over [from, to) (multiples of 10 s). Used for "the same span yesterday". */
export async function sumsOverRange(pool: Pool, range: { from: number; to: number; filter: Scope }, ctx: QueryContext): Promise<Sums> {
  const params: unknown[] = [];
  const rows = rowsOverRange(range, ctx, params, (p) => dimensionConditions(range.filter, p));
  const { rows: [row] } = await pool.query<Record<SumField, string | null>>(`SELECT ${SUMS_AS_TEXT} FROM ${rows}`, params);
  return sumsOfRow(row!);
}

export interface GroupedSums {
  channel: string;
  region: string;
  store: string;
  campaign: string;
  sums: Sums;
}

/**
 * Exact sums over [from, to) per combination of the four dimensions ('' = none), for a scope
 * (and a manager's regions). At most `limit` combinations: past it (producers may send any
 * number of campaigns) the answer is null, and the caller may ask again with `foldCampaigns`.
 */
export async function groupedSumsOverRange(
  pool: Pool,
  range: { from: number; to: number; filter: Scope; regionsAllowed?: string[] },
  ctx: QueryContext,
  opts: { limit: number; foldCampaigns?: boolean },
): Promise<GroupedSums[] | null> {
  const params: unknown[] = [];
  const rows = rowsOverRange(range, ctx, params, (p) => {
    const conditions = dimensionConditions(range.filter, p);
    if (range.regionsAllowed) {
      p.push(range.regionsAllowed);
      conditions.push(`region = ANY($${p.length}::text[])`);
    }
    return conditions;
  });
  const campaign = opts.foldCampaigns ? "''" : 'campaign';
  params.push(opts.limit + 1);
  const { rows: found } = await pool.query<Record<SumField, string | null> & { channel: string; region: string; store: string; campaign: string }>(
    `SELECT channel, region, store, ${campaign} AS campaign, ${SUMS_AS_TEXT} FROM ${rows} GROUP BY 1, 2, 3, 4 LIMIT $${params.length}`,
    params,
  );
  if (found.length > opts.limit) return null;
  return found.map((r) => ({ channel: r.channel, region: r.region, store: r.store, campaign: r.campaign, sums: sumsOfRow(r) }));
}
