// The socket to /screen: one subscription at a time, its snapshot and merged frames, the
// connection state. A reconnect re-subscribes, which brings a fresh snapshot.
import { defineStore } from 'pinia';
import { io, type Socket } from 'socket.io-client';
import { ref, shallowRef } from 'vue';
import type { Annotation, AnnotationChange, AttributionView, SegmentsView, ScreenAlert, ScreenFrame, ScreenSubscribeAck, ScreenSubscription } from '../../stream/types.js';
import { apiGet } from '../api.js';
import { mergeFrame } from '../view-model.js';
import { useSessionStore } from './session.js';

export type ConnectionState = 'connecting' | 'live' | 'lost';

/** a fresh snapshot now and then heals anything a frame could not carry (e.g. late events older than its tail) */
const RESYNC_EVERY_MS = 10 * 60_000;
const ALERTS_KEPT = 30;
/** annotations are read this far back: the 30-day range draws them */
const ANNOTATIONS_BACK_MS = 31 * 86_400_000;

export const useLiveStore = defineStore('live', () => {
  const session = useSessionStore();
  const connection = ref<ConnectionState>('connecting');
  const frame = shallowRef<ScreenFrame | null>(null);
  /** when the last snapshot or frame arrived (client clock) */
  const receivedAt = ref(0);
  const refusal = ref('');
  const alerts = shallowRef<ScreenAlert[]>([]);
  const segments = shallowRef<SegmentsView | null>(null);
  const attribution = shallowRef<AttributionView | null>(null);
  /** the marketing moments the role may see, oldest first */
  const annotations = shallowRef<Annotation[]>([]);
  let socket: Socket | null = null;
  let wanted: ScreenSubscription = {};
  let resync: ReturnType<typeof setInterval> | undefined;
  /** the region whose segments are shown ('' = all the role sees); null: to be loaded (again) */
  let segmentsFor: string | null = null;

  /** the subscribe asked for while the socket was down (the last one: earlier ones are superseded), answered when it connects */
  let waiting: ((refusal: string | null) => void) | null = null;

  /** Shows a view; answers the server's refusal, if it refuses (null when shown or superseded). */
  async function subscribe(subscription: ScreenSubscription): Promise<string | null> {
    wanted = subscription;
    if (!socket?.connected) {
      waiting?.(null);
      return new Promise((answer) => (waiting = answer));
    }
    let ack: ScreenSubscribeAck;
    try {
      ack = (await socket.timeout(10_000).emitWithAck('subscribe', subscription)) as ScreenSubscribeAck;
    } catch {
      return null; // no answer: the reconnect will subscribe again
    }
    if (subscription !== wanted) return null; // the viewer moved on meanwhile
    if ('error' in ack) {
      refusal.value = ack.error;
      return ack.error;
    }
    refusal.value = '';
    frame.value = ack.snapshot;
    receivedAt.value = Date.now();
    connection.value = 'live';
    if (segmentsFor !== (ack.snapshot.scope.region ?? '')) void loadSegments();
    return null;
  }

  function start() {
    if (socket) return;
    socket = io('/screen', {
      auth: (send) => send({ token: session.token }),
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
    });
    socket.on('connect', () => {
      segmentsFor = null;
      const asked = waiting;
      waiting = null;
      void subscribe(wanted).then((refusal) => asked?.(refusal));
      void loadAlerts();
      void loadAttribution();
      void loadAnnotations();
    });
    socket.on('disconnect', (reason) => {
      connection.value = 'lost';
      // the server closes a socket whose token expired or was revoked: come back with the current one
      if (reason === 'io server disconnect') setTimeout(() => socket?.connect(), 1_000);
    });
    socket.on('connect_error', (err) => {
      connection.value = 'lost';
      if (/token/.test(err.message)) session.logout();
    });
    socket.on('metrics', (update: ScreenFrame) => {
      if (update.viewKey !== frame.value?.viewKey) return;
      frame.value = mergeFrame(frame.value, update);
      receivedAt.value = Date.now();
      connection.value = 'live';
    });
    socket.on('alert', (notice: ScreenAlert) => {
      const others = alerts.value.filter((a) => a.id !== notice.id);
      alerts.value = (notice.state === 'cleared' ? others : [notice, ...others]).slice(0, ALERTS_KEPT);
    });
    // a region's or store's view shows that region's segments; the event carries the role's whole view
    socket.on('segments', (data: SegmentsView) => (frame.value?.scope.region ? void loadSegments() : (segments.value = data)));
    socket.on('attribution', (data: AttributionView) => (attribution.value = data));
    socket.on('annotation', (change: AnnotationChange) => {
      const id = 'annotation' in change ? change.annotation.id : change.deleted;
      const others = annotations.value.filter((a) => a.id !== id);
      annotations.value = 'annotation' in change ? [...others, change.annotation].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt)) : others;
    });
    resync = setInterval(() => void subscribe(wanted), RESYNC_EVERY_MS);
  }

  /** the alerts as they stand (on connect and reconnect); events keep them current afterwards */
  async function loadAlerts() {
    try {
      const { alerts: listed } = await apiGet<{ alerts: ScreenAlert[] }>(`/api/v1/alerts?state=all&limit=${ALERTS_KEPT}`);
      alerts.value = listed;
    } catch {
      // the next reconnect tries again; the socket keeps pushing changes meanwhile
    }
  }

  /** the last attribution run's figures: the whole business, or a regional role's regions */
  async function loadAttribution() {
    try {
      attribution.value = await apiGet<AttributionView>('/api/v1/attribution');
    } catch {
      // the next job run's event brings it
    }
  }

  /** the annotations of the last month (on connect and reconnect); events keep them current */
  async function loadAnnotations() {
    try {
      const now = Date.now();
      const { annotations: listed } = await apiGet<{ annotations: Annotation[] }>(`/api/v1/annotations?from=${now - ANNOTATIONS_BACK_MS}&to=${now + 86_400_000}`);
      annotations.value = listed;
    } catch {
      // the next reconnect tries again
    }
  }

  /** the last segments run for the region in view, or for all the regions this role sees */
  async function loadSegments() {
    const region = frame.value?.scope.region;
    try {
      const view = await apiGet<SegmentsView>(`/api/v1/segments${region ? `?region=${encodeURIComponent(region)}` : ''}`);
      if (frame.value?.scope.region !== region) return; // the viewer moved on meanwhile
      segments.value = view;
      segmentsFor = region ?? '';
    } catch {
      // the next job run's event brings it
    }
  }

  function stop() {
    clearInterval(resync);
    socket?.disconnect();
    socket = null;
    frame.value = null;
    connection.value = 'connecting';
  }

  return { connection, frame, receivedAt, refusal, alerts, segments, attribution, annotations, start, stop, subscribe };
});
