// Display settings from the address (?kiosk=1&rotate=30&stale=15&lang=en) and the viewer's choices.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { i18n, LOCALE_KEY, type Locale } from '../i18n.js';

const params = new URLSearchParams(location.search);
const seconds = (name: string, fallback: number, min: number) => {
  const value = Number(params.get(name));
  return Number.isFinite(value) && value >= min ? value : fallback;
};

export const useSettingsStore = defineStore('settings', () => {
  const kiosk = params.get('kiosk') === '1';
  /** kiosk mode shows the next view this often */
  const rotateMs = seconds('rotate', 30, 5) * 1000;
  /** panels dim when no update has arrived for this long */
  const staleAfterMs = seconds('stale', 15, 2) * 1000;
  const locale = ref<Locale>(i18n.global.locale.value as Locale);
  watch(locale, (value) => {
    i18n.global.locale.value = value;
    localStorage.setItem(LOCALE_KEY, value);
    document.documentElement.lang = value === 'zh' ? 'zh-CN' : 'en';
  }, { immediate: true });
  const toggleLocale = () => (locale.value = locale.value === 'zh' ? 'en' : 'zh');
  return { kiosk, rotateMs, staleAfterMs, locale, toggleLocale };
});
