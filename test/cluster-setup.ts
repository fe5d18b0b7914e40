// The cluster run of `npm test` (vitest.cluster.config.ts): a real 3-master + 3-replica Redis
// Cluster of its own (test/redis-cluster.ts), the stream split into 4 partitions, and every 202
// waiting for a replica. The test files it runs read REDIS_URL as they do on one Redis.
import { startRedisCluster } from './redis-cluster.js';

export default async function setup(): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster();
  process.env.REDIS_URL = cluster.url;
  process.env.STREAM_PARTITIONS = '4';
  process.env.INGEST_REPLICAS_TO_WAIT = '1';
  return async () => cluster.close();
}
