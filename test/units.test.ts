import { describe, expect, it } from 'vitest';
import { hotDelta, rollupRows } from '../stream/aggregate.js';
import { moneyOfUnits } from '../stream/hot-read.js';
import { hotFieldValues, sumsOfHotFields } from '../stream/redis-keys.js';
import { DAY, HOUR, floorTo } from '../stream/buckets.js';
import { CopyWriter, copyLine } from '../stream/db/copy-text.js';
import { createEntrySigner } from '../stream/entry-signature.js';
import { deriveMetrics } from '../stream/derive.js';
import { metricPoint, sumsPoint, type SummedMetric } from '../alerts/metric-point.js';
import { scopeKeyOf, scopesOf } from '../stream/scopes.js';
import type { MarketingEvent } from '../stream/types.js';
import { KnownCustomers, customerKey, firstSeenCandidates, type FirstSeenAnswer } from '../stream/db/first-seen.js';
import { summarize } from '../alerts/describe.js';
import { detectorSchema, ruleSchema } from '../config/alert-schema.js';
import { DETECTOR_DEFAULTS, blankRule } from '../screen/rule-form.js';
import { loadConfig } from '../config/load.js';
import { seededRandom } from '../server/simulator/generator.js';

describe('bucket arithmetic', () => {
  it('aligns 1 d buckets to local midnight (+08:00)', () => {
    const t = Date.parse('2026-11-23T01:30:00+08:00');
    expect(new Date(floorTo(t, DAY, 8 * HOUR)).toISOString()).toBe('2026-11-22T16:00:00.000Z');
    expect(new Date(floorTo(t, HOUR)).toISOString()).toBe('2026-11-22T17:00:00.000Z');
  });
});

describe('scopes and derived metrics', () => {
  const event: MarketingEvent = { id: 'a', type: 'conversion', ts: 0, channel: 'store', count: 2, value: 10.5, region: 'east', store: 'sh-jingan', campaign: 'c1' };
  it('an event counts towards every scope it belongs to', () => {
    expect(scopesOf(event).sort()).toEqual(['all', 'c:store', 'k:c1', 'r:east', 'rc:east:store', 's:sh-jingan', 'sc:sh-jingan:store']);
    expect(scopesOf({ ...event, region: undefined, store: undefined, campaign: undefined })).toEqual(['all', 'c:store']);
    expect(scopeKeyOf({ region: 'east', channel: 'jd' })).toBe('rc:east:jd');
    expect(scopeKeyOf({ campaign: 'c1', region: 'east' })).toBeNull();
  });

  it('ratios are null on a zero denominator; store scopes convert over visits', () => {
    const sums = { exposure: 0, clicks: 10, visits: 40, conversions: 2, revenue: 300, spend: 0 };
    expect(deriveMetrics(sums, 0)).toMatchObject({ ctr: null, cvr: 0.2, roi: null, cac: 0 });
    expect(deriveMetrics(sums, 0, true).cvr).toBe(0.05);
  });

  it("an alert window's point: the metric's value and the volume it rests on, the same from the sums alone", () => {
    const sums = { exposure: 1000, clicks: 50, visits: 40, conversions: 10, revenue: 300, spend: 120 };
    const expected: Record<string, [number | null, number]> = {
      exposure: [1000, 1000], clicks: [50, 50], visits: [40, 40], conversions: [10, 10], revenue: [300, 300], spend: [120, 120],
      ctr: [0.05, 1000], roi: [2.5, 120], cac: [12, 10],
    };
    for (const storeScope of [false, true]) {
      const cvr: [number, number] = storeScope ? [0.25, 40] : [0.2, 50];
      for (const [metric, [value, volume]] of Object.entries({ ...expected, cvr })) {
        const point = { t: 7, value, volume };
        expect(metricPoint(metric as SummedMetric, deriveMetrics(sums, 0, storeScope), 7, storeScope), metric).toEqual(point);
        expect(sumsPoint(metric as SummedMetric, sums, 7, storeScope), metric).toEqual(point);
      }
    }
    expect(metricPoint('uniqueUsers', deriveMetrics(sums, 33), 7, false)).toEqual({ t: 7, value: 33, volume: 33 });
    const none = { ...sums, exposure: 0, spend: 0, conversions: 0 };
    for (const metric of ['ctr', 'roi', 'cac'] as const) expect(sumsPoint(metric, none, 7, false)).toEqual({ t: 7, value: null, volume: 0 });
  });

  it('money is summed in integer units', () => {
    const events = [0.1, 0.2, 0.7].map((value, i) => ({ ...event, id: `m${i}`, value }));
    const rows = rollupRows(events, 10_000);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sums.revenue).toBe(10_000n);
    const delta = hotDelta(rows, -1);
    expect(delta.increments.find((i) => i.bucket === 0 && i.scope === 'all')!.sums.conversions).toBe(6n);
  });

  it('money sums stay exact past 2^53 units and split into hot fields that carry', () => {
    const events = Array.from({ length: 10_000 }, (_, i) => ({ ...event, id: `big${i}`, value: 1e10 }));
    events.push({ ...event, id: 'small', value: 0.0001 });
    const units = rollupRows(events, 10_000)[0]!.sums.revenue;
    expect(units).toBe(10n ** 18n + 1n);
    const fields = hotFieldValues([0n, 0n, 0n, 0n, units, 7n]);
    expect(fields).toEqual(['0', '0', '0', '0', '1', '7', '1000', '0']);
    expect(sumsOfHotFields(fields)).toEqual([0n, 0n, 0n, 0n, units, 7n]);
    expect(moneyOfUnits(units, 10_000)).toBe(100_000_000_000_000.0001);
    expect(moneyOfUnits(12_345n, 10_000)).toBe(1.2345);
  });

  it('rows group events by 10 s bucket and every dimension, absent and empty alike, in first-seen order', () => {
    const base = { type: 'click' as const, count: 1, value: 0, channel: 'jd' };
    const events: MarketingEvent[] = [
      { ...base, id: 'a', ts: 19_999, region: 'east' },
      { ...base, id: 'b', ts: 10_000, region: 'east', store: '' },
      { ...base, id: 'c', ts: 20_000, region: 'east' }, // the next bucket
      { ...base, id: 'd', ts: 10_001, region: 'east', campaign: 'x', userId: 'u1' },
      { ...base, id: 'e', ts: 10_002, region: 'east', store: 'sh-jingan', userId: 'u2' },
      { ...base, id: 'f', ts: 10_003, channel: 'taobao', region: 'east', userId: 'u1' },
      { ...base, id: 'g', ts: 10_004, region: 'north', userId: 'u3' },
      { ...base, id: 'h', ts: 10_005, region: 'east', campaign: 'x', userId: 'u4' },
    ];
    const rows = rollupRows(events, 100);
    expect(rows.map((r) => [r.bucket, r.channel, r.region, r.store, r.campaign, Number(r.sums.clicks), [...r.users]])).toEqual([
      [10_000, 'jd', 'east', '', '', 2, []],
      [20_000, 'jd', 'east', '', '', 1, []],
      [10_000, 'jd', 'east', '', 'x', 2, ['u1', 'u4']],
      [10_000, 'jd', 'east', 'sh-jingan', '', 1, ['u2']],
      [10_000, 'taobao', 'east', '', '', 1, ['u1']],
      [10_000, 'jd', 'north', '', '', 1, ['u3']],
    ]);
  });

  it('an entry signed as bytes (as ingest writes it) verifies as the text the processor reads', () => {
    const signer = createEntrySigner('test-secret');
    const payload = JSON.stringify([{ id: 'e1', channel: 'douyin', campaign: '双十一 ✓ 🎯', userId: 'u1' }]);
    const signature = signer.sign(Buffer.from(payload));
    expect(signature).toBe(signer.sign(payload));
    expect(signer.verify(payload, signature)).toBe(true);
    expect(signer.verify(payload.replace('u1', 'u2'), signature)).toBe(false);
  });

  it('COPY rows escape what would break the format', () => {
    expect(copyLine(['a\tb', 'c\nd', 'e\\f', null, 3, undefined])).toBe('a\\tb\tc\\nd\te\\\\f\t\\N\t3\t\\N\n');
  });

  it('COPY rows written as bytes equal the same rows as text, escapes, UTF-8 and integers alike', () => {
    const rows: Array<[string | null | undefined, number, string]> = [
      ['東'.repeat(100), -1, '京'], ['a\tb\\c\r\nd', 1_733_000_000_123, '東京 🎉'], [null, -42, ''], [undefined, 0, 'x'], ['\ud800lone', Number.MAX_SAFE_INTEGER, 'y'],
      ...Array.from({ length: 3000 }, (_, i): [string, number, string] => [`id-${i}`, i * 7919, 'z'.repeat(i % 50)]),
    ];
    const writer = new CopyWriter(1);
    for (const [text, n, last] of rows) writer.text(text).integer(n).text(last, true);
    // the text went to COPY as UTF-8 (a lone surrogate as U+FFFD), so the bytes must be those
    expect(writer.bytes().equals(Buffer.from(rows.map((row) => copyLine(row)).join('')))).toBe(true);
  });
});

describe('first-seen candidates and what a processor knows of the ledger', () => {
  const at = (ts: number, channel: string, userId?: string, region?: string, store?: string) => ({ ts, channel, userId, region, store });
  const keysOf = (rows: Array<{ scope: string; userId: string }>) => new Set(rows.map((r) => customerKey(r.scope, r.userId)));
  /** the upsert wrote these rows */
  const wrote = (rows: Array<{ scope: string; userId: string }>): FirstSeenAnswer => ({ written: keysOf(rows), leftAt: new Map() });
  it('keeps each customer\'s earliest event per scope (ties to the smallest channel) and their latest', () => {
    const rows = firstSeenCandidates([at(500, 'jd', 'u1', 'east'), at(100, 'taobao', 'u1', 'east', 'sh-jingan'), at(100, 'douyin', 'u1', 'north'), at(900, 'jd', 'u1'), at(50, 'jd')]);
    const byScope = Object.fromEntries(rows.map((r) => [r.scope, r]));
    expect(Object.keys(byScope).sort()).toEqual(['all', 'r:east', 'r:north', 's:sh-jingan']);
    expect(byScope.all).toMatchObject({ firstTs: 100, channel: 'douyin', region: 'north', lastTs: 900 });
    expect(byScope['r:east']).toMatchObject({ firstTs: 100, channel: 'taobao', store: 'sh-jingan', lastTs: 500 });
  });

  it('skips only what the ledger already covers: not earlier, and within a day of the known last event', () => {
    const known = new KnownCustomers(2);
    const [first] = firstSeenCandidates([at(DAY, 'jd', 'u1')]);
    expect(known.toWrite([first!])).toHaveLength(1);
    known.remember([first!], wrote([first!]));
    const later = firstSeenCandidates([at(DAY + 3_600_000, 'jd', 'u1')]);
    expect(known.toWrite(later)).toEqual([]);
    expect(known.toWrite(firstSeenCandidates([at(DAY - 1, 'jd', 'u1')]))).toHaveLength(1); // earlier: moves the row
    expect(known.toWrite(firstSeenCandidates([at(DAY, 'baidu', 'u1')]))).toHaveLength(1); // same instant, smaller channel
    expect(known.toWrite(firstSeenCandidates([at(DAY, 'taobao', 'u1')]))).toEqual([]);
    expect(known.toWrite(firstSeenCandidates([at(2 * DAY + 1, 'jd', 'u1')]))).toHaveLength(1); // last_ts would lag over a day
    // bounded: the least recently used is forgotten
    const two = firstSeenCandidates([at(DAY, 'jd', 'u2'), at(DAY, 'jd', 'u3')]);
    known.remember(two, wrote(two));
    expect(known.size).toBe(2);
    expect(known.toWrite(later)).toHaveLength(1);
  });

  it("a forgotten customer's place is taken by the next without either's times showing through", () => {
    const known = new KnownCustomers(2);
    const remember = (events: Parameters<typeof firstSeenCandidates>[0]) => {
      const candidates = firstSeenCandidates(events);
      known.remember(candidates, wrote(candidates));
    };
    remember([at(DAY, 'jd', 'u1'), at(DAY, 'jd', 'u2')]);
    remember([at(3 * DAY, 'taobao', 'u3')]); // u1 goes
    remember([at(9 * DAY, 'douyin', 'u4')]); // u2 goes; u4 reuses a freed place
    expect(known.size).toBe(2);
    expect(known.toWrite(firstSeenCandidates([at(DAY + 1, 'jd', 'u1'), at(DAY + 1, 'jd', 'u2')]))).toHaveLength(2);
    expect(known.toWrite(firstSeenCandidates([at(9 * DAY + 1, 'douyin', 'u4'), at(3 * DAY + 1, 'taobao', 'u3')]))).toEqual([]);
    expect(known.toWrite(firstSeenCandidates([at(9 * DAY, 'baidu', 'u4')]))).toHaveLength(1); // same instant, smaller channel
    expect(known.toWrite(firstSeenCandidates([at(3 * DAY - 1, 'taobao', 'u3')]))).toHaveLength(1);
    expect(known.toWrite(firstSeenCandidates([at(10 * DAY + 1, 'douyin', 'u4')]))).toHaveLength(1);
  });

  it('over its limit it forgets the least recently used (a use being a covered candidate too), down to a tenth below', () => {
    const known = new KnownCustomers(20);
    const one = (user: string) => firstSeenCandidates([at(DAY, 'jd', user)]);
    for (let i = 0; i < 20; i++) known.remember(one(`u${i}`), wrote(one(`u${i}`)));
    expect(known.toWrite(one('u0'))).toEqual([]); // u0, the oldest remembered, is used now
    known.remember(one('u20'), wrote(one('u20'))); // 21 > 20: down to 18
    expect(known.size).toBe(18);
    const forgotten = Array.from({ length: 21 }, (_, i) => `u${i}`).filter((u) => known.toWrite(one(u)).length);
    expect(forgotten).toEqual(['u1', 'u2', 'u3']);
  });

  it('given what it knows, the candidates are exactly those toWrite lets through, over random batches and evictions', () => {
    const random = seededRandom(7);
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
    // two processes that learn the same: one filters whole candidates, the other checks each event first
    const byCandidate = new KnownCustomers(300);
    const byEvent = new KnownCustomers(300);
    let sent = 0;
    let skippedCustomers = 0;
    let evictions = 0;
    for (let batch = 0; batch < 200; batch++) {
      const base = batch * 3_600_000;
      const events = Array.from({ length: 60 }, () => at(
        // mostly later than before, sometimes back (late events); whole hours, so instants tie and
        // events fall exactly a day after a known last one
        base + HOUR * (Math.floor((random() - 0.1) * 10) - (random() < 0.1 ? 48 : 0)),
        pick(['jd', 'taobao', 'douyin']), random() < 0.95 ? `u${Math.floor(random() * 250)}` : undefined,
        pick(['east', 'north', undefined]), pick(['sh-1', 'sh-2', undefined, undefined])));
      const expected = byCandidate.toWrite(firstSeenCandidates(events));
      const actual = firstSeenCandidates(events, byEvent);
      expect(actual).toEqual(expected);
      sent += actual.length;
      const users = (list: Array<{ userId?: string }>) => new Set(list.map((e) => e.userId).filter(Boolean)).size;
      skippedCustomers += users(events) - users(actual);
      // the ledger wrote some and left others, read or unread
      const written = new Set<string>();
      const leftAt = new Map<string, number>();
      for (const c of actual) {
        const r = random();
        if (r < 0.6) written.add(c.key);
        else if (r < 0.8) leftAt.set(c.key, c.lastTs - Math.floor(random() * DAY));
      }
      const answer: FirstSeenAnswer = { written, leftAt };
      byCandidate.remember(actual, answer);
      byEvent.remember(actual, answer);
      expect(byEvent.size).toBe(byCandidate.size);
      if (byEvent.size === 270) evictions++; // only forgetting lands there: a tenth below the limit
    }
    // the walk went every way: customers sent, customers skipped whole, the limit reached
    expect(sent).toBeGreaterThan(1000);
    expect(skippedCustomers).toBeGreaterThan(500);
    expect(evictions).toBeGreaterThan(3);
  });

  it('a row the ledger left is known by the last_ts it read, so the same customer later that day is not sent again', () => {
    const known = new KnownCustomers();
    const [sent] = firstSeenCandidates([at(5 * DAY, 'jd', 'u1')]);
    known.remember([sent!], { written: new Set(), leftAt: new Map([[sent!.key, 5 * DAY - 3_600_000]]) });
    expect(known.toWrite(firstSeenCandidates([at(5 * DAY + 1, 'jd', 'u1')]))).toEqual([]);
    expect(known.toWrite(firstSeenCandidates([at(6 * DAY - 3_600_000, 'jd', 'u1')]))).toEqual([]);
    expect(known.toWrite(firstSeenCandidates([at(6 * DAY - 3_600_000 + 1, 'jd', 'u1')]))).toHaveLength(1); // over a day after the stored last_ts
    expect(known.toWrite(firstSeenCandidates([at(5 * DAY - 1, 'jd', 'u1')]))).toHaveLength(1); // earlier: moves the row
  });

  it('a row left unread (a concurrent batch inserted it) is known only up to the event sent', () => {
    const known = new KnownCustomers();
    const [sent] = firstSeenCandidates([at(5 * DAY, 'jd', 'u1')]);
    known.remember([sent!], { written: new Set(), leftAt: new Map() });
    expect(known.toWrite(firstSeenCandidates([at(5 * DAY, 'jd', 'u1')]))).toEqual([]); // the same event again: covered
    expect(known.toWrite(firstSeenCandidates([at(5 * DAY + 1, 'jd', 'u1')]))).toHaveLength(1); // its last_ts may be a day behind: the ledger decides
    known.remember([sent!], wrote([sent!])); // now written: its last_ts is 5 days
    expect(known.toWrite(firstSeenCandidates([at(6 * DAY, 'jd', 'u1')]))).toEqual([]);
  });
});

describe("the rule form's defaults (the console keeps its own copy: the schema's zod stays out of the screen bundle)", () => {
  it("are the schema's: a blank rule and each detector's parameters", () => {
    const blank = blankRule();
    const parsed = ruleSchema.parse({ id: 'r', name: 'r', nameEn: 'r', metric: blank.metric, window: blank.window, detector: { kind: 'auto' } });
    expect(ruleSchema.parse({ ...blank, id: 'r', name: 'r', nameEn: 'r' })).toEqual(parsed);
    expect(blank.keepFiringFor).toBe('2h'); // as its field shows it
    for (const [kind, params] of Object.entries(DETECTOR_DEFAULTS)) {
      const full: Record<string, unknown> = { kind, ...params };
      expect(detectorSchema.parse(full)).toEqual(full); // the form shows every parameter
      for (const name of Object.keys(params)) {
        if ((kind === 'drop' || kind === 'rise') && (name === 'vs' || name === 'ratio')) continue; // the form's suggestions
        const { [name]: _, ...without } = full;
        expect(detectorSchema.parse(without), `${kind}.${name}`).toEqual(full);
      }
    }
  });
});

describe("an alert's one-line summary", () => {
  const cfg = loadConfig();
  const rule = ruleSchema.parse({ id: 'spend-burst', name: '渠道花费激增', nameEn: 'Channel spend burst', metric: 'spend', groupBy: 'channel', window: '1m', when: { above: 1_000_000 } });
  const floor = ruleSchema.parse({ id: 'roi-low', name: '渠道 ROI 过低', nameEn: 'Channel ROI low', metric: 'roi', groupBy: 'channel', window: '15m', when: { below: 1.5 } });

  it('says a firing threshold alert is past its bound, and a resolved one back inside it', () => {
    expect(summarize(rule, { channel: 'jd' }, 1_600_000, undefined, cfg)).toEqual(['渠道花费激增 · 京东：花费 ¥1,600,000（高于 ¥1,000,000）', 'Channel spend burst · JD: spend ¥1,600,000 (above ¥1,000,000)']);
    expect(summarize(rule, { channel: 'jd' }, 0, undefined, cfg, true)).toEqual(['渠道花费激增 · 京东：花费 ¥0（已回落至 ¥1,000,000 以下）', 'Channel spend burst · JD: spend ¥0 (back below ¥1,000,000)']);
    expect(summarize(floor, { channel: 'sms' }, 2.4, undefined, cfg, true)[1]).toBe('Channel ROI low · SMS: ROI 2.40 (back above 1.50)');
  });

  it("says an auto alert on a stuck value is that, not a distance from a baseline it equals", () => {
    const stuck = ruleSchema.parse({ id: 'visits-auto', name: '门店客流异常', nameEn: 'Store traffic anomaly', metric: 'visits', groupBy: 'store', window: '1m', detector: { kind: 'auto' } });
    expect(summarize(stuck, { store: 'sh-jingan' }, 0, { score: 4.5, level: 1, breach: true, baseline: 0, unchangedFor: 130 }, cfg))
      .toEqual(['门店客流异常 · 上海静安店：客流 0（连续 130 个窗口丝毫未变，此前从未这么久）', 'Store traffic anomaly · Shanghai Jing\'an: foot traffic 0 (unchanged for 130 windows, longer than ever before)']);
    expect(summarize(stuck, { store: 'sh-jingan' }, 90, { score: 6, level: 1.33, breach: true, baseline: 40 }, cfg)[1]).toBe('Store traffic anomaly · Shanghai Jing\'an: foot traffic 90 (6.0σ off the mean (baseline 40))');
  });
});
