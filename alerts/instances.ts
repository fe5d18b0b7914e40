// A rule's instances: one per value of its groupBy (or one for the whole business), each with the
// live-window scope it reads and the labels that name it (for silences, notifications, access).
import type { AlertRule } from '../config/alert-schema.js';
import type { AppConfig } from '../config/load.js';
import { scopeKeyOf } from '../stream/scopes.js';

export interface RuleInstance {
  /** the groupBy value, or '' for a rule without groupBy */
  key: string;
  /** the hot scope key its windows are read from */
  scope: string;
  labels: Record<string, string>;
  /** the region an alert of this instance belongs to (what a manager may see); none = nationwide */
  region?: string;
  /** store scopes count conversions over visits */
  storeScope: boolean;
}

export function ruleInstances(rule: AlertRule, cfg: AppConfig, campaigns: string[]): RuleInstance[] {
  const filter = rule.filter ?? {};
  const groupValues: string[] =
    rule.groupBy === 'channel' ? cfg.channels.map((c) => c.id)
    : rule.groupBy === 'region' ? cfg.regions.map((r) => r.id)
    : rule.groupBy === 'store' ? [...cfg.storeById.values()].filter((s) => !filter.region || s.region === filter.region).map((s) => s.id)
    : rule.groupBy === 'campaign' ? campaigns
    : [''];
  return groupValues.map((key) => {
    const scope = { ...filter, ...(rule.groupBy && rule.groupBy !== 'campaign' ? { [rule.groupBy]: key } : {}) };
    const scopeKey = rule.groupBy === 'campaign' ? `k:${key}` : scopeKeyOf(scope)!;
    const region = scope.store !== undefined ? cfg.storeById.get(scope.store)!.region : scope.region;
    const labels: Record<string, string> = { rule: rule.id, severity: rule.severity, metric: rule.metric };
    for (const [name, value] of Object.entries(scope)) if (value !== undefined) labels[name] = value;
    if (rule.groupBy === 'campaign') labels.campaign = key;
    if (region !== undefined) labels.region = region;
    return { key, scope: scopeKey, labels, region, storeScope: scope.store !== undefined };
  });
}
