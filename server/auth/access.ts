import type { AppConfig } from '../../config/load.js';
import type { Scope } from '../../stream/types.js';
import type { Principal } from './auth.js';

export type ScopeDecision =
  | { ok: true; scope: Scope; regionsAllowed?: string[] }
  | { ok: false; status: 403 | 404 | 400; error: string };

/**
 * The one rule for what a principal may read: ops, oncall and admin read everything; a manager
 * only its regions, their stores and their channels-by-region. A manager's query without a
 * region is narrowed to its regions rather than refused.
 */
export function authorizeScope(principal: Principal, requested: Scope, cfg: AppConfig): ScopeDecision {
  if (requested.region !== undefined && !cfg.regionById.has(requested.region)) {
    return { ok: false, status: 404, error: `unknown region "${requested.region}"` };
  }
  if (requested.store !== undefined) {
    const store = cfg.storeById.get(requested.store);
    if (!store) return { ok: false, status: 404, error: `unknown store "${requested.store}"` };
    if (requested.region !== undefined && requested.region !== store.region) {
      return { ok: false, status: 400, error: `store "${store.id}" is in region "${store.region}", not "${requested.region}"` };
    }
  }
  if (requested.channel !== undefined && !cfg.channelById.has(requested.channel)) {
    return { ok: false, status: 404, error: `unknown channel "${requested.channel}"` };
  }
  if (principal.regions === null) return { ok: true, scope: requested };

  const allowed = principal.regions;
  const region = requested.store !== undefined ? cfg.storeById.get(requested.store)!.region : requested.region;
  if (region !== undefined) {
    if (!allowed.includes(region)) return { ok: false, status: 403, error: `your role may not read region "${region}"` };
    return { ok: true, scope: requested, regionsAllowed: allowed };
  }
  return { ok: true, scope: requested, regionsAllowed: allowed };
}

/**
 * A live view's scope: a manager who asks for no region or store is given its own region
 * (a manager of several regions must name one); then the one rule above.
 */
export function authorizeLiveScope(principal: Principal, requested: Scope, cfg: AppConfig): ScopeDecision {
  let scope = requested;
  if (principal.regions !== null && scope.region === undefined && scope.store === undefined) {
    if (principal.regions.length !== 1) return { ok: false, status: 400, error: 'region: required for a manager of several regions' };
    scope = { ...scope, region: principal.regions[0]! };
  }
  return authorizeScope(principal, scope, cfg);
}

/**
 * The regions a regional read (segments, attribution, audiences) covers: the one asked for, if the
 * principal may read it, else every region the principal may read (null: the whole business).
 */
export function regionsToRead(principal: Principal, region: string | undefined, cfg: AppConfig): { ok: true; regions: string[] | null } | { ok: false; status: number; error: string } {
  const decision = authorizeScope(principal, { region }, cfg);
  if (!decision.ok) return decision;
  return { ok: true, regions: region ? [region] : principal.regions };
}
