// Demo only: the simulator's customers get two years of past orders in customer_days (the
// per-customer, per-day history the segments job keeps beyond the raw events' retention), so the
// wall's segments panel shows every tier and stage at once. Ingest rejects events older than the
// lateness bound, so this history cannot be posted as events.
import pg from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import type { StoreSettings } from '../../stream/connect.js';
import { USER_POOL } from './generator.js';
import { REGION_WEIGHTS } from './profiles.js';

export async function seedCustomerHistory(cfg: AppConfig, stores: StoreSettings, log: Logger): Promise<void> {
  const db = new pg.Client({ connectionString: stores.databaseUrl, options: `-c search_path="${stores.dbSchema}"` });
  await db.connect();
  try {
    const { rows } = await db.query(`SELECT EXISTS (SELECT 1 FROM customer_days) AS seeded`);
    if (rows[0].seeded) return;
    // regions drawn by their share of traffic: cumulative weights, one uniform draw per customer
    let cumulative = 0;
    const bounds = Object.entries(REGION_WEIGHTS).map(([region, weight]) => [region, (cumulative += weight)] as const);
    const regionCase = `CASE ${bounds.map(([region, upTo]) => `WHEN pick < ${upTo} THEN '${region}'`).join(' ')} ELSE 'east' END`;
    const offset = `interval '${cfg.dayOffsetMs / 1000} seconds'`;
    const result = await db.query(
      `WITH customers AS (
         SELECT 'u' || lpad(u::text, 6, '0') AS user_id, 3 + floor(random() * 700)::int AS first_ago,
                1 + floor(-ln(1 - random()) * 2.5)::int AS orders, random() AS pick
         FROM generate_series(0, $1 - 1) u WHERE random() < 0.6
       ), orders AS (
         SELECT user_id, ${regionCase} AS region,
                CASE WHEN o = 0 THEN first_ago ELSE 3 + floor(random() * (first_ago - 2))::int END AS ago,
                round((40 + random() * 600)::numeric, 2) AS value
         FROM customers, generate_series(0, orders - 1) o
       ), days AS (
         SELECT user_id, region, ((now() AT TIME ZONE 'UTC') + ${offset})::date - ago AS day, count(*) AS orders, sum(value) AS value
         FROM orders GROUP BY 1, 2, 3
       )
       INSERT INTO customer_days (user_id, day, orders, value, first_ts, last_ts, region)
       SELECT user_id, day, orders, value, (day::timestamp - ${offset} + interval '11 hours') AT TIME ZONE 'UTC',
              (day::timestamp - ${offset} + interval '20 hours') AT TIME ZONE 'UTC', region
       FROM days ON CONFLICT DO NOTHING`,
      [USER_POOL],
    );
    log.info({ customerDays: result.rowCount }, 'demo: seeded two years of past orders for the segments');
  } finally {
    await db.end();
  }
}
