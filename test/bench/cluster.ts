// Ingest on a real Redis Cluster (3 masters + 3 replicas on this machine, appendfsync always, every
// 202 waiting for a replica) with the stream in 1, 2 and 4 partitions and as many processors:
// throughput, exactness and CPU per process. On 2 cores it cannot scale out; it shows where the
// CPU goes, which the README's scaling model multiplies.
import type { AppConfig } from '../../config/load.js';
import type { StoreSettings } from '../../stream/connect.js';
import { startRedisCluster } from '../redis-cluster.js';
import { benchIngest } from './ingest.js';
import type { BenchResult } from './report.js';

export async function benchCluster(cfg: AppConfig, stores: StoreSettings, options: { seconds: number; rate: number; partitions: number[]; ceilings: { streamEventsPerSec: number; copyRowsPerSec: number } }): Promise<BenchResult[]> {
  const cluster = await startRedisCluster();
  const results: BenchResult[] = [];
  try {
    for (const partitions of options.partitions) {
      process.stdout.write(`  cluster: ${partitions} partition(s) × ${partitions} processor(s)…\n`);
      const own = { ...stores, redisUrl: cluster.url, redisPrefix: `${stores.redisPrefix}c${partitions}:`, dbSchema: `${stores.dbSchema}_c${partitions}` };
      const [result] = await benchIngest(cfg, own, {
        seconds: options.seconds, rate: options.rate, latencyRate: 0, processors: partitions, ceilings: options.ceilings, latency: false,
        name: `cluster-ingest-${partitions}p`, env: { STREAM_PARTITIONS: String(partitions), INGEST_REPLICAS_TO_WAIT: '1' },
      });
      results.push({ ...result!, notes: `Redis Cluster 3+3, WAIT 1; ${result!.notes}` });
    }
  } finally {
    cluster.close();
  }
  return results;
}
