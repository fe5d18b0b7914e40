// What Chromium itself says about a page: JS heap after a full GC, DOM nodes, listeners, and how
// much of the time the main thread was busy (CDP Performance metrics).
import type { CDPSession, Page } from 'playwright-core';

export interface PageMetrics {
  heapUsedBytes: number;
  nodes: number;
  listeners: number;
  /** seconds the main thread spent in tasks since the page started */
  taskSeconds: number;
  at: number;
}

export async function openMetrics(page: Page): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  return cdp;
}

export async function readMetrics(cdp: CDPSession, collectGarbage = true): Promise<PageMetrics> {
  if (collectGarbage) await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const value = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { heapUsedBytes: value('JSHeapUsedSize'), nodes: value('Nodes'), listeners: value('JSEventListeners'), taskSeconds: value('TaskDuration'), at: Date.now() };
}
