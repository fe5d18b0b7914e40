// Groups a batch's events by (time step, channel, region, store, campaign) without building a key
// string per event: tens of thousands of events fall in a few hundred groups, and a key per event
// (its time formatted, five parts joined, then hashed) was a good share of a processor's garbage.

type Level<T> = Map<string, T>;

export class PlaceGroups<T> {
  private readonly root = new Map<number, Level<Level<Level<Level<T>>>>>();

  /** The group of this place, or undefined. `step` is the time step's index (ms / step: a small integer, a cheap key). */
  get(step: number, channel: string, region: string, store: string, campaign: string): T | undefined {
    return this.root.get(step)?.get(channel)?.get(region)?.get(store)?.get(campaign);
  }

  set(step: number, channel: string, region: string, store: string, campaign: string, group: T): void {
    const byChannel = child(this.root, step);
    const byRegion = child(byChannel, channel);
    const byStore = child(byRegion, region);
    child(byStore, store).set(campaign, group);
  }
}

function child<K, V>(level: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let next = level.get(key);
  if (!next) level.set(key, (next = new Map()));
  return next;
}
