// Times written by callers, read strictly: a calendar date that does not exist (2026-02-30,
// 0000-00-00) is refused rather than rolled over as Date.parse would, and nothing outside the
// years 1970–9999 is taken, so every accepted time can be printed, stored and binned.

/** 9999-12-31T23:59:59.999Z, the last instant ISO-8601 text (and PostgreSQL's date_bin) handle without surprises. */
export const MAX_TIME_MS = 253_402_300_799_999;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Epoch ms of an ISO-8601 date (`2026-11-30`, UTC midnight) or date-time with a zone, or null when
 * the text is not one, names a day or time that does not exist, or lies outside 1970–9999.
 * `requireTime`: a bare date is refused (events need an instant).
 */
export function parseIsoTime(text: string, requireTime = false): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (m[4] === undefined) return requireTime ? null : checked(Date.UTC(year, month - 1, day));
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  const zone = m[8]!;
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return null;
  return checked(Date.parse(text));
}

/** Epoch ms given as a digit string, or null when it is none or lies past MAX_TIME_MS. */
export function parseEpochText(text: string): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  return checked(Number(text));
}

function checked(ms: number): number | null {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS ? ms : null;
}
