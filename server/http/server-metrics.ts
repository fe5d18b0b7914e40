import type { Redis } from 'ioredis';
import client from 'prom-client';
import { pipelineWatermark } from '../../alerts/evaluator.js';
import { streamBacklog, sumOverPartitions, type RedisKeys } from '../../stream/redis-keys.js';

export function createServerMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'mw_server_' });
  const registers = [registry];
  return {
    registry,
    ingestRequests: new client.Counter({ name: 'mw_ingest_requests_total', help: 'Ingest requests by HTTP status', labelNames: ['status'], registers }),
    ingestAccepted: new client.Counter({ name: 'mw_ingest_events_accepted_total', help: 'Events accepted into the stream', registers }),
    ingestRejected: new client.Counter({ name: 'mw_ingest_events_rejected_total', help: 'Events rejected, by the field at fault', labelNames: ['field'], registers }),
    ingestDuplicates: new client.Counter({ name: 'mw_ingest_duplicate_events_total', help: 'Events repeated within one request', registers }),
    ingestBackpressure: new client.Counter({ name: 'mw_ingest_backpressure_total', help: 'Requests answered 429 because the stream backlog was full', registers }),
    pushReadSeconds: new client.Histogram({
      name: 'mw_push_frame_read_seconds', help: 'Time to read the screen views due at one push (read together, a range they share once)',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5], registers,
    }),
    pushLatencySeconds: new client.Histogram({
      name: 'mw_push_latency_seconds', help: 'From a watched view\'s data changing (seen in the dirty set) to its frame being emitted',
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5], registers,
    }),
    alertCycleSeconds: new client.Histogram({
      name: 'mw_alert_evaluation_seconds', help: 'Time to evaluate every alert rule once (read, judge, write)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    }),
    notifications: new client.Counter({
      name: 'mw_alert_notification_attempts_total', help: 'Notification delivery attempts by notifier and result (sent, failed, skipped)',
      labelNames: ['notifier', 'result'], registers,
    }),
    watchScreens(count: () => number) {
      new client.Gauge({ name: 'mw_screen_sockets', help: 'Screens connected to this server', registers, collect() { this.set(count()); } });
    },
    logins: new client.Counter({ name: 'mw_logins_total', help: 'Login attempts by result (ok, failed, blocked)', labelNames: ['result'], registers }),
    reconcileChecked: new client.Counter({ name: 'mw_reconcile_checked_total', help: 'Hot buckets the reconciliation compared with the database', registers }),
    reconcileCorrected: new client.Counter({
      name: 'mw_reconcile_corrected_total', help: 'Hot buckets the reconciliation found drifted from the database and corrected (a real drift: alert on any)', registers,
    }),
    jobRuns: new client.Counter({ name: 'mw_job_runs_total', help: 'Scheduled job runs by job and status (succeeded, failed)', labelNames: ['job', 'status'], registers }),
    jobSeconds: new client.Histogram({
      name: 'mw_job_duration_seconds', help: 'Scheduled job run duration', labelNames: ['job'],
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900], registers,
    }),
    httpSeconds: new client.Histogram({
      name: 'mw_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers,
    }),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;

/** Gauges read at scrape time from the stream itself. */
export function registerStreamGauges(metrics: ServerMetrics, redis: Redis, keys: RedisKeys): void {
  const registers = [metrics.registry];
  new client.Gauge({
    name: 'mw_stream_backlog_entries', help: 'Stream entries not yet processed (each up to eventsPerStreamEntry events)', registers,
    async collect() { this.set(await streamBacklog(redis, keys).catch(() => -1)); },
  });
  new client.Gauge({
    name: 'mw_stream_pending_entries', help: 'Entries delivered to a processor and not yet acknowledged', registers,
    async collect() {
      this.set(await sumOverPartitions(keys, async (p) => Number(((await redis.xpending(p.stream, keys.group)) as [number])[0] ?? 0)).catch(() => 0));
    },
  });
  new client.Gauge({
    name: 'mw_stream_lag_seconds', help: 'Age of the oldest stream entry not yet processed (0 when the processors are caught up)', registers,
    async collect() {
      const now = Date.now();
      this.set((now - (await pipelineWatermark(redis, keys, now).catch(() => now))) / 1000);
    },
  });
  new client.Gauge({
    name: 'mw_stream_dead_letters', help: 'Entries in the dead-letter stream', registers,
    async collect() { this.set(await sumOverPartitions(keys, (p) => redis.xlen(p.deadLetter)).catch(() => -1)); },
  });
}

/** The server's metrics plus every live processor's, summed (processors publish theirs to Redis). */
export async function renderMetrics(metrics: ServerMetrics, redis: Redis, keys: RedisKeys): Promise<{ contentType: string; body: string }> {
  const consumers = await redis.smembers(keys.processorIndex).catch(() => [] as string[]);
  // one GET each: on a cluster the stats keys sit in different slots
  const published = await Promise.all(consumers.map((c) => redis.get(keys.processorStats(c)))).catch(() => [] as Array<string | null>);
  const gone = consumers.filter((_, i) => !published[i]);
  if (gone.length) await redis.srem(keys.processorIndex, ...gone).catch(() => {});
  const processors = published.filter((text): text is string => !!text).map((text) => JSON.parse(text) as client.MetricObjectWithValues<client.MetricValue<string>>[]);
  const processorText = processors.length ? await client.AggregatorRegistry.aggregate(processors).metrics() : '';
  return { contentType: metrics.registry.contentType, body: `${await metrics.registry.metrics()}\n${processorText}` };
}
