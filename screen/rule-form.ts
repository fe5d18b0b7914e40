// The rule editor's model: a rule as alerts.yaml states it (the `document` the API answers and
// PUT takes), the condition's kinds with their defaults, and the server's error mapped to its field.
import { nameIn } from './format.js';
import type { Locale } from './i18n.js';

export type RuleDocument = Record<string, unknown> & {
  id: string;
  name: string;
  nameEn: string;
  metric: string;
  window: string;
  groupBy?: string;
  filter?: Record<string, string>;
  when?: { below: number } | { above: number };
  detector?: Record<string, unknown> & { kind: string };
};

export interface RuleRow {
  id: string;
  name: string;
  nameEn: string;
  metric: string;
  groupBy?: string;
  severity: string;
  enabled: boolean;
  source: 'file' | 'api';
  updatedBy?: string;
  pending: number;
  firing: number;
  recovering: number;
  document: RuleDocument;
}

interface Named {
  id: string;
  name: string;
  nameEn: string;
}

/** what a rule may name (GET /api/v1/alert-rules `choices`): the caller's regions only */
export interface RuleChoices {
  channels: Named[];
  regions: Array<Named & { stores: Named[] }>;
  notifiers: Array<{ id: string; kind: string }>;
}

/**
 * A select's options: '' (any) first, then the known ones by their name in the page's language,
 * and a value the rule names that is no longer among them last, so editing the rule does not drop it.
 */
export function choiceOptions(known: Named[], current: string | undefined, locale: Locale): Array<{ value: string; label: string | null }> {
  const options: Array<{ value: string; label: string | null }> = known.map((k) => ({ value: k.id, label: nameIn(k, locale) }));
  if (current && !known.some((k) => k.id === current)) options.push({ value: current, label: null });
  return options;
}

/** The stores a store filter may choose: the chosen region's, or every region's the caller may see. */
export const storesOf = (choices: RuleChoices, region: string | undefined) =>
  choices.regions.filter((r) => !region || r.id === region).flatMap((r) => r.stores);

export const METRICS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'uniqueUsers', 'ctr', 'cvr', 'roi', 'cac'] as const;
export const GROUP_BY = ['', 'channel', 'region', 'store', 'campaign'] as const;
export const CONDITIONS = ['below', 'above', 'auto', 'drop', 'rise', 'zscore', 'ewma', 'seasonal'] as const;
export type Condition = (typeof CONDITIONS)[number];

/**
 * each detector's parameters with the schema's defaults (config/alert-schema.ts; units.test holds
 * them alike), except drop's and rise's, which the form suggests: a ratio, which the schema
 * requires, and vs=day-ago rather than the schema's previous window
 */
export const DETECTOR_DEFAULTS: Record<Exclude<Condition, 'below' | 'above'>, Record<string, string | number>> = {
  auto: { sensitivity: 'medium', direction: 'both' },
  drop: { vs: 'day-ago', ratio: 0.5 },
  rise: { vs: 'day-ago', ratio: 0.5 },
  zscore: { threshold: 8, lookback: 500, direction: 'both' },
  ewma: { threshold: 8, alpha: 0.02, lookback: 500, direction: 'both' },
  seasonal: { threshold: 5, days: 7, minChange: 0.3, direction: 'both' },
};

/** the choices of a detector parameter that is not a number */
export const PARAM_CHOICES: Record<string, string[]> = {
  sensitivity: ['low', 'medium', 'high'],
  direction: ['both', 'up', 'down'],
  vs: ['previous', 'day-ago', 'week-ago'],
};

export function conditionOf(document: RuleDocument): Condition {
  if (document.when) return 'below' in document.when ? 'below' : 'above';
  return (document.detector?.kind ?? 'auto') as Condition;
}

/** a rule's detector parameters as the form edits them: all but its kind */
export function detectorParams(detector: NonNullable<RuleDocument['detector']>): Record<string, string | number> {
  const { kind: _, ...params } = detector;
  return { ...params } as Record<string, string | number>;
}

export function conditionText(document: RuleDocument): string {
  if (document.when) return 'below' in document.when ? `< ${document.when.below}` : `> ${document.when.above}`;
  const { kind, ...params } = document.detector ?? { kind: '?' };
  return `${kind} ${Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`.trim();
}

export const blankRule = (): RuleDocument => ({
  id: '', name: '', nameEn: '', metric: 'revenue', window: '5m', detector: { kind: 'auto', ...DETECTOR_DEFAULTS.auto },
  for: '0s', minVolume: 0, hysteresis: 0.05, keepFiringFor: '2h', noData: 'ok', severity: 'warning', notify: [], enabled: true,
});

/** "detector.ratio: must be greater than 0" → the field it names and why; a preview's "rule." prefix dropped */
export function fieldError(message: string): { field: string; reason: string } {
  const match = /^(?:rule\.)?([A-Za-z][\w.]*): (.*)$/s.exec(message);
  return match ? { field: match[1]!, reason: match[2]! } : { field: '', reason: message };
}

/** what is sent: empty optional fields left out, the filter only with what is set */
export function cleanDocument(document: RuleDocument): RuleDocument {
  const copy: RuleDocument = JSON.parse(JSON.stringify(document));
  if (!copy.groupBy) delete copy.groupBy;
  const filter = Object.fromEntries(Object.entries(copy.filter ?? {}).filter(([, v]) => v !== ''));
  if (Object.keys(filter).length) copy.filter = filter;
  else delete copy.filter;
  if (copy.repeatInterval === '') delete copy.repeatInterval;
  return copy;
}
