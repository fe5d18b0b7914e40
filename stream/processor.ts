import type { ChainableCommander, Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/load.js';
import { hotDelta, rollupRows, type HotDelta } from './aggregate.js';
import { redactPersonal } from './pseudonymize.js';
import { isRefusedData, writeAroundRefusals, writeBatch, type SinkOptions, type SinkResult } from './db/sink.js';
import { dropRepeatedIds, parseEntries, type DeadLetter, type RawEntry } from './entries.js';
import type { EntrySigner } from './entry-signature.js';
import { createEventValidator } from './event-validate.js';
import { applyEntriesArgs } from './hot-write.js';
import type { ProcessorMetrics } from './processor-metrics.js';
import type { PartitionKeys, RedisKeys } from './redis-keys.js';
import type { MarketingEvent } from './types.js';

export interface ProcessorDeps {
  cfg: AppConfig;
  /** replaces phone and e-mail userIds by their keyed hash (entries XADDed by producers are validated here) */
  pseudonymize: (userId: string) => string;
  /** verifies the ingest API's entry signatures */
  signer: EntrySigner;
  /** for commands; scripts defined with defineHotScripts */
  redis: Redis;
  /** a connection of its own for the blocking XREADGROUP */
  blockingRedis: Redis;
  pool: Pool;
  keys: RedisKeys;
  /** the stream partition this loop consumes (a processor runs one loop per partition) */
  partition: PartitionKeys;
  sink: SinkOptions;
  consumer: string;
  log: Logger;
  metrics: ProcessorMetrics;
}

const DEAD_LETTER_MAXLEN = 100_000;
/**
 * Entries applied to the hot buckets in one call, their deltas summed, until their events reach
 * this many: a call of 32 ingest entries (32 000 events) held Redis, and every other client
 * (ingest, screens), for tens of ms; 8 of them keep most of the saving. Counted in events, not
 * entries, because a producer's own entry may hold far more than ingest's 1 000 (it goes alone).
 */
const EVENTS_PER_APPLY = 8000;
/** Hot applies of one entry that may fail before it is dead-lettered (its events are in the database already). */
export const MAX_APPLY_ATTEMPTS = 3;
/** Queues one dead letter (personal data in its payload masked) on a pipeline or MULTI. */
function addDeadLetter(commands: ChainableCommander, partition: PartitionKeys, dead: DeadLetter): void {
  commands.xadd(partition.deadLetter, 'MAXLEN', '~', DEAD_LETTER_MAXLEN, '*',
    'entry', dead.entryId, 'index', dead.index === null ? '' : String(dead.index), 'reason', dead.reason, 'payload', redactPersonal(dead.payload));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the consumer group (from the start of the stream, so nothing written earlier is skipped). */
export async function ensureConsumerGroup(redis: Redis, partition: PartitionKeys, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', partition.stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

/**
 * One member of the consumer group: reads batches of entries, stores them in the database
 * (idempotent on event id), then applies each entry's increments to the hot buckets and
 * acknowledges it in one Lua call. Killed at any point, it loses and double-counts nothing.
 */
export class StreamProcessor {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly validate;
  private readonly moneyScale: number;
  /** entry id → hot applies that failed, until it is applied or dead-lettered */
  private readonly applyFailures = new Map<string, number>();

  constructor(private readonly deps: ProcessorDeps) {
    this.validate = createEventValidator(deps.cfg, deps.pseudonymize);
    this.moneyScale = 10 ** deps.cfg.pipeline.events.valueDecimals;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the batch in flight, then returns. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { log, cfg } = this.deps;
    let ownPendingFirst = true;
    let lastClaimAt = 0;
    let failures = 0;
    while (this.running) {
      try {
        if (ownPendingFirst) {
          await ensureConsumerGroup(this.deps.redis, this.deps.partition, this.deps.keys.group);
          const own = await this.read('0', false);
          if (own.length) await this.processEntries(own);
          else ownPendingFirst = false;
        } else if (Date.now() - lastClaimAt > cfg.pipeline.processor.claimIdleMs / 2) {
          lastClaimAt = Date.now();
          const claimed = await this.claimAbandoned();
          if (claimed.length) await this.processEntries(claimed);
        } else {
          const fresh = await this.read('>', true);
          if (fresh.length) await this.processEntries(fresh);
        }
        failures = 0;
      } catch (err) {
        this.deps.metrics.failures.inc();
        failures++;
        log.warn({ err: (err as Error).message, failures }, 'batch failed; it stays pending and is retried');
        ownPendingFirst = true;
        await sleep(Math.min(200 * 2 ** failures, 5000));
      }
    }
  }

  private async read(from: '0' | '>', block: boolean): Promise<RawEntry[]> {
    const { keys, partition, consumer, cfg } = this.deps;
    const connection = block ? this.deps.blockingRedis : this.deps.redis;
    const args: Array<string | number> = ['GROUP', keys.group, consumer, 'COUNT', cfg.pipeline.processor.readEntries];
    if (block) args.push('BLOCK', cfg.pipeline.processor.blockMs);
    const reply = (await connection.call('XREADGROUP', ...args, 'STREAMS', partition.stream, from)) as Array<[string, RawEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }

  private async claimAbandoned(): Promise<RawEntry[]> {
    const { keys, partition, consumer, cfg } = this.deps;
    const reply = (await this.deps.redis.call(
      'XAUTOCLAIM', partition.stream, keys.group, consumer, cfg.pipeline.processor.claimIdleMs, '0-0', 'COUNT', cfg.pipeline.processor.readEntries,
    )) as [string, RawEntry[], string[]?];
    return reply[1];
  }

  /** Exposed for tests that drive the processor step by step. */
  async processEntries(entries: RawEntry[]): Promise<void> {
    const { redis, pool, keys, partition, sink, metrics, cfg } = this.deps;
    const endTimer = metrics.batchSeconds.startTimer();
    const parsed = parseEntries(entries, this.validate, this.deps.signer);
    const { unique, repeated } = dropRepeatedIds(parsed.events);
    let result: SinkResult;
    try {
      result = await writeBatch(pool, unique, sink);
    } catch (err) {
      if (!isRefusedData(err)) throw err;
      // an event the database will never take must not hold the stream up: isolate and dead-letter it
      const isolated = await writeAroundRefusals(pool, unique, sink);
      for (const { item, reason } of isolated.refused) {
        parsed.deadLetters.push({ entryId: item.entryId, index: null, reason, payload: JSON.stringify(item.event).slice(0, 10_000) });
      }
      this.deps.log.warn({ refused: isolated.refused.length, err: (err as Error).message }, 'the database refused events; they went to the dead-letter stream');
      result = isolated;
    }

    const { countedIds } = result;
    const eventsOf = new Map<string, MarketingEvent[]>(parsed.entryIds.map((id) => [id, []]));
    for (const item of unique) if (countedIds === 'all' || countedIds.has(item.event.id)) eventsOf.get(item.entryId)!.push(item.event);
    const oldestKept = Date.now() - cfg.pipeline.windows.hotRetention;
    const deltaOf = (entryIds: string[]) => hotDelta(rollupRows(entryIds.flatMap((id) => eventsOf.get(id)!), this.moneyScale), oldestKept);

    // the entries in calls of up to EVENTS_PER_APPLY events, their deltas summed; or, should one
    // of a call's entries be applied already (claimed by another consumer) or the call fail, each
    // of its entries in a call of its own
    const pipeline = redis.pipeline();
    for (const dead of parsed.deadLetters) addDeadLetter(pipeline, partition, dead);
    const groups: string[][] = [];
    let events = Infinity;
    for (const entryId of parsed.entryIds) {
      const n = eventsOf.get(entryId)!.length;
      if (events + n > EVENTS_PER_APPLY) {
        groups.push([]);
        events = 0;
      }
      groups.at(-1)!.push(entryId);
      events += n;
    }
    for (const group of groups) this.queueApply(pipeline, group, deltaOf(group));
    const replies = (await pipeline.exec()) ?? [];
    const deadLetterFailure = replies.slice(0, parsed.deadLetters.length).find(([err]) => err);
    if (deadLetterFailure) throw deadLetterFailure[0];
    const entryIds: string[] = [];
    const entryReplies: Array<[Error | null, unknown]> = [];
    const alone: string[] = [];
    groups.forEach((group, g) => {
      const [err, reply] = replies[parsed.deadLetters.length + g] ?? [new Error('no reply'), null];
      if (group.length > 1 && (err || reply !== 1)) return void alone.push(...group);
      for (const entryId of group) {
        entryIds.push(entryId);
        entryReplies.push([err, reply]);
      }
    });
    if (alone.length) {
      const one = redis.pipeline();
      for (const entryId of alone) this.queueApply(one, [entryId], deltaOf([entryId]));
      entryIds.push(...alone);
      entryReplies.push(...((await one.exec()) ?? alone.map((): [Error, null] => [new Error('no reply'), null])));
    }
    await this.handleApplyFailures(entryIds, entryReplies);

    metrics.processed.inc(result.inserted);
    metrics.duplicates.inc(repeated + unique.length - result.inserted);
    metrics.deadLetters.inc(parsed.deadLetters.length);
    metrics.batches.inc();
    endTimer();
  }

  private queueApply(commands: ChainableCommander, entryIds: string[], delta: HotDelta): void {
    const { keys, partition, cfg } = this.deps;
    commands.applyEntries(partition.stream, partition.dirty, partition.settled,
      ...applyEntriesArgs(keys.group, partition, entryIds, delta, cfg.pipeline.windows.hotRetention));
  }

  /**
   * An entry whose hot apply failed stays pending (the script applies all of it or nothing) and the
   * batch is retried; one that failed MAX_APPLY_ATTEMPTS times is dead-lettered with the reason and
   * acknowledged, so it cannot hold the stream up. Its events are in the database, which stays exact,
   * and the reconciliation restores the hot buckets from it.
   */
  private async handleApplyFailures(entryIds: string[], replies: Array<[Error | null, unknown]>): Promise<void> {
    const { redis, keys, partition, log } = this.deps;
    const failed: Array<{ entryId: string; err: Error }> = [];
    entryIds.forEach((entryId, i) => {
      const [err] = replies[i] ?? [new Error('no reply')];
      if (err) failed.push({ entryId, err });
      else this.applyFailures.delete(entryId);
    });
    if (!failed.length) return;
    const giveUp: typeof failed = [];
    for (const item of failed) {
      const attempts = (this.applyFailures.get(item.entryId) ?? 0) + 1;
      this.applyFailures.set(item.entryId, attempts);
      if (attempts >= MAX_APPLY_ATTEMPTS) giveUp.push(item);
    }
    if (giveUp.length) {
      const multi = redis.multi();
      for (const { entryId, err } of giveUp) {
        addDeadLetter(multi, partition, {
          entryId, index: null, payload: '',
          reason: `hot buckets refused it ${MAX_APPLY_ATTEMPTS} times (${err.message}); its events are stored, reconciliation restores the hot buckets`,
        });
        multi.xack(partition.stream, keys.group, entryId);
        multi.xdel(partition.stream, entryId);
        this.applyFailures.delete(entryId);
      }
      await multi.exec();
      this.deps.metrics.deadLetters.inc(giveUp.length);
      log.error({ entries: giveUp.map((g) => g.entryId), err: giveUp[0]!.err.message }, 'hot apply failed repeatedly; entries dead-lettered');
    }
    if (giveUp.length < failed.length) throw new Error(`hot apply failed for ${failed.length - giveUp.length} entries: ${failed[0]!.err.message}`);
  }
}
