// GET /api/v1/audit?from=&to=&action=&actor=&limit= — the audit log, newest first; admins only.
import express from 'express';
import { z } from 'zod';
import { AUDIT_ACTIONS, type AuditLog } from './audit.js';
import { requireRole, type Auth } from '../auth/auth.js';
import { describeParamError, time } from '../http/query-params.js';

export const auditQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  actor: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function auditRouter(deps: { auth: Auth; audit: AuditLog }) {
  const router = express.Router();
  router.get('/api/v1/audit', deps.auth.requireAuth, requireRole('admin'), async (req, res) => {
    const query = auditQuery.safeParse(req.query);
    if (!query.success) return void res.status(400).json({ error: describeParamError(query.error) });
    res.json({ entries: await deps.audit.list(query.data) });
  });
  return router;
}
