// One ticking "now" for the whole screen (staleness, clocks), instead of a timer per panel.
import { defineStore } from 'pinia';
import { ref } from 'vue';

export const useClockStore = defineStore('clock', () => {
  const now = ref(Date.now());
  setInterval(() => (now.value = Date.now()), 1000);
  return { now };
});
