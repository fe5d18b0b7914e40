// What the wall's panels draw: the live feed, or while replaying, the replayed instant's frame,
// alerts, segments and attribution — one switch, so no panel shows live data inside a replay.
import { computed } from 'vue';
import { useClockStore } from './clock.js';
import { useLiveStore } from './live.js';
import { useReplayStore } from './replay.js';

export function useShown() {
  const live = useLiveStore();
  const replay = useReplayStore();
  const clock = useClockStore();
  const replaying = computed(() => replay.at !== null);
  return {
    replaying,
    frame: computed(() => (replaying.value ? replay.answer?.frame ?? null : live.frame)),
    alerts: computed(() => (replaying.value ? replay.answer?.alerts ?? [] : live.alerts)),
    segments: computed(() => (replaying.value ? replay.answer?.segments ?? null : live.segments)),
    attribution: computed(() => (replaying.value ? replay.answer?.attribution ?? null : live.attribution)),
    /** the moment shown: the replayed instant, or the clock */
    now: computed(() => replay.at ?? clock.now),
  };
}
