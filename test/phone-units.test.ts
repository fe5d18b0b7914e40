// The phone layout's pure choices: which layout a window gets, and which alerts a view lists.
import { describe, expect, it } from 'vitest';
import { alertsOfView } from '../screen/alert-list.js';
import { layoutFor } from '../screen/layout.js';
import type { ScreenAlert } from '../stream/types.js';

describe('layoutFor', () => {
  it('gives phones and portrait windows the phone layout, TVs and desks the wall', () => {
    expect(layoutFor(390, 844, null)).toBe('phone');
    expect(layoutFor(768, 1024, null)).toBe('phone');
    expect(layoutFor(899, 600, null)).toBe('phone');
    expect(layoutFor(1080, 1920, null)).toBe('phone');
    expect(layoutFor(1920, 1080, null)).toBe('wall');
    expect(layoutFor(3840, 2160, null)).toBe('wall');
    expect(layoutFor(1024, 768, null)).toBe('wall');
  });
  it('follows ?layout= when it names one', () => {
    expect(layoutFor(1080, 1920, 'wall')).toBe('wall');
    expect(layoutFor(1920, 1080, 'phone')).toBe('phone');
    expect(layoutFor(1920, 1080, 'tablet')).toBe('wall');
  });
  it('draws the wall for a replay address, on a phone too: the phone layout has no replay and would show live figures', () => {
    expect(layoutFor(390, 844, null, true)).toBe('wall');
    expect(layoutFor(390, 844, 'phone', true)).toBe('wall');
    expect(layoutFor(390, 844, null, false)).toBe('phone');
  });
});

describe('alertsOfView', () => {
  const alert = (id: string, labels: Record<string, string>) => ({ id, labels }) as unknown as ScreenAlert;
  const alerts = [
    alert('nationwide', { rule: 'channel-cvr-drop', channel: 'douyin' }),
    alert('east', { rule: 'r', region: 'east' }),
    alert('north', { rule: 'r', region: 'north' }),
    alert('east-store', { rule: 'r', store: 'sh-jingan', region: 'east' }),
    alert('other-east-store', { rule: 'r', store: 'sh-lujiazui', region: 'east' }),
    alert('north-store', { rule: 'r', store: 'bj-wangfujing' }),
  ];
  const ids = (list: ScreenAlert[]) => list.map((a) => a.id);
  it('lists everything at the nation', () => {
    expect(ids(alertsOfView(alerts, { storeIds: [] }))).toEqual(ids(alerts));
  });
  it("lists a region's own, its stores' and the nationwide ones", () => {
    expect(ids(alertsOfView(alerts, { region: 'east', storeIds: ['sh-jingan', 'sh-lujiazui'] }))).toEqual(['nationwide', 'east', 'east-store', 'other-east-store']);
  });
  it("lists a store's own, its region's and the nationwide ones, not its neighbours'", () => {
    expect(ids(alertsOfView(alerts, { region: 'east', storeIds: ['sh-jingan'] }))).toEqual(['nationwide', 'east', 'east-store']);
  });
});
