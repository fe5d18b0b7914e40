// The live views on a phone, in real Chromium with touch: the phone layout (not the wall's
// canvas shrunk), readable one-handed, the same numbers as the API, taps and the back gesture,
// pull to refresh, a manager kept to its regions, installable; the wall unchanged on TVs.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server/start-server.js';
import { createLogger } from '../stream/log.js';
import type { LiveResponse } from '../stream/types.js';
import { SCREENSHOT_DIR, launchChromium, logIn, tileValue } from './browser/chromium.js';
import { API_KEY, AUTH_SECRET, USER_ID_KEY, sleep, startTestApp, type TestApp } from './harness.js';

let app: TestApp;
let browser: Browser;
let eastStores: string[];
let northStore: string;
let seq = 0;
const post = (events: object[]) => app.post(events.map((e) => ({ id: `ph-${seq++}`, ts: Date.now() - 5_000, ...e })));

beforeAll(async () => {
  app = await startTestApp('phonebrowser', { pushIntervalMs: 250, screenDir: 'dist/screen' });
  const stores = [...app.cfg.storeById.values()];
  eastStores = stores.filter((s) => s.region === 'east').map((s) => s.id);
  northStore = stores.find((s) => s.region === 'north')!.id;
  // foot traffic and sales in three east stores (the first busiest) and one in the north, online orders in both regions
  const events: object[] = [];
  eastStores.slice(0, 3).forEach((store, i) => {
    events.push({ type: 'visit', channel: 'store', store, count: 40 - i * 10 }, { type: 'conversion', channel: 'store', store, value: 300 + i * 50 });
  });
  events.push({ type: 'visit', channel: 'store', store: northStore, count: 500 }, { type: 'conversion', channel: 'store', store: northStore, value: 9_000 });
  for (const channel of ['douyin', 'taobao', 'app']) {
    events.push({ type: 'exposure', channel, region: 'east', count: 5_000 }, { type: 'click', channel, region: 'east', count: 200 },
      { type: 'conversion', channel, region: 'east', value: 800 }, { type: 'spend', channel, region: 'east', value: 300 });
    events.push({ type: 'conversion', channel, region: 'north', value: 5_000 });
  }
  expect((await post(events)).status).toBe(202);
  await app.drained();
  browser = await launchChromium();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function phone(width = 390, height = 844): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  return context.newPage();
}

/** What one-handed reading asks of the page: no sideways scrolling, text ≥ 14 px, tap targets ≥ 44 px. */
async function readability(page: Page) {
  return page.evaluate(() => {
    const visible = (el: Element) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const smallText: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
      if (ownText && visible(el) && parseFloat(getComputedStyle(el).fontSize) < 14) smallText.push(`${el.tagName}.${el.className}: ${el.textContent!.trim().slice(0, 20)} ${getComputedStyle(el).fontSize}`);
    }
    const smallTargets = [...document.querySelectorAll('button, a[href], input')].filter(visible)
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.height < 44 || box.width < 44)
      .map(({ el, box }) => `${el.tagName} "${el.textContent!.trim().slice(0, 20)}" ${Math.round(box.width)}×${Math.round(box.height)}`);
    return { scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth, canvas: Boolean(document.querySelector('.design-canvas')), smallText, smallTargets };
  });
}

const liveOf = async (query: string, username: string) => (await (await app.get(`/api/v1/live${query}`, username)).json()) as LiveResponse;

describe('the phone layout', () => {
  it("shows a manager's region at 390×844 as one readable column, the tiles equal to /api/v1/live, a posted event within 2 s", async () => {
    const page = await phone();
    await logIn(page, app.server.url, 'manager-east');
    await page.waitForSelector('.phone[data-level=region]');
    expect(await page.evaluate(() => location.hash)).toBe('#/region/east');
    const checked = await readability(page);
    expect(checked.canvas).toBe(false);
    expect(checked.scrollWidth).toBeLessThanOrEqual(checked.width);
    expect(checked.smallText).toEqual([]);
    expect(checked.smallTargets).toEqual([]);
    const live = await liveOf('?region=east', 'manager-east');
    for (const field of ['exposure', 'clicks', 'conversions', 'revenue', 'spend', 'visits'] as const) {
      expect(await tileValue(page, field), field).toBeCloseTo(live.today[field], 4);
    }
    // the region's stores ranked by foot traffic, each a row to tap
    const places = await page.$$eval('[data-test=place]', (rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(places.slice(0, 3)).toEqual(eastStores.slice(0, 3));
    expect(places).not.toContain(northStore);

    const before = await tileValue(page, 'conversions');
    const posted = Date.now();
    expect((await post([{ type: 'conversion', channel: 'douyin', region: 'east', value: 123, ts: Date.now() }])).status).toBe(202);
    await page.waitForFunction((b) => Number(document.querySelector('[data-tile=conversions]')?.getAttribute('data-value')) === b + 1, before, { timeout: 2_000 });
    expect(Date.now() - posted).toBeLessThan(2_000);
    await sleep(1_200);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/phone-region-east-390x844.png` });
    await page.screenshot({ path: `${SCREENSHOT_DIR}/phone-region-east-390x844-full.png`, fullPage: true });
    await page.context().close();
  });

  it('opens a store with a tap, returns with the back gesture, and a link from the wall opens the same view', async () => {
    const page = await phone();
    await logIn(page, app.server.url, 'manager-east');
    await page.waitForSelector('.phone[data-level=region]');
    await page.tap(`[data-test=place][data-id="${eastStores[1]}"]`);
    await page.waitForSelector('.phone[data-level=store]');
    expect(await page.evaluate(() => location.hash)).toBe(`#/store/${eastStores[1]}`);
    const store = await liveOf(`?store=${eastStores[1]}`, 'manager-east');
    expect(await tileValue(page, 'visits')).toBe(store.today.visits);
    expect(await page.textContent('[data-test=view-title]')).toBe(app.cfg.storeById.get(eastStores[1]!)!.name);
    expect(await page.textContent('[data-test=breadcrumb]')).toBe('全国›华东›');
    expect((await readability(page)).smallTargets).toEqual([]);
    await sleep(1_200);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/phone-store-390x844-full.png`, fullPage: true });
    await page.goBack();
    await page.waitForSelector('.phone[data-level=region]');
    expect(await page.evaluate(() => location.hash)).toBe('#/region/east');
    // the breadcrumb goes up too
    await page.tap(`[data-test=place][data-id="${eastStores[0]}"]`);
    await page.waitForSelector('.phone[data-level=store]');
    await page.tap('[data-test=breadcrumb] a >> text=华东');
    await page.waitForSelector('.phone[data-level=region]');
    await page.context().close();

    // an address shared from the wall
    const shared = await phone();
    await logIn(shared, app.server.url, 'manager-east', `#/store/${eastStores[2]}`);
    await shared.waitForSelector('.phone[data-level=store]');
    expect(await shared.evaluate(() => location.hash)).toBe(`#/store/${eastStores[2]}`);
    await shared.context().close();
  });

  it('names the longest English store in full at 390 px, on its own line under the way up, and cuts no name at its start', async () => {
    const longest = [...app.cfg.storeById.values()].reduce((a, b) => (b.nameEn.length > a.nameEn.length ? b : a));
    const region = app.cfg.regionById.get(longest.region)!;
    const page = await phone();
    await logIn(page, app.server.url, 'ops', `#/store/${longest.id}`);
    await page.waitForSelector('.phone[data-level=store]');
    await page.tap('[data-test=lang]');
    await page.waitForFunction((name) => document.querySelector('[data-test=view-title]')?.textContent === name, longest.nameEn);
    const shown = await page.evaluate(() => {
      const title = document.querySelector('[data-test=view-title]') as HTMLElement;
      // a name is cut when its text is wider than its box; cut at its start when the text begins left of the box
      const links = [...document.querySelectorAll('[data-test=breadcrumb] a')].map((a) => {
        const text = a.querySelector('span') as HTMLElement;
        return { name: text.textContent, cut: text.scrollWidth > text.clientWidth, startsInside: text.getBoundingClientRect().left >= a.getBoundingClientRect().left - 0.5 };
      });
      return { titleWhole: title.scrollWidth <= title.clientWidth, titleRight: title.getBoundingClientRect().right, links };
    });
    expect(shown.titleWhole).toBe(true);
    expect(shown.titleRight).toBeLessThanOrEqual(390);
    expect(shown.links).toEqual([{ name: 'Nation', cut: false, startsInside: true }, { name: region.nameEn, cut: false, startsInside: true }]);
    expect((await readability(page)).smallTargets).toEqual([]);
    await sleep(1_200); // the charts redraw at most once a second: their legends in English too
    await page.screenshot({ path: `${SCREENSHOT_DIR}/phone-store-en-390x844.png` });
    await page.context().close();
  });

  it("refuses a manager another region's address, as the server does", async () => {
    const page = await phone();
    await logIn(page, app.server.url, 'manager-east');
    await page.waitForSelector('.phone[data-level=region]');
    await page.evaluate(() => (location.hash = '#/region/north'));
    await page.waitForSelector('[data-test=notice]');
    expect(await page.textContent('[data-test=notice]')).toBe('无权查看该区域');
    expect(await page.evaluate(() => location.hash)).toBe('#/region/east');
    expect(await page.getAttribute('div.phone', 'data-view')).toContain('east');
    expect((await app.get('/api/v1/live?region=north', 'manager-east')).status).toBe(403);
    await page.context().close();
    // opened on another region's address, or one of its stores: the manager's own region, and the notice
    for (const address of ['#/region/north', `#/store/${northStore}`]) {
      const opened = await phone();
      await logIn(opened, app.server.url, 'manager-east', address);
      await opened.waitForSelector('[data-test=notice]');
      await opened.waitForSelector('div.phone[data-level=region]');
      expect(await opened.evaluate(() => location.hash)).toBe('#/region/east');
      expect(await opened.$$eval('[data-test=place]', (rows) => rows.map((r) => r.getAttribute('data-id')))).not.toContain(northStore);
      await opened.context().close();
    }
  });

  it('pulls down to refresh: a fresh snapshot of the view', async () => {
    const page = await phone();
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
    await logIn(page, app.server.url, 'manager-east');
    await page.waitForSelector('.phone[data-level=region]');
    await sleep(500);
    const subscribes = () => sent.filter((f) => f.includes('"subscribe"')).length;
    const before = subscribes();
    const cdp = await page.context().newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', y: number) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x: 200, y }] });
    // a short pull is not enough
    await touch('touchStart', 200);
    await touch('touchMove', 230);
    await touch('touchEnd', 230);
    await sleep(300);
    expect(subscribes()).toBe(before);
    await touch('touchStart', 200);
    for (let y = 220; y <= 320; y += 20) await touch('touchMove', y);
    expect(await page.textContent('[data-test=pull]')).toBe('松开立即刷新');
    await touch('touchEnd', 320);
    await page.waitForFunction(() => !document.querySelector('[data-test=pull]')?.hasAttribute('data-refreshing'));
    expect(subscribes()).toBe(before + 1);
    expect(await page.textContent('[data-test=connection]')).toContain('实时连接');
    await page.context().close();
  });

  it('shows a lost connection on the phone, dims the tiles, and recovers by itself when the server comes back', async () => {
    const start = (port: number) => startServer({
      cfg: app.cfg, stores: app.stores, port, host: '127.0.0.1', demoMode: true, authSecret: AUTH_SECRET, userIdKey: USER_ID_KEY,
      apiKeys: () => [API_KEY], log: createLogger('phonebrowser-2'), jobs: false, pushIntervalMs: 250, screenDir: 'dist/screen',
    });
    let server: RunningServer = await start(0);
    const port = server.port;
    const page = await phone();
    try {
      await logIn(page, server.url, 'manager-east');
      await page.waitForSelector('[data-test=connection].live');
      await server.close();
      await page.waitForSelector('[data-test=connection].lost', { timeout: 5_000 });
      expect(await page.textContent('[data-test=connection]')).toContain('连接中断');
      await page.waitForSelector('.tiles.stale', { timeout: 20_000 });
      await page.screenshot({ path: `${SCREENSHOT_DIR}/phone-connection-lost-390x844.png` });
      server = await start(port);
      await page.waitForSelector('[data-test=connection].live', { timeout: 15_000 });
      const before = await tileValue(page, 'conversions');
      expect((await post([{ type: 'conversion', channel: 'taobao', region: 'east', value: 88, ts: Date.now() }])).status).toBe(202);
      await page.waitForFunction((expected) => Number(document.querySelector('[data-tile=conversions]')?.getAttribute('data-value')) === expected, before + 1, { timeout: 3_000 });
      expect(await page.$('.tiles.stale')).toBeNull();
    } finally {
      await page.context().close();
      await server.close();
    }
  });

  it('shows ops the nation at 768×1024: regions to tap, the tiles equal to /api/v1/live, in English on request', async () => {
    const page = await phone(768, 1024);
    await logIn(page, app.server.url, 'ops');
    await page.waitForSelector('.phone[data-level=nation]');
    const checked = await readability(page);
    expect(checked.canvas).toBe(false);
    expect(checked.scrollWidth).toBeLessThanOrEqual(checked.width);
    expect(checked.smallText).toEqual([]);
    expect(checked.smallTargets).toEqual([]);
    const live = await liveOf('', 'ops');
    for (const field of ['conversions', 'revenue', 'visits'] as const) expect(await tileValue(page, field), field).toBeCloseTo(live.today[field], 4);
    const regions = await page.$$eval('[data-test=place]', (rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(regions).toHaveLength(app.cfg.regions.length);
    expect(regions[0]).toBe('north'); // the most sales today
    await page.tap('[data-test=lang]');
    await page.waitForFunction(() => document.querySelector('[data-tile=revenue] .label')?.textContent?.includes('Revenue'));
    await sleep(1_200);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/phone-nation-768x1024-en.png` });
    await page.tap('[data-test=lang]');
    await page.tap(`[data-test=place][data-id=east]`);
    await page.waitForSelector('.phone[data-level=region]');
    await page.context().close();
  });

  it('keeps the wall on TVs: the 1920×1080 canvas at 1080p and at 4K, no phone layout', async () => {
    for (const [width, height] of [[1920, 1080], [3840, 2160]] as const) {
      const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
      const page = await context.newPage();
      await logIn(page, app.server.url, 'ops');
      expect(await page.$('.phone')).toBeNull();
      const box = await page.$eval('.design-canvas', (el) => el.getBoundingClientRect().width);
      expect(box).toBe(width);
      await context.close();
    }
  });

  it('can be installed: a manifest with icons the server serves', async () => {
    const html = await (await fetch(`${app.server.url}/`)).text();
    expect(html).toContain('<link rel="manifest" href="/manifest.webmanifest"');
    const response = await fetch(`${app.server.url}/manifest.webmanifest`);
    expect(response.status).toBe(200);
    const manifest = (await response.json()) as { display: string; start_url: string; icons: Array<{ src: string; sizes: string; type: string }> };
    expect(manifest.display).toBe('standalone');
    expect(manifest.start_url).toBe('/');
    for (const size of [192, 512]) {
      const icon = manifest.icons.find((i) => i.sizes === `${size}x${size}`)!;
      const image = await fetch(`${app.server.url}${icon.src}`);
      expect(image.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await image.arrayBuffer());
      expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([size, size]);
    }
  });
});
