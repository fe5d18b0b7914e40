// Ingest keys at run time (admins): GET /api/v1/ingest-keys, POST /api/v1/ingest-keys {name}
// (the key is in this answer only), DELETE /api/v1/ingest-keys/:id (revoked on every server
// within seconds). Both changes go to the audit log.
import express, { type Response } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit.js';
import { requireRole, type Auth, type Principal } from '../auth/auth.js';
import type { IngestKeys } from './ingest-keys.js';
import { describeParamError } from '../http/query-params.js';

export const createBody = z.strictObject({ name: z.string().trim().min(1).max(80) });

export function ingestKeyRouter(deps: { auth: Auth; audit: AuditLog; ingestKeys: IngestKeys }) {
  const router = express.Router();
  const json = express.json({ limit: '4kb' });
  const admin = [deps.auth.requireAuth, requireRole('admin')];
  const username = (res: Response) => (res.locals.principal as Principal).username;

  router.get('/api/v1/ingest-keys', ...admin, async (_req, res) => {
    res.json({ keys: await deps.ingestKeys.list() });
  });

  router.post('/api/v1/ingest-keys', ...admin, json, async (req, res) => {
    const body = createBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: describeParamError(body.error) });
    const { key, view } = await deps.ingestKeys.create(body.data.name, username(res));
    await deps.audit.record({ action: 'ingest-key.create', actor: username(res), target: view.id, ip: req.ip, detail: { name: view.name, hint: view.hint } });
    res.status(201).json({ key, ...view });
  });

  router.delete('/api/v1/ingest-keys/:id', ...admin, async (req, res) => {
    const id = String(req.params.id);
    const revoked = /^\d+$/.test(id) ? await deps.ingestKeys.revoke(id) : null;
    if (!revoked) return void res.status(404).json({ error: `no active ingest key "${id}"` });
    await deps.audit.record({ action: 'ingest-key.revoke', actor: username(res), target: id, ip: req.ip, detail: { name: revoked.name } });
    res.json(revoked);
  });

  return router;
}
