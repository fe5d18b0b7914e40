// The push loop keeps the sum of today's settled time per scope and reads only the time since
// (hot-read.ts). A kept sum must never show less or more than the hot buckets hold: a late event
// into settled time, a reconciler's correction and Redis losing everything each make it read again.
// Every read with kept sums is compared with a read of the same ranges without them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_MS, HOUR, MINUTE, floorTo, liveWindowRange } from '../stream/buckets.js';
import { createSettledSums, readHotWindows, type HotRange } from '../stream/hot-read.js';
import { defineReconcileScript, reconcileHotBuckets } from '../stream/reconcile.js';
import { deleteKeys, startTestApp, testConfig, type TestApp } from './harness.js';

let app: TestApp;
const now = Date.now();
const SCALE = 10_000;

beforeAll(async () => {
  app = await startTestApp('settled', { cfg: testConfig((cfg) => (cfg.pipeline.reconcile.settle = 0)) });
  defineReconcileScript(app.redis);
});
afterAll(async () => app?.close());

let seq = 0;
async function post(events: Array<{ ts: number; store?: string; value?: number }>): Promise<void> {
  const response = await app.post(events.map((e) => ({ id: `settled-${seq++}`, type: 'conversion', channel: 'douyin', store: e.store ?? 'sh-jingan', ts: e.ts, value: e.value ?? 10 })));
  expect(response.status).toBe(202);
  await app.drained();
}

describe('sums of settled time kept between reads', () => {
  // a "day" that began three hours ago, as the push loop reads today
  const from = floorTo(now - 3 * HOUR, MINUTE);
  const rangesAt = (at: number): HotRange[] => ['all', 's:sh-jingan', 'sc:sh-jingan:douyin', 'r:east', 's:bj-guomao'].flatMap((scope) => [
    { scope, from, to: floorTo(at, BUCKET_MS) + BUCKET_MS, users: false, keepSettled: true },
    { scope, from, to: floorTo(at, BUCKET_MS) + BUCKET_MS, users: true, keepSettled: true },
  ]);
  const settled = createSettledSums();
  /** reads with the kept sums and without; they must agree; answers the conversions of the store */
  async function readBoth(): Promise<number> {
    const ranges = rangesAt(Date.now());
    const [kept, whole] = [await readHotWindows(app.redis, app.keys, ranges, SCALE, settled), await readHotWindows(app.redis, app.keys, ranges, SCALE)];
    expect(kept).toEqual(whole);
    return kept[2]!.conversions;
  }

  it('keeps the settled part and adds the time since', async () => {
    await post([{ ts: now - 150 * MINUTE }, { ts: now - 90 * MINUTE }, { ts: now - 20 * MINUTE, value: 99.99 }, { ts: now - 5_000 }]);
    expect(await readBoth()).toBe(4);
    // one kept sum per partition, scope and range start (two ranges of a scope share it)
    expect(settled.size).toBe(5 * app.keys.partitions.length);
    await post([{ ts: Date.now() - 2_000 }]);
    expect(await readBoth()).toBe(5);
  });

  it('reads again a scope whose settled time a late event changed', async () => {
    await post([{ ts: now - 100 * MINUTE, value: 12.34 }]);
    expect(await readBoth()).toBe(6);
    // the other stores' kept sums stay as they were: the event changed one store's settled time
    await post([{ ts: now - 40 * MINUTE, store: 'bj-guomao' }]);
    expect(await readBoth()).toBe(6);
  });

  it('reads again what a reconciliation corrected in settled time', async () => {
    // a drift the reconciler finds: one settled 10 s bucket altered behind the processors' back
    const bucket = floorTo(now - 150 * MINUTE, BUCKET_MS);
    await app.redis.hincrby(app.keys.first.bucket(BUCKET_MS, bucket, 's:sh-jingan'), 'conversions', 5);
    await app.redis.hincrby(app.keys.first.bucket(MINUTE, floorTo(bucket, MINUTE), 's:sh-jingan'), 'conversions', 5);
    await app.redis.hincrby(app.keys.first.bucket(HOUR, floorTo(bucket, HOUR), 's:sh-jingan'), 'conversions', 5);
    // kept sums see only what the processors and the reconciler write: read anew, they hold the drift
    settled.clear();
    expect(await readBoth()).toBe(11);
    const result = await reconcileHotBuckets(app.redis, app.db, app.keys, app.cfg);
    expect(result.corrected).toBeGreaterThan(0);
    expect(await readBoth()).toBe(6);
  });

  it('forgets every kept sum when Redis lost its data, and follows the rebuild', async () => {
    await app.processor!.stop();
    const counts = await app.redis.hgetall(app.keys.first.settled);
    await deleteKeys(app.redis, app.stores.redisPrefix);
    // counts of changes that happen to be back where they were: the hash's new epoch tells
    const { '#epoch': _old, ...sameCounts } = counts;
    await app.redis.hset(app.keys.first.settled, sameCounts);
    expect(await readBoth()).toBe(0);
    await reconcileHotBuckets(app.redis, app.db, app.keys, app.cfg);
    expect(await readBoth()).toBe(6);
  });
});

describe('ranges summed by the script', () => {
  it('sums a range from the fewest aligned hourly, minute and 10 s buckets that cover it exactly', async () => {
    // every bucket of each level around a 24 h window holds a mark of its level: which buckets the
    // script read shows in the sum (and in the users, one per bucket read)
    const scope = 'sc:levels-test:douyin';
    const { from, to } = liveWindowRange('24h', Date.parse('2026-11-23T08:17:43Z'));
    const partition = app.keys.partitions[0]!;
    const write = app.redis.pipeline();
    const marks = [[HOUR, 1_000_000], [MINUTE, 1_000], [BUCKET_MS, 1]] as const;
    for (const [levelMs, mark] of marks) {
      for (let start = floorTo(from, HOUR) - HOUR; start < to + HOUR; start += levelMs) {
        write.hset(partition.bucket(levelMs, start, scope), 'exposure', mark);
        write.pfadd(partition.users(levelMs, start, scope), `${levelMs}:${start}`);
      }
    }
    await write.exec();
    const ceil = (t: number, step: number) => Math.ceil(t / step) * step;
    const hours = (floorTo(to, HOUR) - ceil(from, HOUR)) / HOUR;
    const minutes = (ceil(from, HOUR) - ceil(from, MINUTE) + floorTo(to, MINUTE) - floorTo(to, HOUR)) / MINUTE;
    const tenSeconds = (ceil(from, MINUTE) - from + to - floorTo(to, MINUTE)) / BUCKET_MS;
    expect([hours, minutes, tenSeconds]).toEqual([23, 59, 6]); // the window's ragged ends use every level
    const [window, minute, none] = await readHotWindows(app.redis, app.keys, [
      { scope, from, to },
      { scope, from: floorTo(to, HOUR), to: floorTo(to, HOUR) + MINUTE },
      { scope, from, to: from },
    ], SCALE);
    expect(window!.exposure).toBe(hours * 1_000_000 + minutes * 1_000 + tenSeconds);
    expect(Math.abs(window!.uniqueUsers - (hours + minutes + tenSeconds))).toBeLessThanOrEqual(2);
    expect(minute).toMatchObject({ exposure: 1_000, uniqueUsers: 1 });
    expect(none).toMatchObject({ exposure: 0, uniqueUsers: 0 });
  });
});
