// Rules edited through the API (role admin) are kept in the database, over those of
// alerts.yaml: a rule saved under a file rule's id replaces it, a deleted file rule stays off.
// The evaluator reads the effective set every cycle, so an edit takes effect within seconds on
// every server, without a restart.
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../stream/db/transaction.js';
import { ruleSchema, type AlertRule } from '../config/alert-schema.js';
import { ConfigError, checkRule, type AppConfig } from '../config/load.js';
import { parseIn, type ErrorLanguage } from '../config/localized-parse.js';

export interface EffectiveRule extends AlertRule {
  source: 'file' | 'api';
  updatedBy?: string;
  updatedAt?: string;
}

interface OverrideRow {
  id: string;
  body: unknown | null;
  updated_by: string;
  updated_at: Date;
}

export class RuleError extends Error {}

/** Rules in all (the file's and the API's, enabled or not): each is evaluated every cycle. */
export const MAX_RULES = 200;

/** Validates a rule as the file's rules are; throws RuleError naming the field, the reason in `language`. */
export function validateRule(body: unknown, cfg: AppConfig, language: ErrorLanguage = 'en'): AlertRule {
  const parsed = parseIn(ruleSchema, body, language, 'rule');
  if (!parsed.success) throw new RuleError(parsed.error);
  try {
    const known = { channels: new Set(cfg.channelById.keys()), regions: new Set(cfg.regionById.keys()), stores: cfg.storeById, notifiers: new Set(cfg.notifiers.map((n) => n.id)) };
    checkRule(parsed.data, 'rule', known, cfg.pipeline.windows.hotRetention);
  } catch (err) {
    if (err instanceof ConfigError) throw new RuleError(`${err.path.replace(/^rule\./, '')}: ${(language === 'zh' && err.reasonZh) || err.reason}`);
    throw err;
  }
  return parsed.data;
}

/** A duration in the file's words: 90000 → "90s", 300000 → "5m", 0 → "0s". */
export function durationText(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A rule as alerts.yaml (and PUT) states it: what an editor starts from. */
export function ruleDocument(rule: AlertRule): Record<string, unknown> {
  const { window, for: pending, keepFiringFor, repeatInterval, ...rest } = rule;
  const document: Record<string, unknown> = { ...rest, window: durationText(window), for: durationText(pending), keepFiringFor: durationText(keepFiringFor) };
  if (repeatInterval !== undefined) document.repeatInterval = durationText(repeatInterval);
  for (const key of ['source', 'updatedBy', 'updatedAt']) delete document[key];
  return document;
}

export async function effectiveRules(pool: Pool | PoolClient, cfg: AppConfig, onInvalid?: (id: string, reason: string) => void): Promise<EffectiveRule[]> {
  const { rows } = await pool.query<OverrideRow>(`SELECT id, body, updated_by, updated_at FROM alert_rule_overrides ORDER BY id`);
  const overrides = new Map(rows.map((r) => [r.id, r]));
  const rules: EffectiveRule[] = [];
  const fromOverride = (row: OverrideRow): EffectiveRule | null => {
    if (row.body === null) return null;
    try {
      return { ...validateRule(row.body, cfg), source: 'api', updatedBy: row.updated_by, updatedAt: row.updated_at.toISOString() };
    } catch (err) {
      onInvalid?.(row.id, (err as Error).message); // e.g. a store since removed from geo.yaml
      return null;
    }
  };
  for (const rule of cfg.alerts.rules) {
    const row = overrides.get(rule.id);
    const effective = row ? fromOverride(row) : { ...rule, source: 'file' as const };
    if (effective) rules.push(effective);
  }
  for (const row of rows) {
    if (cfg.alerts.rules.some((r) => r.id === row.id)) continue;
    const effective = fromOverride(row);
    if (effective) rules.push(effective);
  }
  return rules;
}

export async function saveRule(pool: Pool | PoolClient, id: string, body: unknown, by: string): Promise<void> {
  await pool.query(
    `INSERT INTO alert_rule_overrides (id, body, updated_by, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [id, JSON.stringify(body), by],
  );
}

/**
 * Saves a rule unless it is a new one and MAX_RULES are there already ('full'). Saves are taken
 * one at a time (a transaction lock), so admins saving at the same instant cannot pass the limit.
 */
export async function saveRuleWithinLimit(pool: Pool, cfg: AppConfig, id: string, body: unknown, by: string): Promise<'saved' | 'full'> {
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('marketing-wall-rule-saves'))`);
    const rules = await effectiveRules(client, cfg);
    if (!rules.some((r) => r.id === id) && rules.length >= MAX_RULES) return 'full';
    await saveRule(client, id, body, by);
    return 'saved';
  });
}

/** A file rule is kept off (body null); a rule that only the API made is forgotten. */
export async function deleteRule(pool: Pool, id: string, inFile: boolean, by: string): Promise<void> {
  if (inFile) {
    await pool.query(
      `INSERT INTO alert_rule_overrides (id, body, updated_by, updated_at) VALUES ($1, NULL, $2, now())
       ON CONFLICT (id) DO UPDATE SET body = NULL, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [id, by],
    );
  } else {
    await pool.query(`DELETE FROM alert_rule_overrides WHERE id = $1`, [id]);
  }
}
