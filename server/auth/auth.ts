import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { NextFunction, Request, Response } from 'express';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { User } from '../../config/load.js';
import type { Role } from '../../stream/types.js';
import type { SignOuts } from './sign-outs.js';

export interface Principal {
  username: string;
  role: Role;
  /** the regions a manager may read; null = all */
  regions: string[] | null;
  /** when the user signed in with a password (epoch ms); refreshes keep it */
  sessionStart: number;
  /** when this token expires (epoch ms) */
  expiresAt: number;
}

export interface Session {
  token: string;
  role: Role;
  regions: string[] | null;
  /** seconds until the token expires */
  expiresIn: number;
}

export interface AuthOptions {
  users: User[];
  secret: string;
  demoMode: boolean;
  tokenTtlSeconds?: number;
  /** how long a session may be refreshed after its password sign-in (default 30 days) */
  maxSessionSeconds?: number;
  /** admins' "sign out everywhere" (none: only password, role and region changes end sessions) */
  signOuts?: SignOuts;
}

export const DEFAULT_MAX_SESSION_SECONDS = 30 * 86_400;

/**
 * What a token must still match to be valid: it changes when the user's password hash, role or
 * regions change, so every token issued before such a change is refused at once.
 */
export function credentialVersion(user: User): string {
  return createHash('sha256').update(JSON.stringify([user.passwordHash, user.role, user.regions ?? null])).digest('base64url').slice(0, 22);
}

export class SessionEndedError extends Error {}

const ALGORITHM = 'HS256';
const ISSUER = 'marketing-wall';
/** tokens whose signature was checked, kept so a request costs no HMAC check (~0.16 ms each here) */
const VERIFIED_TOKENS = 10_000;

export function createAuth(options: AuthOptions) {
  const key = new TextEncoder().encode(options.secret);
  const ttl = options.tokenTtlSeconds ?? 12 * 3600;
  const maxSessionMs = (options.maxSessionSeconds ?? DEFAULT_MAX_SESSION_SECONDS) * 1000;
  const usable = options.users.filter((u) => options.demoMode || !u.demo);
  const byName = new Map(usable.map((u) => [u.username, u]));
  const versions = new Map(usable.map((u) => [u.username, credentialVersion(u)]));
  // only a token whose signature holds gets in, so a forger cannot fill it; each leaves when it expires
  const verified = new LRUCache<string, JWTPayload>({ max: VERIFIED_TOKENS });
  // compared against when the user is unknown, so both paths take a bcrypt's time
  const decoyHash = bcrypt.hashSync('decoy-password', 10);

  async function login(username: string, password: string): Promise<Session | null> {
    const user = byName.get(username);
    const matches = await bcrypt.compare(password, user?.passwordHash ?? decoyHash);
    if (!user || !matches) return null;
    return sessionFor(user, Date.now());
  }

  /**
   * A fresh token for a still-valid session, so a wall left on for weeks keeps its login — up to
   * the maximum session age after the password sign-in, then the user must sign in again.
   */
  async function refresh(principal: Principal): Promise<Session> {
    const user = byName.get(principal.username);
    if (!user) throw new SessionEndedError('this user no longer exists');
    const remaining = principal.sessionStart + maxSessionMs - Date.now();
    if (remaining <= 0) throw new SessionEndedError(`the session is older than ${Math.round(maxSessionMs / 86_400_000)} days; sign in again`);
    return sessionFor(user, principal.sessionStart, Math.min(ttl, Math.floor(remaining / 1000)));
  }

  async function sessionFor(user: User, sessionStart: number, lifetime = ttl): Promise<Session> {
    const regions = user.role === 'manager' ? (user.regions ?? []) : null;
    const token = await new SignJWT({ role: user.role, regions, cv: credentialVersion(user), sat: sessionStart })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(user.username)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${lifetime}s`)
      .sign(key);
    return { token, role: user.role, regions, expiresIn: lifetime };
  }

  /** The principal of a token that is signed by us, unexpired, of a user who still exists with the same credentials, and not signed out since. */
  async function verify(token: string): Promise<Principal | null> {
    try {
      let payload = verified.get(token);
      if (!payload) {
        ({ payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], issuer: ISSUER, requiredClaims: ['exp'] }));
        verified.set(token, payload, { ttl: Math.max(1, Math.ceil(payload.exp! * 1000 - Date.now())) });
      } else if (payload.exp! * 1000 <= Date.now()) return null;
      const user = byName.get(String(payload.sub));
      if (!user || payload.cv !== versions.get(user.username)) return null;
      const sessionStart = payload.sat;
      if (typeof sessionStart !== 'number' || Date.now() - sessionStart > maxSessionMs) return null;
      if (options.signOuts && sessionStart < (await options.signOuts.signedOutAt(user.username))) return null;
      return {
        username: user.username, role: user.role, regions: user.role === 'manager' ? (user.regions ?? []) : null,
        sessionStart, expiresAt: payload.exp! * 1000,
      };
    } catch {
      return null;
    }
  }

  /** Express middleware: a valid bearer token or 401; the principal goes to res.locals.principal. */
  async function requireAuth(req: Request, res: Response, next: NextFunction): Promise<void> {
    const header = req.get('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const principal = token ? await verify(token) : null;
    if (!principal) {
      res.status(401).json({ error: token ? 'invalid or expired token' : 'missing bearer token (POST /api/v1/auth/login)' });
      return;
    }
    res.locals.principal = principal;
    next();
  }

  /** whether a username belongs to a user who may log in here */
  const knows = (username: string) => byName.has(username);

  return { login, refresh, verify, requireAuth, knows };
}

export type Auth = ReturnType<typeof createAuth>;

/** Express middleware after requireAuth: the principal's role must be one of `roles`, else 403. */
export function requireRole(...roles: Role[]) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const role = (res.locals.principal as Principal).role;
    if (!roles.includes(role)) return void res.status(403).json({ error: `your role (${role}) may not do this; it needs ${roles.join(' or ')}` });
    next();
  };
}
