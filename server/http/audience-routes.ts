// GET /api/v1/audiences/export?tier=&stage=&region= — a segment audience for precision marketing
// (the seeds' 精准营销): the customers of the last segments run in that tier × lifecycle stage ×
// region, as CSV of the ids as stored (keyed hashes for phones and e-mails, never clear PII).
// Streamed from PostgreSQL with COPY and written with backpressure, so a million customers cost
// the server a few buffers, not the list; at most two at once per server, each on the read pool and
// bounded in time. ops and admin export any audience; a manager only its
// regions'. Every export is audited: who, which audience, how many rows (and whether it finished).
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Response } from 'express';
import type { Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { z } from 'zod';
import type { AppConfig } from '../../config/load.js';
import { checkOut } from '../../stream/db/transaction.js';
import { STAGES, TIERS } from '../../stream/segment-names.js';
import type { AuditLog } from '../audit/audit.js';
import { regionsToRead } from '../auth/access.js';
import { requireRole, type Auth, type Principal } from '../auth/auth.js';
import { describeParamError } from './query-params.js';

export const exportQuery = z.strictObject({
  tier: z.enum(TIERS).optional(),
  stage: z.enum(STAGES).optional(),
  region: z.string().min(1).max(64).optional(),
});

/** exports running at once on one server: each holds a connection of the read pool while it streams */
export const MAX_RUNNING_EXPORTS = 2;
/** the longest one export may stream (a slow reader holds its COPY open) */
const EXPORT_TIMEOUT_MS = 10 * 60_000;

export const AUDIENCE_COLUMNS = ['user_id', 'region', 'tier', 'stage', 'orders', 'monetary', 'first_order', 'last_order', 'r', 'f', 'm'] as const;

/** SQL text literal of a value already checked against a closed list (COPY takes no parameters). */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Counts the CSV lines passing through. */
function lineCounter() {
  let lines = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      done(null, chunk);
    },
  });
  return { stream, lines: () => lines };
}

export function audienceRouter(deps: { cfg: AppConfig; readPool: Pool; auth: Auth; audit: AuditLog }) {
  const { cfg, auth } = deps;
  let running = 0;
  const router = express.Router();
  const principalOf = (res: Response) => res.locals.principal as Principal;

  router.get('/api/v1/audiences/export', auth.requireAuth, requireRole('ops', 'admin', 'manager'), async (req, res) => {
    const query = exportQuery.safeParse(req.query);
    if (!query.success) return void res.status(400).json({ error: describeParamError(query.error) });
    if (query.data.region !== undefined && !cfg.regionById.has(query.data.region)) {
      return void res.status(400).json({ error: `region: unknown region "${query.data.region}"` });
    }
    const principal = principalOf(res);
    const read = regionsToRead(principal, query.data.region, cfg);
    if (!read.ok) return void res.status(read.status).json({ error: read.error });
    const { regions } = read;
    const { tier, stage } = query.data;

    const where = [
      tier ? `tier = ${literal(tier)}` : null,
      stage ? `stage = ${literal(stage)}` : null,
      regions ? `region IN (${regions.map(literal).join(', ')})` : null,
    ].filter(Boolean);
    const select = `SELECT ${AUDIENCE_COLUMNS.join(', ')} FROM customer_segments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY user_id`;
    const audience = { tier: tier ?? null, stage: stage ?? null, regions };
    const name = ['audience', tier ?? 'all-tiers', stage ?? 'all-stages', regions?.join('+') ?? 'all-regions', new Date().toISOString().slice(0, 10)].join('-');

    // a caller who starts exports and reads them slowly must not take the database's connections
    // from everything else: few at once, on the pool of caller-shaped reads, each bounded in time
    if (running >= MAX_RUNNING_EXPORTS) {
      res.setHeader('retry-after', '30');
      return void res.status(429).json({ error: `${MAX_RUNNING_EXPORTS} audience exports are running on this server already; try again when one has finished` });
    }
    running++;
    const { client, release } = await checkOut(deps.readPool).catch((err: unknown) => {
      running--;
      throw err;
    });
    const counter = lineCounter();
    let finished = false;
    try {
      await client.query(`SET statement_timeout = ${EXPORT_TIMEOUT_MS}`);
      res.status(200).type('text/csv; charset=utf-8').setHeader('content-disposition', `attachment; filename="${name}.csv"`);
      const source = client.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER true)`));
      await pipeline(source, counter.stream, res);
      finished = true;
    } catch (err) {
      // the caller went away, or the database did: what was sent is all there is
      req.log.warn({ err: (err as Error).message }, 'audience export ended early');
      if (!res.headersSent) res.status(500).end();
      else res.destroy();
    } finally {
      // closed, not pooled again: it carries this export's time limit (and a COPY abandoned half way leaves it unusable)
      release(true);
      running--;
      const rows = Math.max(0, counter.lines() - 1);
      await deps.audit.record({ action: 'export', actor: principal.username, target: 'audience', ip: req.ip, detail: { audience, rows, finished } }).catch(() => {});
    }
  });

  return router;
}
