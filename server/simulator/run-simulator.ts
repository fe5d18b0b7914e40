import type { Logger } from 'pino';
import type { AppConfig } from '../../config/load.js';
import { generateSecond, maybeStartAnomaly, seededRandom, type GeneratorState } from './generator.js';

export interface SimulatorOptions {
  cfg: AppConfig;
  ingestUrl: string;
  apiKey: string;
  log: Logger;
  /** volume multiplier (SIM_SCALE), 1 ≈ 250 events/s at the evening peak */
  scale: number;
  /** mean minutes between injected anomalies (SIM_ANOMALY_MINUTES) */
  anomalyEveryMinutes: number;
  seed?: number;
}

/** Posts one second of generated traffic to the ingest API every second until stopped. */
export function startSimulator(options: SimulatorOptions): { stop(): void } {
  const { cfg, log } = options;
  const seed = options.seed ?? Date.now();
  const state: GeneratorState = { runId: seed.toString(36), seq: 0, random: seededRandom(seed), recentUsers: [], anomaly: null };
  let stopped = false;
  let busy = false;

  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    const now = Date.now();
    const anomaly = maybeStartAnomaly(cfg, state, now, 1 / (options.anomalyEveryMinutes * 60), 5 * 60_000);
    if (anomaly) log.info(anomaly, 'simulator: injecting an anomaly');
    const events = generateSecond(cfg, state, now, options.scale);
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
  log.info({ scale: options.scale, seed }, 'traffic simulator started');
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
