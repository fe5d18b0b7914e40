// The rule state machine of Prometheus/Grafana, pure: inactive → pending (for `for`) → firing →
// recovering (for `keepFiringFor`, Prometheus' keep_firing_for, Grafana's Recovering) → resolved.
// A pending breach that ends before `for` is cleared without a word; a breach while recovering
// is the same alert firing again, not a new page.
import type { AlertRule } from '../config/alert-schema.js';
import type { Assessment } from './assess.js';

export type ActiveState = 'pending' | 'firing' | 'recovering';

export interface InstanceState {
  state: ActiveState;
  /** event time the breach began */
  activeSince: number;
  /** recovering: event time of the first window back inside the bound */
  recoveringSince?: number;
}

/** `relapsed`: recovering → firing again (no new page) */
export type Transition = 'pending' | 'firing' | 'recovering' | 'relapsed' | 'resolved' | 'cleared' | null;

export interface Step {
  /** null: inactive */
  next: InstanceState | null;
  transition: Transition;
}

export type LifecycleRule = Pick<AlertRule, 'noData' | 'hysteresis' | 'for' | 'keepFiringFor'>;

/** Whether the window counts as a breach, given the instance's state (hysteresis) and its no-data rule; null: keep the state. */
function breached(assessment: Assessment, rule: Pick<AlertRule, 'noData' | 'hysteresis'>, active: boolean): boolean | null {
  switch (assessment.kind) {
    case 'judged':
      return active ? assessment.judgement.level >= 1 - rule.hysteresis : assessment.judgement.breach;
    case 'no-data':
      return rule.noData === 'keep' ? null : rule.noData === 'alerting';
    case 'quiet':
      return false;
    case 'unjudged':
      return null;
  }
}

/** The next state of one instance after a window ending at event time `t`. */
export function advance(prev: InstanceState | null, assessment: Assessment, rule: LifecycleRule, t: number): Step {
  const breach = breached(assessment, rule, prev !== null);
  if (breach === null) return { next: prev, transition: null };
  if (!breach) {
    if (!prev) return { next: null, transition: null };
    if (prev.state === 'pending') return { next: null, transition: 'cleared' };
    if (prev.state === 'firing' && rule.keepFiringFor > 0) return { next: { ...prev, state: 'recovering', recoveringSince: t }, transition: 'recovering' };
    if (prev.state === 'recovering' && t - prev.recoveringSince! < rule.keepFiringFor) return { next: prev, transition: null };
    return { next: null, transition: 'resolved' };
  }
  if (!prev) {
    return rule.for <= 0 ? { next: { state: 'firing', activeSince: t }, transition: 'firing' } : { next: { state: 'pending', activeSince: t }, transition: 'pending' };
  }
  if (prev.state === 'pending' && t - prev.activeSince >= rule.for) return { next: { ...prev, state: 'firing' }, transition: 'firing' };
  if (prev.state === 'recovering') return { next: { state: 'firing', activeSince: prev.activeSince }, transition: 'relapsed' };
  return { next: prev, transition: null };
}
