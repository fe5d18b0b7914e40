// Audience export against real PostgreSQL and HTTP: a million customers streamed as CSV with the
// server's memory bounded, the filters and the roles (a manager only its regions), clear 400s,
// and the audit record of who exported which audience and how many rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGES, TIERS } from '../stream/segment-names.js';
import { startTestApp, type TestApp } from './harness.js';

let app: TestApp;
const CUSTOMERS = 1_000_000;
const REGIONS = ['east', 'north', 'south', 'central', 'southwest', 'northwest', 'northeast'];

beforeAll(async () => {
  app = await startTestApp('audience');
  // the last segments run's customers, as the job leaves them: keyed ids, never phones or e-mails
  await app.db.query(
    `INSERT INTO customer_segments (user_id, region, first_order, last_order, orders, monetary, r, f, m, tier, stage)
     SELECT 'k' || md5(i::text), ($1::text[])[1 + i % 7], now() - interval '300 days', now() - (i % 200) * interval '1 day',
            1 + i % 9, (i % 5000) + 0.5, 1 + i % 5, 1 + (i / 7) % 5, 1 + (i / 11) % 5, ($2::text[])[1 + (i / 3) % 5], ($3::text[])[1 + (i / 5) % 5]
     FROM generate_series(1, $4::int) i`,
    [REGIONS, TIERS, STAGES, CUSTOMERS],
  );
}, 120_000);
afterAll(async () => app?.close());

const exportAs = async (query: string, username = 'ops') =>
  fetch(`${app.server.url}/api/v1/audiences/export${query}`, { headers: { authorization: `Bearer ${await app.token(username)}` } });

/** Reads a streamed answer line by line, keeping only the count, a few lines and the peak heap growth. */
async function consume(response: Response): Promise<{ lines: number; first: string[]; heapGrowthMb: number }> {
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = heapBefore;
  let lines = 0;
  const first: string[] = [];
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      if (first.length < 3) first.push(line);
      lines++;
    }
    if (lines % 50_000 < 2_000) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  return { lines, first, heapGrowthMb: (peak - heapBefore) / 1e6 };
}

describe('audience export', () => {
  it('streams a million customers as CSV of their keyed ids with bounded memory, and audits it', async () => {
    const response = await exportAs('');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="audience-all-tiers-all-stages-all-regions-\d{4}-\d{2}-\d{2}\.csv"$/);
    const { lines, first, heapGrowthMb } = await consume(response);
    expect(lines).toBe(CUSTOMERS + 1);
    expect(first[0]).toBe('user_id,region,tier,stage,orders,monetary,first_order,last_order,r,f,m');
    expect(first[1]).toMatch(/^k[0-9a-f]{32},\w+,\w+,\w+,\d+,[\d.]+,/);
    // the server runs in this process: a million rows (~130 MB of CSV) pass through without piling up
    expect(heapGrowthMb).toBeLessThan(120);
    const { entries } = (await (await app.get('/api/v1/audit?action=export&limit=1', 'admin')).json()) as { entries: Array<{ actor: string; target: string; detail: { audience: unknown; rows: number; finished: boolean } }> };
    expect(entries[0]).toMatchObject({ actor: 'ops', target: 'audience', detail: { audience: { tier: null, stage: null, regions: null }, rows: CUSTOMERS, finished: true } });
  });

  it('exports a tier × stage × region audience exactly; a manager only its regions', async () => {
    const { rows } = await app.db.query(`SELECT user_id FROM customer_segments WHERE tier = 'high_value' AND stage = 'loyal' AND region = 'east' ORDER BY user_id`);
    const filtered = await consume(await exportAs('?tier=high_value&stage=loyal&region=east'));
    expect(filtered.lines).toBe(rows.length + 1);
    expect(filtered.first[1]!.split(',')[0]).toBe(rows[0]!.user_id);

    // manager-east: its region by default, the same audience as ops asked for; another region refused
    const { rows: east } = await app.db.query(`SELECT count(*)::int AS n FROM customer_segments WHERE region = 'east' AND tier = 'churned'`);
    expect((await consume(await exportAs('?tier=churned', 'manager-east'))).lines).toBe(east[0].n + 1);
    expect((await exportAs('?region=north', 'manager-east')).status).toBe(403);
    expect((await exportAs('', 'oncall')).status).toBe(403);
    const { entries } = (await (await app.get('/api/v1/audit?action=export&limit=1', 'admin')).json()) as { entries: Array<{ actor: string; detail: { audience: unknown; rows: number } }> };
    expect(entries[0]).toMatchObject({ actor: 'manager-east', detail: { audience: { tier: 'churned', stage: null, regions: ['east'] }, rows: east[0].n } });
  });

  it('answers a clear 400 naming an unknown tier, stage or region', async () => {
    for (const [query, error] of [['?tier=vip', /^tier: .*high_value/], ['?stage=zombie', /^stage: .*dormant/], ['?region=atlantis', /^region: unknown region "atlantis"$/], ['?limit=5', /^query: Unrecognized key: "limit"$/]] as const) {
      const response = await exportAs(query);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(error);
    }
  });

  it('runs at most two exports at once per server: a third waits its turn (429, Retry-After), and a slot frees when a caller leaves', async () => {
    const holders = await Promise.all([0, 1].map(async () => {
      const controller = new AbortController();
      const response = await fetch(`${app.server.url}/api/v1/audiences/export`, { headers: { authorization: `Bearer ${await app.token('ops')}` }, signal: controller.signal });
      expect(response.status).toBe(200);
      await response.body!.getReader().read(); // then reads no more: the COPY waits on it
      return controller;
    }));
    const third = await exportAs('?tier=churned');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('30');
    expect(((await third.json()) as { error: string }).error).toMatch(/^2 audience exports are running/);
    // other routes still answer meanwhile
    expect((await app.get('/api/v1/segments')).status).toBe(200);
    for (const holder of holders) holder.abort();
    const deadline = Date.now() + 5_000;
    let next = await exportAs('?tier=high_value&stage=new&region=northwest');
    while (next.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = await exportAs('?tier=high_value&stage=new&region=northwest');
    }
    expect(next.status).toBe(200);
    await next.text();
  });

  it('frees its connection when the caller goes away half way, and says so in the audit log', async () => {
    const controller = new AbortController();
    const response = await fetch(`${app.server.url}/api/v1/audiences/export`, { headers: { authorization: `Bearer ${await app.token('admin')}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { entries } = (await (await app.get('/api/v1/audit?action=export&limit=1', 'admin')).json()) as { entries: Array<{ actor: string; detail: { rows: number; finished: boolean } }> };
    expect(entries[0]).toMatchObject({ actor: 'admin', detail: { finished: false } });
    expect(entries[0]!.detail.rows).toBeLessThan(CUSTOMERS);
    // the pool still answers (the abandoned COPY's connection was closed, not handed out again)
    expect((await exportAs('?tier=high_value&stage=new&region=northwest')).status).toBe(200);
  });
});
