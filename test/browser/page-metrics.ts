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

/** How many objects of one class (e.g. `blink::PlainTextNode`) a heap snapshot holds, after a full GC. */
export async function countHeapObjects(cdp: CDPSession, className: string): Promise<number> {
  const chunks: string[] = [];
  const onChunk = ({ chunk }: { chunk: string }) => chunks.push(chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  }
  const snapshot = JSON.parse(chunks.join('')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const nameAt = fields.indexOf('name');
  const wanted = snapshot.strings.indexOf(className);
  let count = 0;
  for (let i = nameAt; i < snapshot.nodes.length; i += fields.length) if (snapshot.nodes[i] === wanted) count++;
  return count;
}
