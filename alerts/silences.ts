// Silences as in Alertmanager: label matchers over a time span; a silenced alert still changes
// state and shows on the wall, but sends no notification.
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

/** A regex matcher must match the whole value (Alertmanager anchors it). */
function matches(matcher: Matcher, labels: Record<string, string>): boolean {
  const value = labels[matcher.name] ?? '';
  const hit = matcher.isRegex ? new RegExp(`^(?:${matcher.value})$`).test(value) : value === matcher.value;
  return hit === matcher.isEqual;
}

export function silencing(silences: Silence[], labels: Record<string, string>, at: number): Silence | undefined {
  return silences.find((s) => s.startsAt <= at && at < s.endsAt && s.matchers.every((m) => matches(m, labels)));
}
