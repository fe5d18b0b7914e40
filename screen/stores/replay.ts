// Replay: "what did the wall show at 14:05?". An instant (from ?at= in the address, or chosen on
// the wall), the view's frame as of then from /api/v1/replay, stepped or played at 1×, 10× or
// 60×; back to live in one click. While it is set, every panel draws the replayed frame.
import { defineStore } from 'pinia';
import { ref, shallowRef, watch } from 'vue';
import type { AttributionView, ScreenAlert, ScreenFrame, ScreenSubscription, SegmentsView } from '../../stream/types.js';
import { apiGet } from '../api.js';
import { useViewStore } from './view.js';

export interface ReplayAnswer {
  at: string;
  frame: ScreenFrame;
  alerts: ScreenAlert[];
  segments: SegmentsView;
  attribution: AttributionView;
}

export const REPLAY_SPEEDS = [1, 10, 60] as const;
const TICK_MS = 1_000;
/** a replay opened from the wall starts this long ago */
export const REPLAY_START_BACK_MS = 10 * 60_000;

/** The instant in ?at= (an ISO time with a zone, or epoch milliseconds), or null. */
export function atFromAddress(search = location.search): number | null {
  const text = new URLSearchParams(search).get('at');
  if (!text) return null;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(ms) && ms <= Date.now() ? ms : null;
}

/** The address with ?at= set to the instant (or removed), the rest kept. */
export function addressWithAt(at: number | null, search = location.search, hash = location.hash): string {
  const params = new URLSearchParams(search);
  if (at === null) params.delete('at');
  else params.set('at', new Date(at).toISOString());
  const query = params.toString();
  return `${location.pathname}${query ? `?${query}` : ''}${hash}`;
}

export const useReplayStore = defineStore('replay', () => {
  const view = useViewStore();
  /** the instant replayed; null: live */
  const at = ref<number | null>(null);
  const answer = shallowRef<ReplayAnswer | null>(null);
  /** 0: paused */
  const speed = ref(0);
  const error = ref('');
  let timer: ReturnType<typeof setInterval> | undefined;
  let asked = 0;
  let loading = false;

  const queryOf = (s: ScreenSubscription) => (s.store ? `&store=${encodeURIComponent(s.store)}` : s.region ? `&region=${encodeURIComponent(s.region)}` : '');

  async function load() {
    if (at.value === null) return;
    const ask = ++asked;
    loading = true;
    try {
      const body = await apiGet<ReplayAnswer>(`/api/v1/replay?at=${at.value}${queryOf(view.subscription)}`);
      if (ask === asked) {
        answer.value = body;
        error.value = '';
      }
    } catch (err) {
      if (ask === asked) error.value = (err as Error).message;
    } finally {
      if (ask === asked) loading = false;
    }
  }

  function show(instant: number) {
    at.value = Math.min(Math.floor(instant / 1000) * 1000, Date.now());
    history.replaceState(null, '', addressWithAt(at.value));
    void load();
  }

  /** Replay from an instant (default: ten minutes ago). */
  function enter(instant = Date.now() - REPLAY_START_BACK_MS) {
    view.range = 'live';
    show(instant);
  }

  const step = (deltaMs: number) => at.value !== null && show(at.value + deltaMs);

  function play(newSpeed: number) {
    clearInterval(timer);
    speed.value = newSpeed;
    if (!newSpeed) return;
    timer = setInterval(() => {
      if (at.value === null) return;
      // caught up with now: stay on the last instant, paused
      if (at.value + newSpeed * TICK_MS >= Date.now()) return play(0);
      at.value += newSpeed * TICK_MS;
      // a slow answer: the next tick asks for the newest instant instead of queueing
      if (!loading) void load();
    }, TICK_MS);
  }

  function exit() {
    play(0);
    at.value = null;
    answer.value = null;
    error.value = '';
    history.replaceState(null, '', addressWithAt(null));
  }

  // another view (a drill-down, the kiosk's rotation): the same instant, that view's frame
  watch(() => view.subscription, () => at.value !== null && void load());

  function start() {
    const fromAddress = atFromAddress();
    if (fromAddress !== null) enter(fromAddress);
  }

  return { at, answer, speed, error, start, enter, step, play, exit };
});
