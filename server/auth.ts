import bcrypt from 'bcryptjs';
import type { NextFunction, Request, Response } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import type { User } from '../config/load.js';
import type { Role } from '../stream/types.js';

export interface Principal {
  username: string;
  role: Role;
  /** the regions a manager may read; null = all */
  regions: string[] | null;
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
}

const ALGORITHM = 'HS256';
const ISSUER = 'marketing-wall';

export function createAuth(options: AuthOptions) {
  const key = new TextEncoder().encode(options.secret);
  const ttl = options.tokenTtlSeconds ?? 12 * 3600;
  const usable = options.users.filter((u) => options.demoMode || !u.demo);
  const byName = new Map(usable.map((u) => [u.username, u]));
  // compared against when the user is unknown, so both paths take a bcrypt's time
  const decoyHash = bcrypt.hashSync('decoy-password', 10);

  async function login(username: string, password: string): Promise<Session | null> {
    const user = byName.get(username);
    const matches = await bcrypt.compare(password, user?.passwordHash ?? decoyHash);
    if (!user || !matches) return null;
    return sessionFor(user);
  }

  /** A fresh token for a still-valid session: a wall left on for weeks keeps its login. */
  async function refresh(principal: Principal): Promise<Session | null> {
    const user = byName.get(principal.username);
    return user ? sessionFor(user) : null;
  }

  async function sessionFor(user: User): Promise<Session> {
    const regions = user.role === 'manager' ? (user.regions ?? []) : null;
    const token = await new SignJWT({ role: user.role, regions })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(user.username)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(key);
    return { token, role: user.role, regions, expiresIn: ttl };
  }

  async function verify(token: string): Promise<Principal | null> {
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], issuer: ISSUER });
      const user = byName.get(String(payload.sub));
      if (!user) return null;
      return { username: user.username, role: user.role, regions: user.role === 'manager' ? (user.regions ?? []) : null };
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
