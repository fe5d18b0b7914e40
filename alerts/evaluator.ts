// The evaluation loop: every `evaluation.interval`, one server (the Redis leader) judges every
// rule instance on event time, moves each through its lifecycle, writes the changes and the
// notifications they call for in one transaction, and then tells the screens.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { AlertRule } from '../config/alert-schema.js';
import type { AppConfig } from '../config/load.js';
import { BUCKET_MS, floorTo } from '../stream/buckets.js';
import { inTransaction } from '../stream/db/transaction.js';
import type { RedisKeys } from '../stream/redis-keys.js';
import type { ScreenAlert } from '../stream/types.js';
import { leaderLock } from '../stream/leader-lock.js';
import { assess } from './assess.js';
import { ruleDetector } from './detectors/index.js';
import { summarize } from './describe.js';
import { ruleInstances, type RuleInstance } from './instances.js';
import { advance, type ActiveState, type InstanceState, type Transition } from './lifecycle.js';
import { notificationPayload, type NotificationAlert } from './notification.js';
import { silencing } from './silences.js';
import { activeSilences, alertView, lockEvaluation, type AlertRow } from './store.js';
import { effectiveRules } from './rule-store.js';
import { createWindowReader } from './window-read.js';

export interface EvaluatorDeps {
  cfg: AppConfig;
  redis: Redis;
  pool: Pool;
  keys: RedisKeys;
  log: Logger;
  /** every change of an alert (the server emits it to the screens) */
  onAlert?: (alert: ScreenAlert) => void;
  /** after notifications were queued (the dispatcher sends them at once) */
  onNotificationsQueued?: () => void;
  /** the wall's public address (PUBLIC_URL): notifications link to each alert's page under it */
  publicUrl?: string;
  /** "why did it move?" for a firing alert: one line in Chinese and in English, or null */
  explain?: (rule: AlertRule, alert: ScreenAlert) => Promise<[string, string] | null>;
  now?: () => number;
}

export interface CycleReport {
  /** event time the windows ended at */
  end: number;
  /** skipped: the pipeline had not yet processed everything ingested before `end` */
  held: boolean;
  /** how far the pipeline is behind `end` (0 when caught up) */
  lagMs: number;
  instances: number;
  transitions: number;
  notifications: number;
  readMs: number;
  totalMs: number;
}

const CAMPAIGNS_TTL_MS = 60_000;
const HOLD_LOG_EVERY_MS = 60_000;

/**
 * Ingest time of the oldest stream entry not yet fully processed (processed entries are deleted
 * from the stream), or `now` when it is empty. Windows ending after it may still be filling.
 */
export async function pipelineWatermark(redis: Redis, keys: RedisKeys, now: number): Promise<number> {
  const firsts = await Promise.all(keys.partitions.map((p) => redis.xrange(p.stream, '-', '+', 'COUNT', 1)));
  return Math.min(now, ...firsts.flatMap(([first]) => (first ? [Number(first[0].split('-')[0])] : [])));
}

/** explanations read per cycle at most, each given at most EXPLAIN_WAIT_MS: a storm of alerts must not hold the cycle */
const MAX_EXPLAINED_PER_CYCLE = 5;
const EXPLAIN_WAIT_MS = 1_000;

/**
 * Rules grouped by campaign follow at most this many campaigns, the busiest in the hot window:
 * campaign ids come from producers, and every one would be an instance judged each cycle.
 */
export const MAX_CAMPAIGN_INSTANCES = 200;

/** The campaigns with the most events since `fromMs` (ties by id), at most `limit`; `more` when others were left out. */
export async function busiestCampaigns(pool: Pool, fromMs: number, limit: number): Promise<{ list: string[]; more: boolean }> {
  const { rows } = await pool.query<{ campaign: string }>(
    `SELECT campaign FROM rollup_10s WHERE bucket >= $1 AND campaign <> ''
     GROUP BY campaign ORDER BY sum(exposure + clicks + visits + conversions) DESC, campaign LIMIT $2`,
    [new Date(fromMs).toISOString(), limit + 1],
  );
  return { list: rows.slice(0, limit).map((r) => r.campaign).sort(), more: rows.length > limit };
}

export function createEvaluator(deps: EvaluatorDeps) {
  const { cfg, pool, log } = deps;
  const reader = createWindowReader(deps);
  const now = deps.now ?? Date.now;
  let campaigns: { list: string[]; expires: number } = { list: [], expires: 0 };
  let lastHoldLog = 0;

  async function campaignsSeen(at: number): Promise<string[]> {
    if (campaigns.expires > at) return campaigns.list;
    const { list, more } = await busiestCampaigns(pool, at - cfg.pipeline.windows.hotRetention, MAX_CAMPAIGN_INSTANCES);
    if (more) log.warn({ followed: list.length }, 'more campaigns than rules grouped by campaign follow: only the busiest are judged');
    campaigns = { list, expires: at + CAMPAIGNS_TTL_MS };
    return campaigns.list;
  }

  let explainedThisCycle = 0;
  /** Firing alerts with the line that says why (the first few of a cycle; a slow or failed read goes without). */
  async function withExplanations(rule: AlertRule, alerts: NotificationAlert[]): Promise<NotificationAlert[]> {
    if (!deps.explain) return alerts;
    return Promise.all(alerts.map(async (alert) => {
      if (alert.repeat || explainedThisCycle >= MAX_EXPLAINED_PER_CYCLE) return alert;
      explainedThisCycle++;
      let timer: NodeJS.Timeout | undefined;
      const line = await Promise.race([
        deps.explain!(rule, alert).catch((err: Error) => (deps.log.warn({ err: err.message, alert: alert.id }, 'explaining an alert failed'), null)),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), EXPLAIN_WAIT_MS))),
      ]).finally(() => clearTimeout(timer));
      return line ? { ...alert, why: line[0], whyEn: line[1] } : alert;
    }));
  }

  /** Evaluates every enabled rule once. */
  async function cycle(): Promise<CycleReport> {
    const started = now();
    explainedThisCycle = 0;
    const { settle, repeatInterval } = cfg.alerts.evaluation;
    const end = floorTo(started - settle, BUCKET_MS);
    // a backlog (a processor down, the database away) leaves windows half filled: judging them
    // would page everyone for collapses that are only late. Hold, up to maxHold.
    const lagMs = Math.max(0, end - (await pipelineWatermark(deps.redis, deps.keys, started)));
    if (lagMs > 0 && lagMs <= cfg.alerts.evaluation.maxHold) {
      if (started - lastHoldLog >= HOLD_LOG_EVERY_MS) {
        lastHoldLog = started;
        log.warn({ lagSeconds: Math.round(lagMs / 1000) }, 'alert evaluation held: the pipeline is behind the windows');
      }
      return { end, held: true, lagMs, instances: 0, transitions: 0, notifications: 0, readMs: 0, totalMs: now() - started };
    }
    const rules = (await effectiveRules(pool, cfg, (id, reason) => log.warn({ rule: id, reason }, 'a rule saved through the API is no longer valid; skipped'))).filter((r) => r.enabled);
    const campaignList = rules.some((r) => r.groupBy === 'campaign') ? await campaignsSeen(started) : [];
    const planned = rules.map((rule) => ({ rule, instances: ruleInstances(rule, cfg, campaignList) }));
    const readings = await reader.read(planned, end, started);
    const readMs = now() - started;

    const published: ScreenAlert[] = [];
    let transitions = 0;
    let notifications = 0;
    await inTransaction(pool, async (client) => {
      const active = await lockEvaluation(client);
      const at = now();
      const silences = await activeSilences(client, at);
      const activeByInstance = new Map(active.map((row) => [`${row.rule_id}|${row.instance}`, row]));
      const seen = new Set<string>();
      const outbox = new Map<AlertRule, { firing: NotificationAlert[]; resolved: NotificationAlert[] }>();
      const queue = (rule: AlertRule, status: 'firing' | 'resolved', alert: NotificationAlert) => {
        let lists = outbox.get(rule);
        if (!lists) outbox.set(rule, (lists = { firing: [], resolved: [] }));
        lists[status].push(alert);
      };
      const updates: Array<{ id: string; value: number | null; score: number | null; summary: string; summaryEn: string; silencedBy: string | null }> = [];
      const atIso = new Date(at).toISOString();

      for (const { rule, instances } of planned) {
        const detector = ruleDetector(rule);
        for (const instance of instances) {
          const key = `${rule.id}|${instance.key}`;
          seen.add(key);
          const reading = readings.get(rule.id)!.get(instance.key)!;
          const assessment = assess(detector, rule.minVolume, reading.current, reading.history);
          const judgement = assessment.kind === 'judged' ? assessment.judgement : undefined;
          const row = activeByInstance.get(key);
          const step = advance(row ? instanceState(row) : null, assessment, rule, end);
          // described only when there is something to write: most instances are inactive and stay so
          const describe = () => {
            // recovering and resolved alike read "back above 1.5"
            const [summary, summaryEn] = summarize(rule, instance.labels, reading.current.value, judgement, cfg, step.transition === 'resolved' || step.next?.state === 'recovering');
            const silence = silencing(silences, instance.labels, at);
            return { silence, fresh: { value: reading.current.value, score: judgement?.score ?? null, summary, summaryEn, silencedBy: silence?.id ?? null } };
          };

          if (step.transition === null) {
            if (!row) continue;
            const { silence, fresh } = describe();
            updates.push({ id: row.id, ...fresh });
            const unannounced = row.state === 'firing' && !row.last_notified_at;
            const due = row.state === 'firing' && row.last_notified_at && at - row.last_notified_at.getTime() >= (rule.repeatInterval ?? repeatInterval);
            if (!silence && !row.acked_by && (unannounced || due)) {
              queue(rule, 'firing', { ...alertView({ ...row, ...rowFields(fresh) }, new Date(at)), repeat: Boolean(due) });
            }
            continue;
          }
          transitions++;
          const { silence, fresh } = describe();
          const view = await applyTransition(client, step.transition, rule, instance, row, fresh, end, atIso);
          published.push(view);
          if (step.transition === 'firing' && !silence) queue(rule, 'firing', { ...view, repeat: false });
          if (step.transition === 'resolved' && row?.last_notified_at && !silence) queue(rule, 'resolved', { ...view, repeat: false });
        }
      }

      // alerts of rules or instances that no longer exist (a rule removed or disabled, a store closed)
      for (const row of active) {
        if (seen.has(`${row.rule_id}|${row.instance}`)) continue;
        transitions++;
        // a pending one never paged: it goes; a firing or recovering one resolves (PostgreSQL refuses a parameter the statement does not use)
        const fired = row.state !== 'pending';
        const { rows } = fired
          ? await client.query<AlertRow>(`UPDATE alerts SET state = 'resolved', resolved_at = $2, updated_at = $2 WHERE id = $1 RETURNING *`, [row.id, atIso])
          : await client.query<AlertRow>(`DELETE FROM alerts WHERE id = $1 RETURNING *`, [row.id]);
        published.push(alertView({ ...rows[0]!, state: fired ? 'resolved' : 'cleared' }, new Date(at)));
      }

      if (updates.length) {
        await client.query(
          `UPDATE alerts a SET value = u.value, score = u.score, summary = u.summary, summary_en = u.summary_en, silenced_by = u.silenced_by
           FROM unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::text[], $6::text[]) AS u(id, value, score, summary, summary_en, silenced_by)
           WHERE a.id = u.id`,
          [updates.map((u) => u.id), updates.map((u) => u.value), updates.map((u) => u.score), updates.map((u) => u.summary), updates.map((u) => u.summaryEn), updates.map((u) => u.silencedBy)],
        );
      }

      for (const [rule, lists] of outbox) {
        for (const status of ['firing', 'resolved'] as const) {
          const alerts = status === 'firing' ? await withExplanations(rule, lists[status]) : lists[status];
          if (!alerts.length) continue;
          const payload = notificationPayload(rule, status, alerts, cfg.pipeline.windows.utcOffset, deps.publicUrl);
          for (const notifier of rule.notify) {
            await client.query(
              `INSERT INTO alert_notifications (rule_id, notifier, status, alert_ids, payload) VALUES ($1, $2, $3, $4, $5)`,
              [rule.id, notifier, status, alerts.map((a) => a.id), JSON.stringify(payload)],
            );
            notifications++;
          }
          if (status === 'firing') await client.query(`UPDATE alerts SET last_notified_at = $2 WHERE id = ANY($1::text[])`, [alerts.map((a) => a.id), atIso]);
        }
      }
    });

    for (const alert of published) deps.onAlert?.(alert);
    if (notifications) deps.onNotificationsQueued?.();
    const report = { end, held: false, lagMs, instances: planned.reduce((n, p) => n + p.instances.length, 0), transitions, notifications, readMs, totalMs: now() - started };
    if (transitions) log.info({ ...report, changes: published.slice(0, 20).map((a) => `${a.ruleId}/${a.labels.store ?? a.labels.channel ?? a.labels.region ?? a.labels.campaign ?? 'all'} → ${a.state}`) }, 'alerts changed');
    return report;
  }

  return { cycle };
}

function instanceState(row: AlertRow): InstanceState {
  return { state: row.state as ActiveState, activeSince: row.active_since.getTime(), recoveringSince: row.recovering_since?.getTime() };
}

function rowFields(fresh: { value: number | null; summary: string; summaryEn: string; silencedBy: string | null }): Partial<AlertRow> {
  return { value: fresh.value, summary: fresh.summary, summary_en: fresh.summaryEn, silenced_by: fresh.silencedBy };
}

async function applyTransition(
  client: PoolClient,
  transition: Exclude<Transition, null>,
  rule: AlertRule,
  instance: RuleInstance,
  row: AlertRow | undefined,
  fresh: { value: number | null; score: number | null; summary: string; summaryEn: string; silencedBy: string | null },
  end: number,
  atIso: string,
): Promise<ScreenAlert> {
  const values = [fresh.value, fresh.score, fresh.summary, fresh.summaryEn, fresh.silencedBy, atIso];
  let result: AlertRow;
  if (!row) {
    const { rows } = await client.query<AlertRow>(
      `INSERT INTO alerts (id, rule_id, instance, labels, region, severity, state, active_since, fired_at,
                           value, score, summary, summary_en, silenced_by, updated_at)
       VALUES ($7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $13 = 'firing' THEN $6::timestamptz END, $1, $2, $3, $4, $5, $6) RETURNING *`,
      [...values, randomUUID(), rule.id, instance.key, JSON.stringify(instance.labels), instance.region ?? null, rule.severity, transition, new Date(end).toISOString()],
    );
    result = rows[0]!;
  } else if (transition === 'cleared') {
    const { rows } = await client.query<AlertRow>(`DELETE FROM alerts WHERE id = $1 RETURNING *`, [row.id]);
    result = { ...rows[0]!, state: 'cleared', updated_at: new Date(atIso) };
  } else {
    // relapsed: firing again, as it was (fired_at stays: no new page); recovering since the window's end, in event time like active_since
    const { rows } = await client.query<AlertRow>(
      `UPDATE alerts SET value = $1, score = $2, summary = $3, summary_en = $4, silenced_by = $5, updated_at = $6,
              state = CASE WHEN $8 = 'relapsed' THEN 'firing' ELSE $8 END,
              fired_at = CASE WHEN $8 = 'firing' THEN $6::timestamptz ELSE fired_at END,
              recovering_since = CASE WHEN $8 = 'recovering' THEN $9::timestamptz WHEN $8 = 'relapsed' THEN NULL ELSE recovering_since END,
              resolved_at = CASE WHEN $8 = 'resolved' THEN $6::timestamptz ELSE resolved_at END
       WHERE id = $7 RETURNING *`,
      [...values, row.id, transition, new Date(end).toISOString()],
    );
    result = rows[0]!;
  }
  return alertView(result);
}

/** Runs the evaluation every `evaluation.interval` on the server that holds the alerts lock. */
export function startEvaluator(deps: EvaluatorDeps & { onCycle?: (report: CycleReport) => void }): { evaluator: ReturnType<typeof createEvaluator>; stop(): Promise<void> } {
  const evaluator = createEvaluator(deps);
  const interval = deps.cfg.alerts.evaluation.interval;
  const lock = leaderLock(deps.redis, `${deps.keys.prefix}lock:alerts`, Math.max(15_000, interval * 4));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      const started = Date.now();
      running = (async () => {
        if (!(await lock.holdOrTake())) return;
        deps.onCycle?.(await evaluator.cycle());
      })()
        .catch((err) => deps.log.warn({ err: (err as Error).message }, 'alert evaluation failed; retrying next cycle'))
        .finally(() => schedule(Math.max(0, interval - (Date.now() - started))));
    }, delay);
  };
  schedule(0);
  return {
    evaluator,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await lock.release();
    },
  };
}
