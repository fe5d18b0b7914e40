// What the processor pays to trust a stream entry: checking ingest's HMAC signature (then taking
// the events as ingest normalized them) against validating every event again, per 1 000-event
// entry; the ceiling is JSON.parse of the same entries, the least any path can do.
import type { AppConfig } from '../../config/load.js';
import { createEntrySigner } from '../../stream/entry-signature.js';
import { parseEntries, type RawEntry } from '../../stream/entries.js';
import { createEventValidator } from '../../stream/event-validate.js';
import { createPseudonymizer } from '../../stream/pseudonymize.js';
import type { BenchResult } from './report.js';

const ENTRIES = 300;
const EVENTS_PER_ENTRY = 1000;

function eventsPerSec(run: () => void): number {
  run(); // warm up
  const started = performance.now();
  run();
  return (ENTRIES * EVENTS_PER_ENTRY) / ((performance.now() - started) / 1000);
}

export function benchEntryTrust(cfg: AppConfig): BenchResult[] {
  const key = 'bench-user-id-key-bench-user-id-key-0123';
  const signer = createEntrySigner(key);
  const validate = createEventValidator(cfg, createPseudonymizer(key));
  const now = Date.now();
  const stores = [...cfg.storeById.values()];
  const entries: Array<{ signed: RawEntry; unsigned: RawEntry; payload: string }> = [];
  for (let e = 0; e < ENTRIES; e++) {
    const events = Array.from({ length: EVENTS_PER_ENTRY }, (_, i) => {
      const store = stores[i % stores.length]!;
      return { id: `b-${e}-${i}`, type: i % 10 ? 'click' : 'conversion', ts: now - i, channel: 'douyin', count: 1, value: i % 10 ? 0 : 99.5, region: store.region, store: store.id, userId: `u${i}` };
    });
    const payload = JSON.stringify(events);
    const id = `${now}-${e}`;
    entries.push({ payload, signed: [id, ['src', 'ingest', 'events', payload, 'sig', signer.sign(payload)]], unsigned: [id, ['events', payload]] });
  }
  const parseOnly = eventsPerSec(() => { for (const entry of entries) JSON.parse(entry.payload); });
  const signedRate = eventsPerSec(() => { parseEntries(entries.map((e) => e.signed), validate, signer); });
  const revalidateRate = eventsPerSec(() => { parseEntries(entries.map((e) => e.unsigned), validate, signer); });
  const result = (name: string, perSec: number, notes: string): BenchResult => ({
    name, events: ENTRIES * EVENTS_PER_ENTRY, eventsPerSec: Math.round(perSec), p50Ms: null, p95Ms: null, p99Ms: null, peakRssMb: null,
    ceiling: { name: 'JSON.parse of the same entries', perSec: Math.round(parseOnly) }, ratio: perSec / parseOnly, notes,
  });
  return [
    result('entries-signed', signedRate, 'HMAC-SHA256 verified, events taken as ingest normalized them'),
    result('entries-revalidated', revalidateRate, 'no signature: every event validated again (what a direct XADD gets)'),
  ];
}
