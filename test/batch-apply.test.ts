// A batch's entries are applied to the hot buckets in calls of up to 8 000 events (8 of ingest's
// entries), their deltas summed. When one of a call's entries was applied already (another
// consumer took it over and finished it), that call changes nothing and each of its entries is
// applied alone: the others are counted once, the applied one not again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawEntry } from '../stream/entries.js';
import type { LiveResponse } from '../stream/types.js';
import { startTestApp, type TestApp } from './harness.js';

let app: TestApp;
const now = Date.now();

beforeAll(async () => {
  app = await startTestApp('batch-apply');
  // the loop stops; its processor is driven by hand below
  await app.processor!.processors[0]!.stop();
});
afterAll(async () => app?.close());

const partition = () => app.keys.partitions[0]!;
const live = async () => ((await (await app.get('/api/v1/live?channel=douyin')).json()) as LiveResponse).windows['1h'];

async function readNew(consumer: string): Promise<RawEntry[]> {
  const reply = (await app.redis.call('XREADGROUP', 'GROUP', app.keys.group, consumer, 'COUNT', 20, 'STREAMS', partition().stream, '>')) as Array<[string, RawEntry[]]> | null;
  return reply?.[0]?.[1] ?? [];
}

describe('hot apply of a batch of entries', () => {
  it('sums a batch in one call, and falls back to one call per entry when one is applied already', async () => {
    const post = async (first: number, n: number) => {
      const events = Array.from({ length: n }, (_, i) => ({
        id: `ba-${first + i}`, type: 'click', ts: now - 1000 * (first + i), channel: 'douyin', region: 'east', userId: `c${first + i}`,
      }));
      expect((await app.post(events)).status).toBe(202);
    };
    await post(0, 3);
    await post(10, 4);
    await post(20, 5);
    const entries = await readNew('by-hand');
    expect(entries).toHaveLength(3);
    const processor = app.processor!.processors[0]!;

    // the first entry alone, as if another consumer had claimed and finished it
    await processor.processEntries([entries[0]!]);
    expect((await live()).clicks).toBe(3);
    // then the batch with it: the first is not counted again, the other two are
    await processor.processEntries(entries);
    const after = await live();
    expect(after.clicks).toBe(12);
    expect(after.uniqueUsers).toBe(12);
    expect(await app.pendingOf('by-hand')).toBe(0);
    expect(await app.streamLength()).toBe(0);

    // a batch none of whose entries was applied goes in one call, exactly
    await post(30, 2);
    await post(40, 6);
    const more = await readNew('by-hand');
    expect(more).toHaveLength(2);
    await processor.processEntries(more);
    expect((await live()).clicks).toBe(20);
    expect(await app.pendingOf('by-hand')).toBe(0);
    const stored = await app.db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE id LIKE 'ba-%'`);
    expect(Number(stored.rows[0]!.n)).toBe(20);
  });

  it('counts a batch larger than one call\'s 8 000 events exactly, a call with an applied entry falling back on its own', async () => {
    const before = (await live()).clicks;
    for (let e = 0; e < 11; e++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({
        id: `bb-${e}-${i}`, type: 'click', ts: now - (i % 30) * 1000, channel: 'douyin', region: 'north', userId: `d${e}-${i}`, count: 1 + (e === 9 ? 1 : 0),
      }));
      expect((await app.post(events)).status).toBe(202);
    }
    const entries = await readNew('by-hand');
    expect(entries).toHaveLength(11);
    const processor = app.processor!.processors[0]!;
    await processor.processEntries([entries[9]!]); // 2 000 clicks, in the second call's share
    expect((await live()).clicks).toBe(before + 2000);
    await processor.processEntries(entries);
    expect((await live()).clicks).toBe(before + 12_000); // ten entries of 1 000 and one of 2 000, each once
    expect(await app.pendingOf('by-hand')).toBe(0);
    expect(await app.streamLength()).toBe(0);
  });
});
