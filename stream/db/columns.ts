// Column types and the measures every rollup shares, declared once: a type widened or a measure
// added here reaches every table that holds sums, and every statement that adds them up.

// identifiers compare byte-wise: far cheaper in the primary keys and sorts than a locale's collation
export const TEXT = 'text COLLATE "C"';

/** the dimensions of the full rollups and the sketches, in their key order */
export const DIMS = `channel ${TEXT} NOT NULL, region ${TEXT} NOT NULL, store ${TEXT} NOT NULL, campaign ${TEXT} NOT NULL`;

// money sums may pass 10^20 in one row (10^10 per event for 48 h of lateness); counts cannot reach 2^63 (README)
export const MONEY = 'numeric(38,4)';

export const MEASURES = `exposure bigint NOT NULL, clicks bigint NOT NULL, visits bigint NOT NULL, conversions bigint NOT NULL,
  revenue ${MONEY} NOT NULL, spend ${MONEY} NOT NULL`;

const SUM_NAMES = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend'] as const;

/** the measure columns, in MEASURES' order */
export const SUM_COLUMNS = SUM_NAMES.join(', ');

/** each measure summed, in SUM_COLUMNS' order */
export const SUMMED = SUM_NAMES.map((name) => `sum(${name})`).join(', ');

/** Each measure as text (exact: no float on the way), `AS` its own name; summed or as the row holds it. */
export const sumsAsText = (summed: boolean) => SUM_NAMES.map((name) => `${summed ? `sum(${name})` : name}::text AS ${name}`).join(', ');

/** An upsert's `ON CONFLICT … DO UPDATE SET` list that adds the incoming sums to the row held. */
export const addSums = (table: string) => SUM_NAMES.map((name) => `${name} = ${table}.${name} + EXCLUDED.${name}`).join(', ');
