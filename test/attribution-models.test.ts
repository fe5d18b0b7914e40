// The attribution models on small cases worked out by hand here, and their properties on random
// path sets (fast-check): credits never negative and adding up to the totals; Shapley symmetric,
// blind to null players, and its enumeration equal to its closed form.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODELS, attribute, type ChannelCredit, type PathCount } from '../server/analytics/attribution/index.js';
import { removalEffects } from '../server/analytics/attribution/markov.js';
import { shapleyByEnumeration, shapleyClosedForm } from '../server/analytics/attribution/shapley.js';

const run = promisify(execFile);
const path = (channels: string, conversions: number, value: number, nulls = 0, ages?: number[]): PathCount => ({ channels: channels.split(' > '), conversions, value, nulls, ages });
const byChannel = (credits: ChannelCredit[]) => Object.fromEntries(credits.map((c) => [c.channel, [round(c.conversions), round(c.value)]]));
const round = (x: number) => Math.round(x * 1e9) / 1e9;
const DAY = 86_400_000;

describe('attribution models, by hand', () => {
  const paths = [path('wechat > douyin > app', 10, 1000), path('douyin', 4, 200, 6), path('app > app', 2, 100)];

  it('first and last touch give each path to one end', () => {
    expect(byChannel(attribute('first_touch', paths))).toEqual({ app: [2, 100], douyin: [4, 200], wechat: [10, 1000] });
    expect(byChannel(attribute('last_touch', paths))).toEqual({ app: [12, 1100], douyin: [4, 200], wechat: [0, 0] });
  });

  it('linear splits per touch (a channel touched twice gets two shares)', () => {
    const third = 10 / 3;
    expect(byChannel(attribute('linear', paths))).toEqual({
      app: [round(third + 2), round(1000 / 3 + 100)], douyin: [round(third + 4), round(1000 / 3 + 200)], wechat: [round(third), round(1000 / 3)],
    });
  });

  it('position-based: 40 / 20 / 40, halves for two touches, everything for one', () => {
    expect(byChannel(attribute('position_based', paths))).toEqual({ app: [4 + 2, 400 + 100], douyin: [2 + 4, 200 + 200], wechat: [4, 400] });
    expect(byChannel(attribute('position_based', [path('a > b > c > d', 10, 0)], { first: 0.5, last: 0.3 }))).toEqual({ a: [5, 0], b: [1, 0], c: [1, 0], d: [3, 0] });
  });

  it('time decay halves a touch per half-life of age', () => {
    // ages 14 d, 7 d, 0 d with a 7-day half-life: weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7
    const aged = [path('a > b > c', 7, 70, 0, [14 * DAY, 7 * DAY, 0])];
    expect(byChannel(attribute('time_decay', aged, { halfLifeMs: 7 * DAY }))).toEqual({ a: [1, 10], b: [2, 20], c: [4, 40] });
    // without times (CSV), touches one day apart by default
    const csvLike = [path('a > b', 3, 0)];
    const w = 2 ** (-1 / 7);
    expect(byChannel(attribute('time_decay', csvLike))).toEqual({ a: [round((3 * w) / (1 + w)), 0], b: [round(3 / (1 + w)), 0] });
  });

  it('Shapley over three channels equals the average marginal contribution over the six orders', () => {
    const three = [path('A', 10, 100), path('A > B', 6, 60), path('A > B > C', 9, 90), path('C', 4, 40), path('B', 0, 0, 50)];
    // v(S) = conversions of the paths whose channels all lie in S
    const v: Record<string, number> = { '': 0, A: 10, B: 0, C: 4, AB: 16, AC: 14, BC: 4, ABC: 29 };
    const key = (set: Set<string>) => ['A', 'B', 'C'].filter((c) => set.has(c)).join('');
    const orders = ['ABC', 'ACB', 'BAC', 'BCA', 'CAB', 'CBA'];
    const marginal: Record<string, number> = { A: 0, B: 0, C: 0 };
    for (const order of orders) {
      const coalition = new Set<string>();
      for (const channel of order) {
        const before = v[key(coalition)]!;
        coalition.add(channel);
        marginal[channel]! += (v[key(coalition)]! - before) / orders.length;
      }
    }
    expect(Object.fromEntries(Object.entries(marginal).map(([c, x]) => [c, round(x)]))).toEqual({ A: 16, B: 6, C: 7 });
    expect(byChannel(attribute('shapley', three))).toEqual({ A: [16, 160], B: [6, 60], C: [7, 70] });
  });

  it('Markov: removal effects from the absorbing chain, solved here by hand', () => {
    const twoChannel = [path('search > social', 10, 1000, 90), path('social', 5, 400, 195), path('search', 3, 300, 97)];
    // start→search 200/400, start→social 200/400; search→social 100/200, search→conv 3/200;
    // social→conv 15/300. x_social = 0.05, x_search = ½·0.05 + 3/200 = 0.04, x_start = ½·0.04 + ½·0.05 = 0.045
    // without search: x_start = ½·0.05 = 0.025 → RE 1 − 0.025/0.045 = 4/9
    // without social: x_search = 0.015, x_start = 0.0075 → RE 1 − 0.0075/0.045 = 5/6
    const effects = removalEffects(twoChannel);
    expect(effects.get('search')).toBeCloseTo(4 / 9, 12);
    expect(effects.get('social')).toBeCloseTo(5 / 6, 12);
    const credits = attribute('markov', twoChannel);
    const shareSearch = (4 / 9) / (4 / 9 + 5 / 6);
    expect(credits.find((c) => c.channel === 'search')!.conversions).toBeCloseTo(18 * shareSearch, 9);
    expect(credits.reduce((a, c) => a + c.value, 0)).toBeCloseTo(1700, 9);
  });

  it('handles one-touch paths, repeated channels and zero conversions', () => {
    for (const model of MODELS) {
      expect(byChannel(attribute(model, [path('sms', 3, 30, 1)])), model).toEqual({ sms: [3, 30] });
      expect(byChannel(attribute(model, [path('sms > email', 0, 0, 40)])), model).toEqual({ email: [0, 0], sms: [0, 0] });
      const repeated = attribute(model, [path('app > app > app', 6, 60), path('app > sms', 2, 20, 3)]);
      expect(round(repeated.reduce((a, c) => a + c.conversions, 0)), model).toBe(8);
    }
    expect(byChannel(attribute('shapley', [path('app > app > sms', 6, 60)]))).toEqual({ app: [3, 30], sms: [3, 30] });
  });
});

const channelNames = ['douyin', 'wechat', 'baidu', 'taobao', 'jd', 'app', 'sms'];
const pathArb = fc.record({
  channels: fc.array(fc.constantFrom(...channelNames), { minLength: 1, maxLength: 6 }),
  conversions: fc.nat(50),
  value: fc.nat(50_000),
  nulls: fc.nat(200),
}).map((p) => ({ ...p, value: p.conversions ? p.value : 0 }));
const pathsArb = fc.array(pathArb, { minLength: 1, maxLength: 25 });

describe('attribution properties on random path sets', () => {
  it('every model: credits ≥ 0 and summing to the total conversions and value', () => {
    fc.assert(fc.property(pathsArb, fc.constantFrom(...MODELS), (paths, model) => {
      const credits = attribute(model, paths);
      const conversions = paths.reduce((a, p) => a + p.conversions, 0);
      const value = paths.reduce((a, p) => a + p.value, 0);
      expect(credits.every((c) => c.conversions >= -1e-9 && c.value >= -1e-9)).toBe(true);
      expect(credits.reduce((a, c) => a + c.conversions, 0)).toBeCloseTo(conversions, 6);
      expect(credits.reduce((a, c) => a + c.value, 0)).toBeCloseTo(value, 4);
    }), { numRuns: 300 });
  });

  it('Shapley: symmetric channels get the same credit, a null player none, enumeration = closed form', () => {
    fc.assert(fc.property(pathsArb, (paths) => {
      // symmetry: swapping two channels' names swaps their credits
      const swap = (c: string) => (c === 'douyin' ? 'wechat' : c === 'wechat' ? 'douyin' : c);
      const swapped = paths.map((p) => ({ ...p, channels: p.channels.map(swap) }));
      const a = byChannel(shapleyByEnumeration(paths));
      const b = byChannel(shapleyByEnumeration(swapped));
      for (const channel of Object.keys(a)) expect(b[swap(channel)]).toEqual(a[channel]);
      // null player: a channel only on paths that bring nothing
      const withNull = [...paths, { channels: ['ghost', ...paths[0]!.channels], conversions: 0, value: 0, nulls: 10 }];
      const credits = byChannel(shapleyByEnumeration(withNull));
      expect(credits.ghost).toEqual([0, 0]);
      expect(a).toEqual(byChannel(shapleyClosedForm(paths)));
    }), { numRuns: 200 });
  });
});

describe('npm run attribution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attribution-'));
  const cli = (...args: string[]) => run('npm', ['run', '-s', 'attribution', '--', ...args], { encoding: 'utf8' });

  it('reads comma or semicolon path counts and prints the credits', async () => {
    const semicolons = join(dir, 'paths.csv');
    writeFileSync(semicolons, 'path;total_conversions;total_conversion_value;total_null\nsearch > social;10;1000;90\nsocial;5;400;195\nsearch;3;300;97\n');
    const { stdout } = await cli('--input', semicolons, '--model', 'first_touch');
    expect(JSON.parse(stdout)).toEqual([{ channel: 'search', conversions: 13, value: 1300 }, { channel: 'social', conversions: 5, value: 400 }]);
    const commas = join(dir, 'commas.csv');
    writeFileSync(commas, 'path,total_conversions,total_conversion_value,total_null\n"a > b",4,40,0\n');
    expect(JSON.parse((await cli('--input', commas, '--model', 'position_based')).stdout)).toEqual([{ channel: 'a', conversions: 2, value: 20 }, { channel: 'b', conversions: 2, value: 20 }]);
  });

  it('names bad input and exits 2', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'path,total_conversions,total_conversion_value,total_null\na > > b,1,1,0\n');
    const failure = await cli('--input', bad, '--model', 'linear').catch((err) => err);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('line 2: path "a > > b" has an empty channel');
    const model = await cli('--input', bad, '--model', 'magic').catch((err) => err);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain('--model magic: not one of first_touch');
  });
});
