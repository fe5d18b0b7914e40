// Turns a request body into a list of raw events (or a reason the whole body is unusable).

export type ParsedBody =
  | { ok: true; items: Array<{ raw: unknown } | { error: string }> }
  | { ok: false; status: 400 | 413; error: string };

export function parseEventsBody(body: Buffer, ndjson: boolean, maxEvents: number): ParsedBody {
  const text = body.toString('utf8');
  if (!ndjson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { ok: false, status: 400, error: `body is not valid JSON: ${(err as Error).message}` };
    }
    if (!Array.isArray(parsed)) return { ok: false, status: 400, error: 'body must be a JSON array of events' };
    if (parsed.length > maxEvents) return { ok: false, status: 413, error: `at most ${maxEvents} events per request (got ${parsed.length})` };
    return { ok: true, items: parsed.map((raw) => ({ raw })) };
  }
  const items: Array<{ raw: unknown } | { error: string }> = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    if (items.length === maxEvents) return { ok: false, status: 413, error: `at most ${maxEvents} events per request` };
    try {
      items.push({ raw: JSON.parse(trimmed) });
    } catch (err) {
      items.push({ error: `line is not valid JSON: ${(err as Error).message}` });
    }
  }
  return { ok: true, items };
}
