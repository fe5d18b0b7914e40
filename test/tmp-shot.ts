import { launchChromium, logIn } from './browser/chromium.js';
const url = 'http://127.0.0.1:8391';
const browser = await launchChromium();
for (const [user, w, h, hash, name] of [['manager-east', 390, 844, '', 'east'], ['ops', 390, 844, '', 'nation'], ['manager-east', 768, 1024, '', 'east-tablet']] as const) {
  const context = await browser.newContext({ viewport: { width: w, height: h }, locale: 'zh-CN', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await logIn(page, url, user, hash);
  await page.waitForSelector('.phone [data-tile]', { timeout: 10000 });
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `/tmp/phone-${name}.png` });
  await page.screenshot({ path: `/tmp/phone-${name}-full.png`, fullPage: true });
  if (name === 'east') {
    await page.click('[data-test=place] >> nth=0');
    await page.waitForSelector('.phone[data-level=store]');
    await page.waitForTimeout(2500);
    await page.screenshot({ path: `/tmp/phone-store-full.png`, fullPage: true });
  }
  await context.close();
}
await browser.close();
