// The wall's label measuring (screen/charts/text-measure.ts) in real Chromium: the widths a plain
// canvas gives, and the shaped text Chromium keeps for it bounded by the canvases' rotation.
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from './browser/chromium.js';
import { countHeapObjects } from './browser/page-metrics.js';

const SHAPED = 'blink::PlainTextNode';
let browser: Browser;
let page: Page;
let cdp: CDPSession;
beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto('about:blank');
  const { code } = transformSync(readFileSync('screen/charts/text-measure.ts', 'utf8'), { loader: 'ts', format: 'iife', globalName: 'textMeasure' });
  await page.addScriptTag({ content: code });
  cdp = await page.context().newCDPSession(page);
});
afterAll(async () => browser?.close());

/** Measures `count` distinct strings with the rotating measure (perCanvas) in the page; the measure is kept on window. */
const measureDistinct = (perCanvas: number, count: number, prefix: string) =>
  page.evaluate(`{
    window.measure = textMeasure.rotatingTextMeasure(() => document.createElement('canvas'), ${perCanvas});
    for (let i = 0; i < ${count}; i++) window.measure('${prefix}' + (i * 1.37).toFixed(2), 'bold 28px sans-serif');
  }`);

it('gives the widths one plain canvas gives, across fonts and canvas changes', async () => {
  const [rotating, plain] = (await page.evaluate(`{
    const measure = textMeasure.rotatingTextMeasure(() => document.createElement('canvas'), 7);
    const reference = document.createElement('canvas').getContext('2d');
    const fonts = ['12px sans-serif', 'bold 28px sans-serif', '16px monospace'];
    const rotating = [], plain = [];
    for (let i = 0; i < 60; i++) {
      const text = ['Mm', 'il', '营收', 'W.', '¥'][i % 5].repeat(1 + (i % 4)) + ' ' + i;
      const font = fonts[i % 3];
      rotating.push(i % 5 === 0 ? measure(text).width : measure(text, font).width);
      reference.font = i % 5 === 0 ? '12px sans-serif' : font;
      plain.push(reference.measureText(text).width);
    }
    [rotating, plain];
  }`)) as [number[], number[]];
  expect(new Set(plain).size).toBeGreaterThan(30);
  expect(rotating).toEqual(plain);
});

it('lets Chromium drop the shaped text of the canvases it has replaced', async () => {
  // one canvas for everything, as zrender's own measure: Chromium keeps every string shaped
  await measureDistinct(Number.POSITIVE_INFINITY, 6000, 'one ');
  expect(await countHeapObjects(cdp, SHAPED)).toBeGreaterThanOrEqual(6000);
  // a new canvas every 1 000: what is kept is the current canvas's at most
  await measureDistinct(1000, 6000, 'rotating ');
  expect(await countHeapObjects(cdp, SHAPED)).toBeLessThanOrEqual(1000 + 50);
});
