// Sends the queued notifications (the outbox the evaluator writes). Each delivery runs on its
// own: a notifier that hangs until its timeout delays nobody else. Failures are retried with
// doubling backoff; every attempt is recorded. Rows are claimed with SKIP LOCKED, so several
// servers may run a dispatcher and none sends a row twice.
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { NotificationPayload } from './notification.js';
import type { Notifier } from './notify/notifier.js';

interface OutboxRow {
  id: string;
  notifier: string;
  payload: NotificationPayload;
  attempts: number;
}

export interface DeliveryReport {
  notificationId: string;
  notifier: string;
  attempt: number;
  ok: boolean;
  detail: string;
  durationMs: number;
}

const CLAIM_BATCH = 50;

export function startDispatcher(deps: { pool: Pool; notifiers: Map<string, Notifier>; log: Logger; pollMs?: number; onDelivery?: (report: DeliveryReport) => void }) {
  const { pool, notifiers, log } = deps;
  const pollMs = deps.pollMs ?? 1_000;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let claiming: Promise<void> = Promise.resolve();
  let again = false;

  async function claim(): Promise<OutboxRow[]> {
    // a claim outlives the slowest notifier's timeout, so a crashed sender's rows come back
    const longest = Math.max(5_000, ...[...notifiers.values()].map((n) => n.timeoutMs));
    const { rows } = await pool.query<OutboxRow>(
      `UPDATE alert_notifications SET attempts = attempts + 1, claimed_until = now() + make_interval(secs => $1)
       WHERE id IN (SELECT id FROM alert_notifications
                    WHERE delivery = 'pending' AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
                    ORDER BY id LIMIT ${CLAIM_BATCH} FOR UPDATE SKIP LOCKED)
       RETURNING id, notifier, payload, attempts`,
      [(longest + 10_000) / 1000],
    );
    return rows;
  }

  async function deliver(row: OutboxRow): Promise<void> {
    const notifier = notifiers.get(row.notifier);
    const started = Date.now();
    let ok = false;
    let detail: string;
    if (!notifier || notifier.unavailable) {
      detail = `skipped: ${notifier ? notifier.unavailable : `no notifier "${row.notifier}"`}`;
    } else {
      try {
        await notifier.send(row.payload, AbortSignal.timeout(notifier.timeoutMs));
        ok = true;
        detail = 'delivered';
      } catch (err) {
        const error = err as Error;
        detail = error.name === 'TimeoutError' || error.message === 'timed out' ? `timed out after ${notifier.timeoutMs} ms` : error.message;
      }
    }
    const durationMs = Date.now() - started;
    const skipped = !notifier || Boolean(notifier.unavailable);
    const exhausted = !ok && (skipped || row.attempts > notifier!.retries);
    const delivery = ok ? 'sent' : skipped ? 'skipped' : exhausted ? 'failed' : 'pending';
    const backoffMs = notifier ? notifier.backoffMs * 2 ** (row.attempts - 1) : 0;
    await pool.query(
      `WITH attempt AS (INSERT INTO alert_notification_attempts (notification_id, notifier, attempt, duration_ms, ok, detail) VALUES ($1, $2, $3, $4, $5, $6))
       UPDATE alert_notifications SET delivery = $7, claimed_until = NULL, last_error = CASE WHEN $5 THEN NULL ELSE $6 END,
              sent_at = CASE WHEN $5 THEN now() END, next_attempt_at = now() + make_interval(secs => $8)
       WHERE id = $1`,
      [row.id, row.notifier, row.attempts, durationMs, ok, detail, delivery, backoffMs / 1000],
    );
    if (!ok && !skipped) log.warn({ notifier: row.notifier, attempt: row.attempts, detail, delivery }, 'notification not delivered');
    deps.onDelivery?.({ notificationId: row.id, notifier: row.notifier, attempt: row.attempts, ok, detail, durationMs });
  }

  async function tick(): Promise<void> {
    do {
      again = false;
      const rows = await claim();
      for (const row of rows) {
        const delivery = deliver(row).catch((err) => log.warn({ err: (err as Error).message }, 'recording a delivery failed'));
        inFlight.add(delivery);
        void delivery.finally(() => inFlight.delete(delivery));
      }
      if (rows.length === CLAIM_BATCH) again = true;
    } while (again && !stopped);
  }

  function schedule(delay: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      claiming = tick()
        .catch((err) => log.warn({ err: (err as Error).message }, 'notification dispatch failed'))
        .finally(() => schedule(pollMs));
    }, delay);
  }
  schedule(0);

  return {
    /** look at the outbox now (the evaluator just queued something) */
    kick() {
      void claiming.then(() => schedule(0));
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await claiming;
      await Promise.allSettled([...inFlight]);
    },
  };
}
