// POST /api/v1/users/:username/sign-out — an admin ends every session of a user, on every server:
// its tokens are refused from now on (refresh included) and its wall sockets are closed. Audited.
import express from 'express';
import { requireRole, type Auth, type Principal } from './auth.js';
import type { AuditLog } from '../audit/audit.js';
import type { SignOuts } from './sign-outs.js';

export interface SessionRouteDeps {
  auth: Auth;
  audit: AuditLog;
  signOuts: SignOuts;
  /** closes the user's sockets on every server */
  disconnectUser?: (username: string) => void;
}

export function sessionRouter(deps: SessionRouteDeps) {
  const router = express.Router();
  router.post('/api/v1/users/:username/sign-out', deps.auth.requireAuth, requireRole('admin'), async (req, res) => {
    const username = String(req.params.username);
    if (!deps.auth.knows(username)) return void res.status(404).json({ error: `no user "${username}"` });
    const at = await deps.signOuts.signOut(username);
    deps.disconnectUser?.(username);
    await deps.audit.record({ action: 'user.sign-out', actor: (res.locals.principal as Principal).username, target: username, ip: req.ip });
    res.json({ signedOut: username, at: new Date(at).toISOString() });
  });
  return router;
}
