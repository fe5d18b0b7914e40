// A producer as a real one behaves: it makes a batch of unique events on a clock (the offered
// rate does not drop when the server pushes back), queues them, and sends the queue in order,
// retrying a batch after 429/503 as Retry-After says. It keeps the ground truth of what it sent
// and of what was accepted, and counts every answer by status.

export interface ProducerLedger {
  sent: number;
  accepted: number;
  statuses: Record<string, number>;
  exposure: number;
  conversions: number;
  revenueCents: number;
}

type Post = (events: unknown[]) => Promise<Response>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function startProducer(post: Post, options: { eventsPerSecond: number; batchesPerSecond?: number; region?: string; idPrefix?: string }) {
  const batchesPerSecond = options.batchesPerSecond ?? 10;
  const perBatch = Math.round(options.eventsPerSecond / batchesPerSecond);
  const ledger: ProducerLedger = { sent: 0, accepted: 0, statuses: {}, exposure: 0, conversions: 0, revenueCents: 0 };
  const queue: Array<Array<{ id: string; type: string; ts: number; channel: string; region: string; count?: number; value?: number }>> = [];
  const prefix = options.idPrefix ?? 'load';
  let serial = 0;
  let making = true;

  const maker = setInterval(() => {
    if (!making) return;
    const now = Date.now();
    queue.push(Array.from({ length: perBatch }, () => {
      const n = serial++;
      return n % 10 === 0
        ? { id: `${prefix}-${n}`, type: 'conversion', ts: now, channel: 'app', region: options.region ?? 'east', value: (n % 997) / 100 + 1 }
        : { id: `${prefix}-${n}`, type: 'exposure', ts: now, channel: 'douyin', region: options.region ?? 'east', count: 1 + (n % 7) };
    }));
    ledger.sent += perBatch;
  }, 1000 / batchesPerSecond);

  const sender = (async () => {
    while (making || queue.length) {
      const batch = queue[0];
      if (!batch) {
        await sleep(5);
        continue;
      }
      const response = await post(batch).catch(() => null);
      const status = String(response?.status ?? 'no answer');
      ledger.statuses[status] = (ledger.statuses[status] ?? 0) + 1;
      if (response?.status === 202) {
        await response.arrayBuffer();
        queue.shift();
        ledger.accepted += batch.length;
        for (const e of batch) {
          if (e.type === 'exposure') ledger.exposure += e.count!;
          else {
            ledger.conversions += 1;
            ledger.revenueCents += Math.round(e.value! * 100);
          }
        }
        continue;
      }
      await response?.arrayBuffer().catch(() => {});
      await sleep(Number(response?.headers.get('retry-after') ?? 1) * 1000);
    }
  })();

  return {
    ledger,
    /** batches made and not yet accepted */
    queued: () => queue.length,
    /** stops making batches and waits until every queued one is accepted */
    async finish(): Promise<ProducerLedger> {
      making = false;
      clearInterval(maker);
      await sender;
      return ledger;
    },
  };
}
