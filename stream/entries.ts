import type { EntrySigner } from './entry-signature.js';
import type { EventValidator } from './event-validate.js';
import type { StreamedEvent } from './db/sink.js';
import type { MarketingEvent } from './types.js';

/** The `src` field value of entries written by our ingest API (which also signs them: `sig`). */
export const INGEST_SOURCE = 'ingest';

export type RawEntry = [id: string, fields: string[] | null];

export interface DeadLetter {
  entryId: string;
  index: number | null;
  reason: string;
  payload: string;
}

export interface ParsedEntries {
  events: StreamedEvent[];
  deadLetters: DeadLetter[];
  entryIds: string[];
}

/** The ms timestamp inside a stream id: when the entry was added, the arrival time for validation. */
export const entryTimeMs = (entryId: string): number => Number(entryId.slice(0, entryId.indexOf('-')));

/** The shape the ingest API writes (see createEventValidator): ts already in epoch ms, count and value set. */
function isNormalized(raw: unknown): raw is MarketingEvent {
  const e = raw as MarketingEvent;
  return typeof e === 'object' && e !== null && typeof e.id === 'string' && typeof e.type === 'string' && typeof e.ts === 'number'
    && typeof e.channel === 'string' && typeof e.count === 'number' && typeof e.value === 'number';
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * Turns stream entries into validated events. An entry carries `events` (a JSON array, as the
 * ingest API writes it) or `event` (one JSON object, for producers that XADD directly).
 * Whatever fails validation becomes a dead letter with its reason; the rest goes on.
 */
export function parseEntries(entries: RawEntry[], validate: EventValidator, signer: EntrySigner): ParsedEntries {
  const parsed: ParsedEntries = { events: [], deadLetters: [], entryIds: [] };
  for (const [entryId, fields] of entries) {
    parsed.entryIds.push(entryId);
    if (!fields) continue; // deleted while pending: nothing left to count
    const many = fieldValue(fields, 'events');
    const one = fieldValue(fields, 'event');
    const text = many ?? one;
    if (text === undefined) {
      parsed.deadLetters.push({ entryId, index: null, reason: 'entry has neither an "events" nor an "event" field', payload: JSON.stringify(fields).slice(0, 10_000) });
      continue;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      parsed.deadLetters.push({ entryId, index: null, reason: `not JSON: ${(err as Error).message}`, payload: text.slice(0, 10_000) });
      continue;
    }
    const list = many !== undefined ? body : [body];
    if (!Array.isArray(list)) {
      parsed.deadLetters.push({ entryId, index: null, reason: '"events" must be a JSON array', payload: text.slice(0, 10_000) });
      continue;
    }
    // the ingest API validated and normalized these on arrival (re-checking the time bounds later
    // could even drop accepted events); only its signature proves an entry came from it, and
    // anything else — or not in normalized shape — is validated in full
    const fromIngest = many !== undefined && fieldValue(fields, 'src') === INGEST_SOURCE && signer.verify(many, fieldValue(fields, 'sig'));
    const arrivedMs = fromIngest ? null : entryTimeMs(entryId);
    list.forEach((raw, index) => {
      if (fromIngest && isNormalized(raw)) {
        parsed.events.push({ event: raw, entryId });
        return;
      }
      const result = validate(raw, arrivedMs);
      if (result.ok) parsed.events.push({ event: result.event, entryId });
      else parsed.deadLetters.push({ entryId, index, reason: result.error, payload: JSON.stringify(raw)?.slice(0, 10_000) ?? 'undefined' });
    });
  }
  return parsed;
}

/** Keeps the first occurrence of each event id (stream order); returns the rest's count. */
export function dropRepeatedIds(events: StreamedEvent[]): { unique: StreamedEvent[]; repeated: number } {
  const seen = new Set<string>();
  const unique: StreamedEvent[] = [];
  for (const item of events) {
    if (seen.has(item.event.id)) continue;
    seen.add(item.event.id);
    unique.push(item);
  }
  return { unique, repeated: events.length - unique.length };
}
