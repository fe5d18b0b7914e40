// The attribution job: paths of the last `days` local days from stored events, every model over
// each day, for the whole business and for each region (its customers' orders), the credits
// stored per day × region × model × channel — replaced in one transaction, so a run killed half
// way leaves the previous results whole.
import type { Pool } from 'pg';
import type { AppConfig } from '../../config/load.js';
import { DAY, floorTo } from '../../stream/buckets.js';
import { narrowRollupFor } from '../../stream/db/narrow-rollups.js';
import { inTransaction } from '../../stream/db/transaction.js';
import type { AttributionView } from '../../stream/types.js';
import type { JobContext } from '../jobs/runner.js';
import { MODELS, attribute, type ModelParams } from './attribution/index.js';
import { pathsByDay } from './attribution-paths.js';

export interface AttributionSettings {
  lookbackMs: number;
  days: number;
  params: ModelParams;
}

/** The job's settings from jobs.yaml. */
export function attributionSettings(cfg: AppConfig): AttributionSettings {
  const { lookback, days, halfLife, positionBased } = cfg.jobs.attribution;
  return { lookbackMs: lookback, days, params: { halfLifeMs: halfLife, ...positionBased } };
}

export async function migrateAttribution(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS attribution_daily (
    day date NOT NULL, region text NOT NULL DEFAULT '', model text NOT NULL, channel text NOT NULL, conversions double precision NOT NULL,
    value double precision NOT NULL, paths integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (day, region, model, channel))`);
  // a table made before regions: '' is the whole business, as every row it holds
  await pool.query(`ALTER TABLE attribution_daily ADD COLUMN IF NOT EXISTS region text NOT NULL DEFAULT ''`);
  await pool.query(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                   WHERE i.indrelid = 'attribution_daily'::regclass AND i.indisprimary AND a.attname = 'region') THEN
      ALTER TABLE attribution_daily DROP CONSTRAINT attribution_daily_pkey, ADD PRIMARY KEY (day, region, model, channel);
    END IF;
  END $$`);
}

/** The local calendar date of a day start, e.g. 2026-11-23 (days start at local midnight). */
export const localDate = (dayStart: number, dayOffsetMs: number) => new Date(dayStart + dayOffsetMs).toISOString().slice(0, 10);

/** The `days` local days that end with `toDate` (default: today), as local dates. */
export function recentDays(cfg: AppConfig, days: number, toDate?: string, now = Date.now()): { from: string; to: string } {
  const toStart = toDate ? Date.parse(`${toDate}T00:00:00Z`) - cfg.dayOffsetMs : floorTo(now, DAY, cfg.dayOffsetMs);
  return { from: localDate(toStart - (days - 1) * DAY, cfg.dayOffsetMs), to: localDate(toStart, cfg.dayOffsetMs) };
}

export async function runAttribution(pool: Pool, cfg: AppConfig, settings: AttributionSettings, ctx: JobContext, now = Date.now()): Promise<number> {
  const to = floorTo(now, DAY, cfg.dayOffsetMs) + DAY;
  const from = to - settings.days * DAY;
  const days = await pathsByDay(pool, { from, to }, settings.lookbackMs, (ms) => floorTo(ms, DAY, cfg.dayOffsetMs));
  const rows: Array<[string, string, string, string, number, number, number]> = [];
  for (const { day, region, converting, counted } of days) {
    for (const model of MODELS) {
      // time decay weighs each conversion's touches by their age; the others need only counts
      const credits = attribute(model, model === 'time_decay' ? converting : counted, settings.params);
      for (const credit of credits) rows.push([localDate(day, cfg.dayOffsetMs), region, model, credit.channel, credit.conversions, credit.value, converting.length]);
    }
  }
  if (ctx.aborted()) throw new Error('aborted before writing');
  await inTransaction(pool, async (client) => {
    await client.query(`DELETE FROM attribution_daily WHERE day >= $1 AND day < $2`, [localDate(from, cfg.dayOffsetMs), localDate(to, cfg.dayOffsetMs)]);
    for (let i = 0; i < rows.length; i += 5_000) {
      const chunk = rows.slice(i, i + 5_000);
      await client.query(
        `INSERT INTO attribution_daily (day, region, model, channel, conversions, value, paths)
         SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::int[])`,
        [0, 1, 2, 3, 4, 5, 6].map((k) => chunk.map((row) => row[k])),
      );
    }
    if (ctx.aborted()) throw new Error('the job lock was lost; nothing written');
  });
  return rows.length;
}


/**
 * Credits summed over [fromDay, toDay] (local dates), with spend and revenue from the daily
 * rollup by channel: for the whole business (regions null) or summed over the given regions' own runs.
 */
export async function readAttribution(pool: Pool, cfg: AppConfig, fromDate: string, toDate: string, model?: string, regions: string[] | null = null): Promise<AttributionView> {
  const { rows } = await pool.query<{ model: string; channel: string; conversions: number; value: number; updated: Date }>(
    `SELECT model, channel, sum(conversions) AS conversions, sum(value) AS value, max(updated_at) AS updated
     FROM attribution_daily WHERE day >= $1 AND day <= $2 AND ($3::text IS NULL OR model = $3)
       AND (CASE WHEN $4::text[] IS NULL THEN region = '' ELSE region = ANY($4::text[]) END)
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [fromDate, toDate, model ?? null, regions],
  );
  const fromMs = Date.parse(`${fromDate}T00:00:00Z`) - cfg.dayOffsetMs;
  const toMs = Date.parse(`${toDate}T00:00:00Z`) - cfg.dayOffsetMs + DAY;
  // the days by channel (and region) as the wall's charts read them, exact on both storage paths —
  // TimescaleDB's hourly aggregate would miss late events until its next refresh
  const days = narrowRollupFor('1d', {}, 'channel', regions ?? undefined)!;
  const totals = await pool.query<{ channel: string; spend: string; revenue: string }>(
    `SELECT channel, sum(spend)::text AS spend, sum(revenue)::text AS revenue FROM ${days.table}
     WHERE bucket >= $1 AND bucket < $2${regions ? ' AND region = ANY($3::text[])' : ''} GROUP BY 1`,
    [new Date(fromMs).toISOString(), new Date(toMs).toISOString(), ...(regions ? [regions] : [])],
  );
  const spendOf = new Map(totals.rows.map((r) => [r.channel, Number(r.spend)]));
  const models: AttributionView['models'] = {};
  let updated = 0;
  for (const row of rows) {
    const spent = spendOf.get(row.channel) ?? 0;
    (models[row.model] ??= []).push({ channel: row.channel, conversions: Number(row.conversions), value: Number(row.value), spend: spent, roi: spent > 0 ? Number(row.value) / spent : null });
    updated = Math.max(updated, row.updated.getTime());
  }
  const revenue = totals.rows.reduce((sum, r) => sum + Number(r.revenue), 0);
  // what touches can lead to: a till in a store is not reached through an ad's click
  const onlineRevenue = totals.rows.filter((r) => cfg.channelById.get(r.channel)?.kind !== 'offline').reduce((sum, r) => sum + Number(r.revenue), 0);
  return { from: fromDate, to: toDate, regions, models, revenue, onlineRevenue, updatedAt: updated ? new Date(updated).toISOString() : null };
}
