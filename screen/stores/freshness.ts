// Whether what the wall shows is current: live views need a frame within `staleAfterMs` over a
// working connection; history views need their last load to have succeeded.
import { defineStore } from 'pinia';
import { computed } from 'vue';
import { useClockStore } from './clock.js';
import { useLiveStore } from './live.js';
import { useSettingsStore } from './settings.js';
import { useViewStore } from './view.js';

export const useFreshnessStore = defineStore('freshness', () => {
  const clock = useClockStore();
  const live = useLiveStore();
  const settings = useSettingsStore();
  const view = useViewStore();
  const secondsSinceUpdate = computed(() => (live.receivedAt ? Math.max(0, Math.round((clock.now - live.receivedAt) / 1000)) : null));
  const stale = computed(() => {
    if (view.range !== 'live') return view.historyError !== '';
    return live.connection !== 'live' || !live.receivedAt || clock.now - live.receivedAt > settings.staleAfterMs;
  });
  return { stale, secondsSinceUpdate };
});
