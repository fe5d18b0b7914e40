// Silences as in Alertmanager: label matchers over a time span; a silenced alert still changes
// state and shows on the wall, but sends no notification.
import { RE2JS } from 're2js';
import { z } from 'zod';

export const matcherSchema = z.strictObject({
  name: z.string().min(1).max(64),
  value: z.string().max(256),
  isRegex: z.boolean().default(false),
  isEqual: z.boolean().default(true),
});
export type Matcher = z.output<typeof matcherSchema>;

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** At most this many silences not yet ended (so every one is listed): each alert is checked against all of them every cycle. */
export const MAX_ACTIVE_SILENCES = 500;

// Regex matchers use RE2 syntax and semantics, as Alertmanager's do: matching takes time linear in
// the value whatever the pattern ((.*.*)*x cannot stall the evaluator); no backreferences or lookaround.
const compiled = new Map<string, RE2JS | null>();
const COMPILED_KEPT = 5000;

/** The compiled pattern, once per distinct pattern; null if it is not valid RE2. */
function regexOf(pattern: string): RE2JS | null {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    try {
      regex = RE2JS.compile(pattern);
    } catch {
      regex = null;
    }
    if (compiled.size >= COMPILED_KEPT) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

/** Why `pattern` is not a valid RE2 regular expression, or null if it is. */
export function regexError(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A regex matcher must match the whole value (Alertmanager anchors it); an invalid stored pattern matches nothing. */
function matches(matcher: Matcher, labels: Record<string, string>): boolean {
  const value = labels[matcher.name] ?? '';
  const hit = matcher.isRegex ? (regexOf(matcher.value)?.matches(value) ?? false) : value === matcher.value;
  return hit === matcher.isEqual;
}

export function silencing(silences: Silence[], labels: Record<string, string>, at: number): Silence | undefined {
  return silences.find((s) => s.startsAt <= at && at < s.endsAt && s.matchers.every((m) => matches(m, labels)));
}
