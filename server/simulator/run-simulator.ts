import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import { generateSpan, maybeStartAnomaly, type GeneratorState } from './generator.js';

export interface SimulatorOptions {
  cfg: AppConfig;
  ingestUrl: string;
  apiKey: string;
  log: Logger;
  /** volume multiplier (SIM_SCALE), 1 ≈ 60 events/s at the evening peak */
  scale: number;
  /** mean minutes between injected anomalies (SIM_ANOMALY_MINUTES) */
  anomalyEveryMinutes: number;
  /** the generator's state: the journeys a history began continue live */
  state: GeneratorState;
}

/** An injected anomaly lasts this long: long enough for the ten-minute conversion rule to see it. */
const ANOMALY_MS = 12 * 60_000;

/** Posts each second's generated traffic to the ingest API every second until stopped. */
export function startSimulator(options: SimulatorOptions): { stop(): void } {
  const { cfg, log, state } = options;
  let stopped = false;
  let busy = false;
  let last = Date.now();

  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    const now = Date.now();
    const anomaly = maybeStartAnomaly(cfg, state, now, 1 / (options.anomalyEveryMinutes * 60), ANOMALY_MS);
    if (anomaly) log.info(anomaly, 'simulator: injecting an anomaly');
    // the span since the last tick (at most 10 s, after a stall), so no second is generated twice or skipped
    const events = generateSpan(cfg, state, Math.max(last, now - 10_000), now, options.scale);
    last = now;
    // a door counter that reports a minute or two behind, now and then
    const visits = events.filter((e) => e.type === 'visit');
    if (visits.length && state.random() < 0.02) visits[Math.floor(state.random() * visits.length)]!.ts -= 60_000 + Math.floor(state.random() * 60_000);
    try {
      for (let i = 0; i < events.length; i += cfg.pipeline.ingest.maxEventsPerRequest) {
        const response = await fetch(options.ingestUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
          body: JSON.stringify(events.slice(i, i + cfg.pipeline.ingest.maxEventsPerRequest)),
          signal: AbortSignal.timeout(10_000),
        });
        if (response.status !== 202) log.warn({ status: response.status, body: (await response.text()).slice(0, 300) }, 'simulator: ingest refused a batch');
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'simulator: ingest unreachable');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(tick, 1000);
  log.info({ scale: options.scale, seed: state.runId }, 'traffic simulator started');
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
