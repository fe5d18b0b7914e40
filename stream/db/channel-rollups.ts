// Rollups by channel alone, per minute, hour and day. The nation's trends and the alert rules
// judged nationwide or per channel sum only channels, yet the full rollups carry region, store and
// campaign too: a week of hours by channel was ~16 500 rows of rollup_1h at 1 M events a day, the
// twelve-day look-back of a nationwide rule 5.2 M rows of rollup_10s. Here they are ≤ 11 a bucket.
//
// Ordinary tables on both storage paths, written by the batch's own statement from the same
// 10 s sums as the other rollups (so exact, at once, late events included: no refresh to wait
// for), and purged by purgeExpired with the rollup each stands beside.
import type { PoolClient } from 'pg';
import type { Scope } from '../types.js';
import { MEASURES, SUMMED, SUM_COLUMNS, TEXT, addSums } from './columns.js';

export const CHANNEL_ROLLUPS = {
  minute: { table: 'channel_minutes', stride: '1 minute', wide: 'rollup_10s' },
  hour: { table: 'channel_hours', stride: '1 hour', wide: 'rollup_1h' },
  day: { table: 'channel_days', stride: '1 day', wide: 'rollup_1d' },
} as const;

export type ChannelLevel = keyof typeof CHANNEL_ROLLUPS;

export const CHANNEL_ROLLUP_TABLES = Object.values(CHANNEL_ROLLUPS).map(({ table }) => `CREATE TABLE IF NOT EXISTS ${table} (
  bucket timestamptz NOT NULL, channel ${TEXT} NOT NULL, ${MEASURES}, PRIMARY KEY (bucket, channel))`);

/** A level's bucket of a time column: days start at local midnight (`dayOrigin`), like rollup_1d's. */
const binOf = (level: ChannelLevel, column: string, dayOrigin: string) =>
  `date_bin('${CHANNEL_ROLLUPS[level].stride}', ${column}, '${level === 'day' ? dayOrigin : '1970-01-01T00:00:00Z'}'::timestamptz)`;

/**
 * The batch statement's parts (CTEs over `sums10`, the batch's fresh 10 s sums) that add it to
 * each level, in key order like the other rollups so concurrent batches lock rows alike.
 */
export function channelRollupWrites(dayOrigin: string): string[] {
  return (Object.keys(CHANNEL_ROLLUPS) as ChannelLevel[]).map((level, i) => {
    const { table } = CHANNEL_ROLLUPS[level];
    return `cr${i} AS (INSERT INTO ${table} (bucket, channel, ${SUM_COLUMNS})
      SELECT ${binOf(level, 'bucket', dayOrigin)}, channel, ${SUMMED}
      FROM sums10 GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (bucket, channel) DO UPDATE SET ${addSums(table)})`;
  });
}

/**
 * Fills the levels from the full rollups they summarise (a schema made before them, or a history
 * loaded around the processors). On TimescaleDB rollup_1h / rollup_1d are real-time continuous
 * aggregates, so they answer whole.
 */
export async function backfillChannelRollups(client: Pick<PoolClient, 'query'>, dayOrigin: string): Promise<void> {
  for (const level of Object.keys(CHANNEL_ROLLUPS) as ChannelLevel[]) {
    const { table, wide } = CHANNEL_ROLLUPS[level];
    await client.query(`INSERT INTO ${table} (bucket, channel, ${SUM_COLUMNS})
      SELECT ${binOf(level, 'bucket', dayOrigin)}, channel, ${SUMMED}
      FROM ${wide} GROUP BY 1, 2 ORDER BY 1, 2`);
    // read at once by the next queries: without statistics the planner guesses their size
    await client.query(`ANALYZE ${table}`);
  }
}

/**
 * Whether a cut can be read from the channel rollups: nothing but the channel named or grouped
 * by (a manager's regions, a store or a campaign need the full rollups).
 */
export function byChannelOnly(filter: Scope, groupBy: string | null | undefined, regionsAllowed?: string[]): boolean {
  return filter.region === undefined && filter.store === undefined && filter.campaign === undefined
    && regionsAllowed === undefined && (groupBy === undefined || groupBy === null || groupBy === 'channel');
}
