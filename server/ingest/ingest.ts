import type { IngestKeys } from './ingest-keys.js';
import type { EntrySigner } from '../../stream/entry-signature.js';
import type { IngestFairness } from './ingest-fairness.js';
import express, { type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../../config/load.js';
import { createEventValidator } from '../../stream/event-validate.js';
import { streamBacklog, type RedisKeys } from '../../stream/redis-keys.js';
import type { IngestResponse, MarketingEvent } from '../../stream/types.js';
import { parseEventsBody } from './ingest-body.js';
import { writeToStream } from './stream-write.js';
import type { ServerMetrics } from '../http/server-metrics.js';

export interface IngestDeps {
  cfg: AppConfig;
  redis: Redis;
  keys: RedisKeys;
  /** the current ingest keys (configured ones and those admins created; revocable without a restart) */
  ingestKeys: Pick<IngestKeys, 'accepts'>;
  metrics: ServerMetrics;
  /** replaces phone and e-mail userIds by their keyed hash */
  pseudonymize: (userId: string) => string;
  /** signs entries so the processor knows they were validated here */
  signer: EntrySigner;
  /** the producers' fair share of the backlog */
  fairness: IngestFairness;
}

const JSON_TYPE = 'application/json';
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson'];

const fieldOf = (error: string) => error.slice(0, error.indexOf(':')) || 'event';

/** POST /api/v1/events (CONTRACT §3): 202 only once the accepted events are in the Redis stream. */
export function ingestRouter(deps: IngestDeps) {
  const { cfg, redis, keys, metrics } = deps;
  const limits = cfg.pipeline.ingest;
  const validate = createEventValidator(cfg, deps.pseudonymize);
  const router = express.Router();
  const readBody = express.raw({ type: () => true, limit: limits.maxBytesPerRequest });

  const refuse = (res: Response, status: number, error: string, headers: Record<string, string> = {}) => {
    metrics.ingestRequests.inc({ status: String(status) });
    res.set(headers).status(status).json({ error });
  };

  router.post('/api/v1/events', (req: Request, res: Response, next) => {
    const apiKey = req.get('x-api-key');
    if (!apiKey || !deps.ingestKeys.accepts(apiKey)) return refuse(res, 401, apiKey ? 'unknown API key' : 'missing X-Api-Key header');
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== JSON_TYPE && !NDJSON_TYPES.includes(type)) {
      return refuse(res, 415, `content type must be ${JSON_TYPE} or application/x-ndjson, not "${type || 'none'}"`);
    }
    const declared = Number(req.get('content-length') ?? 0);
    if (declared > limits.maxBytesPerRequest) return refuse(res, 413, `body larger than ${limits.maxBytesPerRequest} bytes`);
    readBody(req, res, (err?: unknown) => {
      if (err) {
        const status = (err as { status?: number }).status === 413 ? 413 : 400;
        return refuse(res, status, status === 413 ? `body larger than ${limits.maxBytesPerRequest} bytes` : 'could not read the body');
      }
      handle(req, res, type !== JSON_TYPE, apiKey).catch(next);
    });
  });

  async function handle(req: Request, res: Response, ndjson: boolean, apiKey: string): Promise<void> {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const parsed = parseEventsBody(body, ndjson, limits.maxEventsPerRequest);
    if (!parsed.ok) return refuse(res, parsed.status, parsed.error);

    let backlog: number;
    try {
      backlog = await streamBacklog(redis, keys);
    } catch {
      return refuse(res, 503, 'the event stream is unavailable; retry later', { 'Retry-After': String(limits.retryAfterSeconds) });
    }
    if (backlog >= limits.maxBacklogEntries) {
      metrics.ingestBackpressure.inc();
      return refuse(res, 429, `pipeline saturated (${backlog} unprocessed stream entries); retry later`, { 'Retry-After': String(limits.retryAfterSeconds) });
    }
    if (!(await deps.fairness.mayWrite(apiKey, backlog, limits.maxBacklogEntries).catch(() => true))) {
      metrics.ingestBackpressure.inc();
      return refuse(res, 429, `pipeline busy (${backlog} unprocessed stream entries) and this key has written more than its fair share of them; retry later`, { 'Retry-After': String(limits.retryAfterSeconds) });
    }

    const now = Date.now();
    const accepted: MarketingEvent[] = [];
    const rejected: IngestResponse['rejected'] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    parsed.items.forEach((item, index) => {
      const result = 'error' in item ? { ok: false as const, error: item.error } : validate(item.raw, now);
      if (!result.ok) {
        rejected.push({ index, error: result.error });
        metrics.ingestRejected.inc({ field: fieldOf(result.error) });
        return;
      }
      if (seen.has(result.event.id)) {
        duplicates++;
        return;
      }
      seen.add(result.event.id);
      accepted.push(result.event);
    });

    let entries = 0;
    if (accepted.length) {
      try {
        entries = await writeToStream(redis, keys, limits, deps.signer, accepted);
      } catch {
        return refuse(res, 503, 'the event stream is unavailable; send the whole request again later (each event id is counted once)', { 'Retry-After': String(limits.retryAfterSeconds) });
      }
    }
    if (entries) await deps.fairness.wrote(apiKey, entries).catch(() => {});
    metrics.ingestAccepted.inc(accepted.length);
    metrics.ingestDuplicates.inc(duplicates);
    metrics.ingestRequests.inc({ status: '202' });
    const response: IngestResponse = { accepted: accepted.length, duplicates, rejected };
    res.status(202).json(response);
  }

  return router;
}
