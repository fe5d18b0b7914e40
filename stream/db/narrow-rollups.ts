// Narrow rollups: the six sums by channel alone (per minute, hour and day) and by region and
// channel (per hour and day). The full rollups carry region, store and campaign too, yet the
// nation's trends, the alert rules judged nationwide or per channel, and a region's views sum
// far fewer keys: a week of hours by channel was ~16 500 rows of rollup_1h at 1 M events a day,
// the twelve-day look-back of a nationwide rule 5.2 M rows of rollup_10s. Here they are ≤ 11
// (by channel) and ≤ 11 per region a bucket.
//
// Ordinary tables on both storage paths, written by the batch's own statement from the same
// 10 s sums as the other rollups (so exact, at once, late events included: no refresh to wait
// for), and purged by purgeExpired with the rollup each stands beside.
import type { PoolClient } from 'pg';
import type { GroupBy, Scope, Step } from '../types.js';
import { MEASURES, SUMMED, SUM_COLUMNS, TEXT, addSums } from './columns.js';

export type NarrowLevel = 'minute' | 'hour' | 'day';

export interface NarrowRollup {
  table: string;
  level: NarrowLevel;
  /** the dimensions it keeps */
  dims: ReadonlyArray<'channel' | 'region'>;
  /** its primary key, in the order rows are written and locked */
  key: readonly string[];
}

const STRIDE: Record<NarrowLevel, string> = { minute: '1 minute', hour: '1 hour', day: '1 day' };
/** the full rollup each level summarises */
const WIDE: Record<NarrowLevel, string> = { minute: 'rollup_10s', hour: 'rollup_1h', day: 'rollup_1d' };

const byChannel = (table: string, level: NarrowLevel): NarrowRollup => ({ table, level, dims: ['channel'], key: ['bucket', 'channel'] });
// a region's buckets lie together: its week of hours is one short range of the key
const byRegion = (table: string, level: NarrowLevel): NarrowRollup => ({ table, level, dims: ['region', 'channel'], key: ['region', 'bucket', 'channel'] });

export const CHANNEL_ROLLUPS = {
  minute: byChannel('channel_minutes', 'minute'),
  hour: byChannel('channel_hours', 'hour'),
  day: byChannel('channel_days', 'day'),
} as const;

export const REGION_ROLLUPS = {
  hour: byRegion('region_hours', 'hour'),
  day: byRegion('region_days', 'day'),
} as const;

export const NARROW_ROLLUPS: NarrowRollup[] = [...Object.values(CHANNEL_ROLLUPS), ...Object.values(REGION_ROLLUPS)];

export const narrowRollupTable = ({ table, dims, key }: NarrowRollup) => `CREATE TABLE IF NOT EXISTS ${table} (
  bucket timestamptz NOT NULL, ${dims.map((d) => `${d} ${TEXT} NOT NULL`).join(', ')}, ${MEASURES}, PRIMARY KEY (${key.join(', ')}))`;

/** A level's bucket of a time column: days start at local midnight (`dayOrigin`), like rollup_1d's. */
const binOf = (level: NarrowLevel, column: string, dayOrigin: string) =>
  `date_bin('${STRIDE[level]}', ${column}, '${level === 'day' ? dayOrigin : '1970-01-01T00:00:00Z'}'::timestamptz)`;

/** An insert of `source`'s rows (a full rollup, or a batch's 10 s sums) summed into the rollup's keys, in key order. */
function insertSummed(rollup: NarrowRollup, source: string, dayOrigin: string): string {
  const keys = rollup.key.map((k) => (k === 'bucket' ? binOf(rollup.level, 'bucket', dayOrigin) : k));
  const positions = keys.map((_, k) => k + 1).join(', ');
  return `INSERT INTO ${rollup.table} (${rollup.key.join(', ')}, ${SUM_COLUMNS})
      SELECT ${keys.join(', ')}, ${SUMMED} FROM ${source} GROUP BY ${positions} ORDER BY ${positions}`;
}

/**
 * The batch statement's parts (CTEs over `sums10`, the batch's fresh 10 s sums) that add it to
 * each narrow rollup, in key order like the other rollups so concurrent batches lock rows alike.
 */
export function narrowRollupWrites(dayOrigin: string): string[] {
  return NARROW_ROLLUPS.map((rollup, i) => `nr${i} AS (${insertSummed(rollup, 'sums10', dayOrigin)}
      ON CONFLICT (${rollup.key.join(', ')}) DO UPDATE SET ${addSums(rollup.table)})`);
}

/**
 * Fills narrow rollups from the full rollups they summarise (a schema made before them, or a
 * history loaded around the processors), or a level from other rows of the same shape (`sources`):
 * on TimescaleDB the continuous aggregates miss the late events waiting for their refresh (the
 * migration passes what queries read there).
 */
export async function backfillNarrowRollups(client: Pick<PoolClient, 'query'>, dayOrigin: string, rollups = NARROW_ROLLUPS, sources: Partial<Record<NarrowLevel, string>> = {}): Promise<void> {
  for (const rollup of rollups) {
    await client.query(insertSummed(rollup, sources[rollup.level] ?? WIDE[rollup.level], dayOrigin));
    // read at once by the next queries: without statistics the planner guesses their size
    await client.query(`ANALYZE ${rollup.table}`);
  }
}

/**
 * Whether a cut can be read from the rollups by channel: nothing but the channel named or grouped
 * by (a manager's regions, a store or a campaign need more).
 */
export function byChannelOnly(filter: Scope, groupBy: GroupBy | null | undefined, regionsAllowed?: string[]): boolean {
  return filter.region === undefined && filter.store === undefined && filter.campaign === undefined
    && regionsAllowed === undefined && (groupBy === undefined || groupBy === null || groupBy === 'channel');
}

const LEVEL_OF: Partial<Record<Step, NarrowLevel>> = { '1m': 'minute', '5m': 'minute', '15m': 'minute', '1h': 'hour', '1d': 'day' };

/**
 * The narrowest rollup a cut at this step can be read from, or null for the full ones: by channel
 * when only the channel is named or grouped by; by region and channel at whole hours and days when
 * a region, a manager's regions or a grouping by region come in too. A store or a campaign, or
 * 10 s steps, need the full rollups.
 */
export function narrowRollupFor(step: Step, filter: Scope, groupBy: GroupBy | null | undefined, regionsAllowed?: string[]): NarrowRollup | null {
  const level = LEVEL_OF[step];
  if (!level || filter.store !== undefined || filter.campaign !== undefined || groupBy === 'store' || groupBy === 'campaign') return null;
  if (byChannelOnly(filter, groupBy, regionsAllowed)) return CHANNEL_ROLLUPS[level];
  return level === 'minute' ? null : REGION_ROLLUPS[level];
}

const STEP_OF: Record<NarrowLevel, Step> = { minute: '1m', hour: '1h', day: '1d' };

/**
 * Whether each row of a narrow rollup is a whole point of a cut at this step (nothing to sum):
 * the step is the rollup's own bucket, and every dimension it keeps is named or grouped by.
 */
export function rowIsPoint(rollup: NarrowRollup, step: Step, filter: Scope, groupBy: GroupBy | null | undefined): boolean {
  return STEP_OF[rollup.level] === step && rollup.dims.every((d) => d === groupBy || filter[d] !== undefined);
}
