// RFM quintiles, tiers and lifecycle stages, pure: hand-computed cases and properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quintileScores, segmentCustomers, stageOf, tierOf, type LifecycleThresholds } from '../server/analytics/segments/rfm.js';

const D = 86_400_000;
const thresholds: LifecycleThresholds = { newWithinMs: 30 * D, activeWithinMs: 30 * D, loyalOrders: 5, churnedAfterMs: 180 * D };

describe('quintile scores', () => {
  it('splits ten distinct values two per score, higher values scoring higher', () => {
    expect([...quintileScores([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])]).toEqual([5, 1, 5, 1, 4, 2, 4, 2, 3, 3]);
  });

  it('gives equal values one score: the share strictly below decides', () => {
    // 1 1 1 1 1 1 2 2 3 9: six ones have nothing below (1); the twos have 6 of 10 below (1 + ⌊3⌋ = 4)
    expect([...quintileScores([1, 2, 1, 9, 1, 3, 1, 2, 1, 1])]).toEqual([1, 4, 1, 5, 1, 5, 1, 4, 1, 1]);
    expect([...quintileScores([7])]).toEqual([1]);
    expect([...quintileScores([])]).toEqual([]);
  });

  it('is monotone, ties share a score, and a score of k or more holds at most (6 − k)/5 of the customers', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 300 }), (values) => {
        const scores = quintileScores(values);
        for (let i = 0; i < values.length; i++) {
          expect(scores[i]).toBeGreaterThanOrEqual(1);
          expect(scores[i]).toBeLessThanOrEqual(5);
          for (let j = 0; j < values.length; j++) if (values[i]! <= values[j]!) expect(scores[i]).toBeLessThanOrEqual(scores[j]!);
        }
        for (let k = 2; k <= 5; k++) expect(scores.filter((s) => s >= k).length).toBeLessThanOrEqual(Math.floor(((6 - k) / 5) * values.length + 1e-9));
      }),
    );
  });
});

describe('tiers', () => {
  it('follow the R × FM table', () => {
    expect(tierOf(5, 5, 4)).toBe('high_value');
    expect(tierOf(4, 4, 4)).toBe('high_value');
    expect(tierOf(4, 4, 3)).toBe('potential'); // FM 3.5
    expect(tierOf(5, 1, 1)).toBe('potential');
    expect(tierOf(3, 5, 5)).toBe('general');
    expect(tierOf(2, 2, 3)).toBe('general'); // FM 2.5
    expect(tierOf(2, 3, 3)).toBe('at_risk');
    expect(tierOf(1, 5, 5)).toBe('at_risk');
    expect(tierOf(1, 2, 3)).toBe('churned');
  });
});

describe('lifecycle stages', () => {
  const now = 1_000 * D;
  const customer = (firstDaysAgo: number, lastDaysAgo: number, orders: number) => ({ firstOrderAt: now - firstDaysAgo * D, lastOrderAt: now - lastDaysAgo * D, orders, monetary: 100 });

  it('use the configured thresholds, boundaries included', () => {
    expect(stageOf(customer(30, 30, 1), now, thresholds)).toBe('new'); // exactly 30 days: still new and active
    expect(stageOf(customer(31, 2, 4), now, thresholds)).toBe('active');
    expect(stageOf(customer(31, 2, 5), now, thresholds)).toBe('loyal');
    expect(stageOf(customer(10, 2, 9), now, thresholds)).toBe('new'); // a new customer with many orders is still new
    expect(stageOf(customer(100, 31, 9), now, thresholds)).toBe('dormant');
    expect(stageOf(customer(400, 180, 9), now, thresholds)).toBe('dormant');
    expect(stageOf(customer(400, 181, 9), now, thresholds)).toBe('churned');
  });

  it('score, tier and stage a whole customer base in one pass', () => {
    const h = 3_600_000;
    // the five customers of the integration test: A loyal, B new, C dormant, D churned, E active
    const at = (hoursAgo: number) => now - hoursAgo * h;
    const segments = segmentCustomers(
      {
        firstOrderAt: [at(40), at(2), at(35), at(33), at(8)],
        lastOrderAt: [at(1), at(2), at(12), at(33), at(7)],
        orders: [4, 1, 2, 1, 2],
        monetary: [400, 50, 500, 20, 170],
      },
      now,
      { newWithinMs: 4 * h, activeWithinMs: 10 * h, loyalOrders: 3, churnedAfterMs: 30 * h },
    );
    expect([...segments.r]).toEqual([5, 4, 2, 1, 3]);
    expect([...segments.f]).toEqual([5, 1, 3, 1, 3]);
    expect([...segments.m]).toEqual([4, 2, 5, 1, 3]);
    expect(segments.tier).toEqual(['high_value', 'potential', 'at_risk', 'churned', 'general']);
    expect(segments.stage).toEqual(['loyal', 'new', 'dormant', 'churned', 'active']);
  });
});
