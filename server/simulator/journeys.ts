// Who buys online in the demo: people part way through a purchase journey. A tracked click either
// opens a journey (someone the retailer has not seen in a while) or adds a touch to one under way;
// an online order closes one, so each order comes with the earlier touches that led to it — the
// paths multi-touch attribution reads. Journeys no one finishes are replaced at random once a
// region holds its share of `capacity` (they stay as touches without an order: attribution's nulls).

export class JourneyPool {
  private readonly open = new Map<string, string[]>();

  constructor(
    private readonly random: () => number,
    /** at most this many journeys under way in a region */
    private readonly capacityOf: (region: string) => number,
  ) {}

  /** Someone in the region whose journey an order closes now, or null when nobody is on one. */
  takeBuyer(region: string): string | null {
    const users = this.open.get(region);
    if (!users?.length) return null;
    const at = Math.floor(this.random() * users.length);
    const buyer = users[at]!;
    users[at] = users[users.length - 1]!;
    users.pop();
    return buyer;
  }

  /** The person behind a browsing click: new (opening a journey) with probability `opens`, else someone already on one. */
  browser(region: string, opens: number, newUser: () => string): string {
    let users = this.open.get(region);
    if (!users) this.open.set(region, (users = []));
    if (users.length && this.random() >= opens) return users[Math.floor(this.random() * users.length)]!;
    const user = newUser();
    if (users.length < this.capacityOf(region)) users.push(user);
    else users[Math.floor(this.random() * users.length)] = user;
    return user;
  }

  size(region: string): number {
    return this.open.get(region)?.length ?? 0;
  }
}
