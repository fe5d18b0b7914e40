import client from 'prom-client';

/** The processor's own metrics; published to Redis so the API server's /metrics can show them. */
export function createProcessorMetrics() {
  const registry = new client.Registry();
  return {
    registry,
    processed: new client.Counter({ name: 'mw_processor_events_total', help: 'Events stored for the first time', registers: [registry] }),
    duplicates: new client.Counter({ name: 'mw_processor_duplicate_events_total', help: 'Events dropped as already seen (same id)', registers: [registry] }),
    deadLetters: new client.Counter({ name: 'mw_processor_dead_letters_total', help: 'Stream entries or events sent to the dead-letter stream', registers: [registry] }),
    batches: new client.Counter({ name: 'mw_processor_batches_total', help: 'Batches applied', registers: [registry] }),
    failures: new client.Counter({ name: 'mw_processor_batch_failures_total', help: 'Batches that failed and will be retried', registers: [registry] }),
    batchSeconds: new client.Histogram({
      name: 'mw_processor_batch_duration_seconds',
      help: 'Time from reading a batch to its being visible in the hot windows',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
