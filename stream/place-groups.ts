// Groups a batch's events by (time step, channel, region, store, campaign) without building a key
// string per event: tens of thousands of events fall in a few hundred groups, and a key per event
// (its time formatted, five parts joined, then hashed) was a good share of a processor's garbage.

import type { MarketingEvent } from './types.js';

type Level<T> = Map<string, T>;
export type Place = Pick<MarketingEvent, 'channel' | 'region' | 'store' | 'campaign'>;

export class PlaceGroups<T> {
  private readonly root = new Map<number, Level<Level<Level<Level<T>>>>>();
  /** every group, in the order they were added */
  readonly groups: T[] = [];

  /**
   * The group of this place (an absent region, store or campaign is the same as ''), or undefined.
   * `step` is the time step's index (ms / step: a small integer, a cheap key).
   */
  get(step: number, place: Place): T | undefined {
    return this.root.get(step)?.get(place.channel)?.get(place.region ?? '')?.get(place.store ?? '')?.get(place.campaign ?? '');
  }

  add(step: number, place: Place, group: T): T {
    const byRegion = child(child(this.root, step), place.channel);
    child(child(byRegion, place.region ?? ''), place.store ?? '').set(place.campaign ?? '', group);
    this.groups.push(group);
    return group;
  }
}

function child<K, V>(level: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let next = level.get(key);
  if (!next) level.set(key, (next = new Map()));
  return next;
}
