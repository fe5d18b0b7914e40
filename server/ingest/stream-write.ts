// Writes a request's accepted events to the stream partitions: each customer's events to the
// partition of that customer (so each partition's unique-user sketches are disjoint and add up),
// each partition's entries in one MULTI on the node that serves it, then — when the deployment asks
// for it — WAIT until that many replicas hold them, so a failover cannot lose what got a 202.
import type { Redis } from 'ioredis';
import type { AppConfig } from '../../config/load.js';
import { clusterOf } from '../../stream/connect.js';
import type { EntrySigner } from '../../stream/entry-signature.js';
import { INGEST_SOURCE } from '../../stream/entries.js';
import { partitionOf, type RedisKeys } from '../../stream/redis-keys.js';
import type { MarketingEvent } from '../../stream/types.js';
import { entryJson } from './entry-json.js';

/**
 * Returns how many stream entries were written. Throws if any partition failed: the others may have
 * taken theirs (and a failed WAIT leaves its entries on the master), so the caller resends the whole
 * request — the processors count each event id once.
 */
export async function writeToStream(redis: Redis, keys: RedisKeys, ingest: AppConfig['pipeline']['ingest'], signer: EntrySigner, events: MarketingEvent[]): Promise<number> {
  const byPartition = new Map<number, MarketingEvent[]>();
  for (const event of events) {
    const p = partitionOf(event.userId ?? event.id, keys.partitions.length);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, (list = []));
    list.push(event);
  }
  let entries = 0;
  const write = async (p: number, list: MarketingEvent[]): Promise<number> => {
    const partition = keys.partitions[p]!;
    // MULTI … EXEC, then WAIT, in one pipeline: on a cluster it goes to the node of the XADDs' slot,
    // and WAIT must follow the EXEC on that connection (inside the MULTI it would answer at once)
    const batch = redis.pipeline().call('MULTI');
    let count = 0;
    for (let i = 0; i < list.length; i += ingest.eventsPerStreamEntry) {
      // encoded once, for the signature and the socket (as text, each would encode it again)
      const payload = entryJson(list.slice(i, i + ingest.eventsPerStreamEntry));
      batch.xadd(partition.stream, '*', 'src', INGEST_SOURCE, 'events', payload, 'sig', signer.sign(payload));
      count++;
    }
    batch.call('EXEC');
    if (ingest.replicasToWait > 0) batch.call('WAIT', ingest.replicasToWait, ingest.replicaWaitMs);
    const replies = (await batch.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const exec = replies[count + 1]?.[1];
    if (!Array.isArray(exec)) throw new Error('the MULTI was discarded');
    if (ingest.replicasToWait > 0 && Number(replies[count + 2]?.[1]) < ingest.replicasToWait) {
      throw new Error(`only ${Number(replies[count + 2]?.[1])} of ${ingest.replicasToWait} replicas confirmed the entries in ${ingest.replicaWaitMs} ms`);
    }
    return count;
  };
  const results = await Promise.allSettled([...byPartition].map(async ([p, list]) => {
    try {
      entries += await write(p, list);
    } catch (err) {
      // the partition's slot moved (a failover): ioredis does not follow MOVED inside a MULTI, so
      // learn the new owner and try once more there (the MULTI was refused whole: nothing was written)
      const cluster = clusterOf(redis);
      if (!cluster || !/^(MOVED|ASK) /.test((err as Error).message)) throw err;
      await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
      entries += await write(p, list);
    }
  }));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason as Error;
  return entries;
}
