// Debian's Chromium driven by playwright-core (no browser download), and helpers for the wall.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SCREENSHOT_DIR = 'test/artifacts/screens';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

export async function logIn(page: Page, baseUrl: string, username: string, hash = ''): Promise<void> {
  await page.goto(`${baseUrl}/${hash}`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'demo');
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-tile=revenue]');
}

/** The number behind a headline tile (its exact value, not the rounded text). */
export async function tileValue(page: Page, field: string): Promise<number> {
  return Number(await page.getAttribute(`[data-tile=${field}]`, 'data-value'));
}

/** Clicks, on the real canvas, the place drawn for geographic coordinates in the map chart. */
export async function clickMapAt(page: Page, lngLat: [number, number]): Promise<void> {
  const point = await page.evaluate((coords) => {
    const el = document.querySelector('[data-test=map]') as HTMLElement & { chart: { convertToPixel(finder: object, value: number[]): number[] } };
    const [x, y] = el.chart.convertToPixel({ geoIndex: 0 }, coords);
    const box = el.getBoundingClientRect();
    const scale = box.width / el.offsetWidth; // the design canvas is scaled to the window
    return { x: box.left + x! * scale, y: box.top + y! * scale };
  }, lngLat);
  await page.mouse.click(point.x, point.y);
}
