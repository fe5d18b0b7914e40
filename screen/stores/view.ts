// What the wall shows: which view (nation → region → store), which time range, and in kiosk
// mode the rotation through views. Live ranges come from the socket, the others from the API.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { ScreenSubscription } from '../../stream/types.js';
import { getMetricFields, getMetrics } from '../api.js';
import { BREAKDOWN_FIELDS, BREAKDOWN_WITH_NEW_USERS, modelFromFrame, modelFromHistory, type HistoryAnswers, type TimeRange, type ViewModel } from '../view-model.js';
import { useLiveStore } from './live.js';
import { useSessionStore } from './session.js';
import { useSettingsStore } from './settings.js';

const DAY_MS = 86_400_000;
/** local midnight of the business's zone (China, UTC+8) */
const ZONE_OFFSET_MS = 8 * 3_600_000;
const HISTORY_REFRESH_MS = 60_000;
// hourly and daily steps read the rollups, sketches and counts kept for them; a finer step counts
// distinct customers in the raw events (a day of a retailer's 1 M events: seconds)
const TREND_STEP: Record<Exclude<TimeRange, 'live'>, string> = { today: '1h', '7d': '1h', '30d': '1d' };
const RANGE_DAYS: Record<Exclude<TimeRange, 'live'>, number> = { today: 1, '7d': 7, '30d': 30 };

/** Local midnight (the business's day) of an instant. */
export const localMidnight = (ms: number) => Math.floor((ms + ZONE_OFFSET_MS) / DAY_MS) * DAY_MS - ZONE_OFFSET_MS;

/** Views have addresses (#/region/east, #/store/sh-jingan), so a TV can be pointed at one. */
export function viewFromHash(hash = location.hash): ScreenSubscription | null {
  const [, kind, id] = hash.replace(/^#/, '').split('/');
  if (!kind) return hash ? {} : null;
  if (kind === 'region' && id) return { region: decodeURIComponent(id) };
  if (kind === 'store' && id) return { store: decodeURIComponent(id) };
  return null;
}

export function hashOf(view: ScreenSubscription): string {
  const query = location.search;
  if (view.store) return `${query}#/store/${encodeURIComponent(view.store)}`;
  if (view.region) return `${query}#/region/${encodeURIComponent(view.region)}`;
  return `${query}#/`;
}

export const useViewStore = defineStore('view', () => {
  const live = useLiveStore();
  const session = useSessionStore();
  const settings = useSettingsStore();
  const subscription = ref<ScreenSubscription>(viewFromHash() ?? homeView());
  const range = ref<TimeRange>('live');
  const rangeAnswers = shallowRef<HistoryAnswers | null>(null);
  const historyError = ref('');
  const notice = ref('');
  let historyTimer: ReturnType<typeof setInterval> | undefined;
  let rotateTimer: ReturnType<typeof setInterval> | undefined;
  let rotation = 0;

  function homeView(): ScreenSubscription {
    const regions = session.regions;
    return regions && regions.length ? { region: regions[0]! } : {};
  }

  const model = computed<ViewModel | null>(() => {
    const frame = live.frame;
    if (!frame) return null;
    if (range.value === 'live') return modelFromFrame(frame);
    return rangeAnswers.value && rangeAnswers.value.range === range.value ? modelFromHistory(rangeAnswers.value, frame) : null;
  });

  function mayOpen(target: ScreenSubscription): boolean {
    const regions = session.regions;
    if (!regions) return true;
    const frame = live.frame;
    const region = target.region ?? (target.store && frame ? [...frame.stores, ...frame.children].find((s) => s.id === target.store)?.region : undefined);
    // a store the view in hand does not list (an address opened before the first snapshot, a
    // store of another of the role's regions): the server knows whose it is, and refuses if need be
    if (region === undefined) return Boolean(target.store);
    return regions.includes(region);
  }

  function refuse() {
    notice.value = 'forbidden';
    setTimeout(() => (notice.value = ''), 4_000);
    history.replaceState(null, '', hashOf(subscription.value));
  }

  /** `push`: a viewer's own step (a tap, a click), which the back button or gesture undoes */
  async function open(target: ScreenSubscription, push = false) {
    if (!mayOpen(target)) {
      // an address refused from the start (the wall opened on it) goes to the role's home
      const refusedFromStart = hashOf(subscription.value) === hashOf(target);
      if (refusedFromStart) subscription.value = homeView();
      refuse();
      if (refusedFromStart) await live.subscribe(subscription.value);
      return;
    }
    const previous = subscription.value;
    subscription.value = target;
    if (push && !settings.kiosk && hashOf(target) !== location.search + location.hash) history.pushState(null, '', hashOf(target));
    else history.replaceState(null, '', hashOf(target));
    const refused = await live.subscribe(target);
    if (refused) {
      // an address refused from the start has no view of its own to go back to: the role's home
      subscription.value = hashOf(previous) === hashOf(target) ? homeView() : previous;
      refuse();
      await live.subscribe(subscription.value);
    }
  }

  const onHashChange = () => {
    const target = viewFromHash();
    if (target && hashOf(target) !== hashOf(subscription.value)) void open(target);
  };

  const openRegion = (region: string) => open({ region }, true);
  const openStore = (store: string) => open({ store }, true);
  /** the breadcrumb: 0 = nation, 1 = region */
  function openLevel(depth: number) {
    const path = live.frame?.path ?? [];
    if (depth === 0) return open(homeView().region ? homeView() : {}, true);
    if (depth === 1 && path[1]) return open({ region: path[1].id }, true);
  }

  /** pull to refresh: a fresh snapshot of the view, and the range's figures read again */
  async function refresh() {
    await live.subscribe(subscription.value);
    await loadHistory();
  }

  /** the span a history range covers now: its first local midnight to now */
  function rangeSpan(now = Date.now()): { from: number; to: number } | null {
    if (range.value === 'live') return null;
    return { from: localMidnight(now) - (RANGE_DAYS[range.value] - 1) * DAY_MS, to: now };
  }

  async function loadHistory() {
    const frame = live.frame;
    const current = range.value;
    const spanNow = rangeSpan();
    if (current === 'live' || !frame || !spanNow) return;
    const { from, to: now } = spanNow;
    const span = now - from;
    const scope = { region: frame.scope.store ? undefined : frame.scope.region, store: frame.scope.store, channel: frame.scope.channel };
    try {
      // only the totals' unique users are shown: the rest ask for what they draw (no sketches read)
      const [totals, previous, byChannel, byChild, byStore] = await Promise.all([
        getMetrics({ ...scope, from, to: now, step: '1d' }),
        getMetricFields({ ...scope, from: from - span, to: now - span, step: '1d' }, BREAKDOWN_WITH_NEW_USERS),
        getMetricFields({ ...scope, from, to: now, step: TREND_STEP[current], groupBy: 'channel' }, BREAKDOWN_WITH_NEW_USERS),
        frame.level === 'store' ? null : getMetricFields({ ...scope, from, to: now, step: '1d', groupBy: frame.level === 'nation' ? 'region' : 'store' }, BREAKDOWN_FIELDS),
        frame.level === 'nation' ? getMetricFields({ ...scope, from, to: now, step: '1d', groupBy: 'store' }, BREAKDOWN_FIELDS) : null,
      ]);
      if (range.value !== current) return;
      rangeAnswers.value = { range: current, asOf: new Date(now).toISOString(), totals, previous, byChannel, byChild, byStore };
      historyError.value = '';
    } catch (err) {
      historyError.value = (err as Error).message;
    }
  }

  watch([range, () => live.frame?.viewKey], () => {
    clearInterval(historyTimer);
    rangeAnswers.value = null;
    if (range.value === 'live') return;
    void loadHistory();
    historyTimer = setInterval(loadHistory, HISTORY_REFRESH_MS);
  });

  /** kiosk: nation then each region (ops), or a manager's region then its stores */
  function rotationViews(): ScreenSubscription[] {
    const regions = session.regions;
    if (regions) {
      const stores = live.frame?.level === 'region' ? live.frame.children.map((c) => ({ store: c.id })) : [];
      return [...regions.map((region) => ({ region })), ...stores];
    }
    const all = live.frame?.level === 'nation' ? live.frame.children.map((c) => ({ region: c.id })) : [];
    return [{}, ...all];
  }

  function startRotation() {
    if (!settings.kiosk) return;
    let views: ScreenSubscription[] = [];
    rotateTimer = setInterval(() => {
      if (rotation === 0 || !views.length) views = rotationViews();
      rotation = (rotation + 1) % Math.max(views.length, 1);
      void open(views[rotation] ?? homeView());
    }, settings.rotateMs);
  }

  function start() {
    window.addEventListener('hashchange', onHashChange);
    window.addEventListener('popstate', onHashChange);
    live.start();
    void open(subscription.value);
    startRotation();
  }

  function stop() {
    window.removeEventListener('hashchange', onHashChange);
    window.removeEventListener('popstate', onHashChange);
    clearInterval(rotateTimer);
    clearInterval(historyTimer);
    live.stop();
    subscription.value = homeView();
    range.value = 'live';
  }

  return { subscription, range, rangeSpan, model, rangeAnswers, historyError, notice, start, stop, open, openRegion, openStore, openLevel, mayOpen, refresh };
});
