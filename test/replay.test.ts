// Replay: the frame rebuilt for a past instant equals the snapshot the live wall received at that
// instant (no late events in between), for the nation and for a manager's region; the alerts
// of that moment in their states then; the bounds and a manager's limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY } from '../stream/buckets.js';
import type { ScreenAlert, ScreenFrame, ScreenSubscribeAck, ScreenSubscription } from '../stream/types.js';
import { seededRandom } from '../server/simulator/generator.js';
import { postAll } from './event-factory.js';
import type { TruthEvent } from './ground-truth.js';
import { sleep, startTestApp, type TestApp } from './harness.js';
import { connectScreen } from './screen-client.js';

let app: TestApp;
let seq = 0;

function traffic(from: number, to: number, count: number, seed: number): TruthEvent[] {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const channels = app.cfg.channels.map((c) => c.id).filter((c) => c !== 'store');
  const stores = [...app.cfg.storeById.values()];
  return Array.from({ length: count }, () => {
    const ts = Math.floor(from + random() * (to - from));
    const id = `rp-${seq++}`;
    const roll = random();
    if (roll < 0.25) return { id, type: 'visit', ts, channel: 'store', store: pick(stores).id, count: 1 + Math.floor(random() * 5) } as TruthEvent;
    if (roll < 0.35) return { id, type: 'conversion', ts, channel: 'store', store: pick(stores).id, value: 199, userId: `c${Math.floor(random() * 300)}` } as TruthEvent;
    const type = pick(['exposure', 'click', 'conversion', 'spend'] as const);
    const event: TruthEvent = { id, type, ts, channel: pick(channels), region: pick(app.cfg.regions).id, userId: type === 'click' || type === 'conversion' ? `c${Math.floor(random() * 300)}` : undefined };
    if (type === 'exposure') event.count = 100;
    if (type === 'click') event.count = 3;
    if (type === 'conversion' || type === 'spend') event.value = Math.round(random() * 50_000) / 100;
    return event;
  });
}

async function snapshotOf(subscription: ScreenSubscription, username = 'ops'): Promise<ScreenFrame> {
  const client = connectScreen(app.server.url, await app.token(username), subscription);
  try {
    const ack = (await client.subscribed) as Extract<ScreenSubscribeAck, { snapshot: unknown }>;
    return ack.snapshot;
  } finally {
    client.close();
  }
}

async function replay(at: string | number, query = '', username = 'ops') {
  const response = await app.get(`/api/v1/replay?at=${encodeURIComponent(String(at))}${query}`, username);
  return { status: response.status, body: (await response.json()) as { frame: ScreenFrame; alerts: ScreenAlert[]; error?: string } };
}

/** A frame without what replay counts differently: unique users (the live wall's are HyperLogLog estimates). */
function comparable(frame: ScreenFrame) {
  const { uniqueUsers: _u, ...today } = frame.today.values;
  return {
    ...frame,
    windows: Object.fromEntries(Object.entries(frame.windows).map(([w, { uniqueUsers: _w, ...rest }]) => [w, rest])),
    today: { ...frame.today, values: today },
  };
}

beforeAll(async () => {
  app = await startTestApp('replay', { pushIntervalMs: 250 });
  const now = Date.now();
  // the last 50 minutes, and yesterday's afternoon-to-now (kept clear of the last 10 minutes a day ago,
  // which the live wall's cached "yesterday" may not have re-read)
  await postAll((events) => app.post(events), [...traffic(now - 50 * 60_000, now - 5_000, 3000, 1), ...traffic(now - DAY - 6 * 3_600_000, now - DAY - 15 * 60_000, 1500, 2)], 1000);
  await app.drained();
}, 60_000);

afterAll(async () => app?.close());

describe('replay', () => {
  it('rebuilds the snapshots the live wall received — nation and a manager\'s region — at their instants', async () => {
    const recorded: Array<{ frame: ScreenFrame; subscription: ScreenSubscription; username: string }> = [];
    recorded.push({ frame: await snapshotOf({}), subscription: {}, username: 'ops' });
    recorded.push({ frame: await snapshotOf({ region: 'east' }, 'manager-east'), subscription: { region: 'east' }, username: 'manager-east' });
    // more events, then the views again: a second instant. The first instants' 10 s buckets count
    // whole in replay, as they did live: the new events begin after them
    const firstEnd = Math.floor(Math.max(...recorded.map((r) => Date.parse(r.frame.asOf))) / 10_000) * 10_000 + 10_000;
    await sleep(Math.max(0, firstEnd + 8_000 - Date.now()));
    await postAll((events) => app.post(events), traffic(firstEnd, Date.now() - 1_000, 800, 3), 1000);
    await app.drained();
    recorded.push({ frame: await snapshotOf({}), subscription: {}, username: 'ops' });
    recorded.push({ frame: await snapshotOf({ store: 'sh-jingan' }), subscription: { store: 'sh-jingan' }, username: 'ops' });
    for (const { frame, subscription, username } of recorded) {
      const query = subscription.region ? `&region=${subscription.region}` : subscription.store ? `&store=${subscription.store}` : '';
      const { status, body } = await replay(frame.asOf, query, username);
      expect(status).toBe(200);
      expect(comparable(body.frame)).toEqual(comparable(frame));
      // the exact count is near the live estimate
      expect(Math.abs(body.frame.today.values.uniqueUsers - frame.today.values.uniqueUsers)).toBeLessThanOrEqual(Math.max(2, frame.today.values.uniqueUsers * 0.03));
    }
    // the two nation instants differ: the second saw the later events
    expect(recorded[2]!.frame.today.values.conversions).toBeGreaterThan(recorded[0]!.frame.today.values.conversions);
    expect(recorded[0]!.frame.trend.some((p) => p.exposure > 0)).toBe(true);
  }, 60_000);

  it('counts the unique users of the last 24 h and of today as the raw events do (sketches of whole hours, customers of the ragged ends)', async () => {
    const truth = async (from: number, to: number, column: string | null, value: string | null) => {
      const { rows: [row] } = await app.db.query<{ n: number }>(
        `SELECT count(DISTINCT user_id)::int AS n FROM events WHERE ts >= $1 AND ts < $2 AND user_id IS NOT NULL${column ? ` AND ${column} = $3` : ''}`,
        [new Date(from).toISOString(), new Date(to).toISOString(), ...(value ? [value] : [])],
      );
      return row!.n;
    };
    // an instant whose 24 h window begins 20 minutes into an hour, with customers seen only in
    // that ragged start (before the instant's today began)
    const HOUR = 3_600_000;
    const raggedAt = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR + 20 * 60_000;
    const raggedStart = raggedAt + 10_000 - DAY;
    await postAll((events) => app.post(events), [0, 1, 2].map((i) => ({ id: `rs-${i}`, type: 'conversion', ts: raggedStart + 5 * 60_000 + i, channel: 'douyin', region: 'east', value: 10, userId: `ragged-${i}` }) as TruthEvent), 10);
    await app.drained();
    let compared = 0;
    // now, two hours into yesterday's traffic (its window's ragged end holds some of it), and that instant
    for (const at of [Date.now() - 30_000, Date.now() - DAY - 2 * HOUR + 17 * 60_000 + 3_000, raggedAt]) {
      for (const [column, value] of [[null, null], ['region', 'east'], ['store', 'sh-jingan'], ['channel', 'douyin']] as const) {
        const { status, body } = await replay(at, column ? `&${column}=${value}` : '');
        expect(status).toBe(200);
        const { frame } = body;
        const label = `${new Date(at).toISOString()} ${column ?? 'nation'}`;
        for (const w of ['1h', '24h'] as const) {
          const window = frame.windows[w];
          expect(window.uniqueUsers, `${label} ${w}`).toBe(await truth(Date.parse(window.from), Date.parse(window.to), column, value));
        }
        const today = await truth(Date.parse(frame.today.from), Date.parse(frame.today.to), column, value);
        expect(frame.today.values.uniqueUsers, `${label} today`).toBe(today);
        if (today > 0) compared++;
      }
    }
    expect(compared).toBeGreaterThan(3);
  });

  it('takes an ISO time with a zone, and refuses the future, the distant past and a bad time by name', async () => {
    const at = new Date(Date.now() - 60_000);
    const local = new Date(at.getTime() + 8 * 3_600_000).toISOString().replace('Z', '+08:00');
    const { status, body } = await replay(local);
    expect(status).toBe(200);
    expect(body.frame.asOf).toBe(at.toISOString());
    expect((await replay(Date.now() + 60_000)).body.error).toMatch(/^at: is in the future/);
    expect((await replay(Date.now() - 500 * DAY)).body.error).toMatch(/^at: replay reaches back 400 days/);
    expect((await replay('2026-02-30T10:00:00+08:00')).body.error).toMatch(/^at: /);
  });

  it('keeps a manager to its regions', async () => {
    const at = Date.now() - 30_000;
    expect((await replay(at, '&region=north', 'manager-east')).status).toBe(403);
    expect((await replay(at, '&store=bj-sanlitun', 'manager-east')).status).toBe(403);
    const own = await replay(at, '', 'manager-east');
    expect(own.status).toBe(200);
    expect(own.body.frame.viewKey).toBe('r:east');
  });

  it('shows the alerts of that moment in their states then', async () => {
    const t = Date.now() - 3_600_000;
    await app.db.query(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at, recovering_since, resolved_at, acked_by, acked_at, summary, summary_en, updated_at) VALUES
       ('rp-a', 'r', 'a', '{"region":"east"}', 'east', 'critical', 'resolved', $1, $2, $5, $3, 'oncall', $4, 's', 's', $3),
       ('rp-b', 'r', 'b', '{"region":"north"}', 'north', 'warning', 'firing', $2, $4, NULL, NULL, NULL, NULL, 's', 's', $4)`,
      [new Date(t), new Date(t + 60_000), new Date(t + 20 * 60_000), new Date(t + 5 * 60_000), new Date(t + 15 * 60_000)],
    );
    const states = async (at: number, username = 'ops') => Object.fromEntries((await replay(at, '', username)).body.alerts.filter((a) => a.id.startsWith('rp-')).map((a) => [a.id, [a.state, a.ackedBy]]));
    expect(await states(t + 30_000)).toEqual({ 'rp-a': ['pending', null] });
    expect(await states(t + 2 * 60_000)).toEqual({ 'rp-a': ['firing', null], 'rp-b': ['pending', null] });
    expect(await states(t + 10 * 60_000)).toEqual({ 'rp-a': ['firing', 'oncall'], 'rp-b': ['firing', null] });
    // back to normal at minute 15, kept open (keepFiringFor) until it resolved at minute 20
    expect(await states(t + 17 * 60_000)).toEqual({ 'rp-a': ['recovering', 'oncall'], 'rp-b': ['firing', null] });
    expect(await states(t + 25 * 60_000)).toEqual({ 'rp-a': ['resolved', 'oncall'], 'rp-b': ['firing', null] });
    expect(await states(t + 25 * 60_000, 'manager-east')).toEqual({ 'rp-a': ['resolved', 'oncall'] });
  });
});
