// A real socket.io-client on the /screen namespace, as the wall uses it: subscribe on every
// connect (so a reconnect gets a fresh snapshot), frames collected for assertions.
import { io, type Socket } from 'socket.io-client';
import type { ScreenFrame, ScreenSubscribeAck, ScreenSubscription } from '../stream/types.js';

export interface ScreenClient {
  socket: Socket;
  snapshots: ScreenFrame[];
  frames: ScreenFrame[];
  /** the first snapshot, or the error the server refused it with */
  subscribed: Promise<ScreenSubscribeAck>;
  /** resolves with the first frame (snapshot or push) that satisfies `test` */
  waitFor(test: (frame: ScreenFrame) => boolean, timeoutMs?: number): Promise<ScreenFrame>;
  close(): void;
}

export function connectScreen(baseUrl: string, token: string | undefined, subscription: ScreenSubscription = {}): ScreenClient {
  const socket = io(`${baseUrl}/screen`, { auth: token ? { token } : {}, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 });
  const snapshots: ScreenFrame[] = [];
  const frames: ScreenFrame[] = [];
  const waiters = new Set<{ test: (f: ScreenFrame) => boolean; resolve: (f: ScreenFrame) => void }>();
  const offer = (frame: ScreenFrame) => {
    for (const waiter of waiters) if (waiter.test(frame)) { waiters.delete(waiter); waiter.resolve(frame); }
  };
  let first: ((ack: ScreenSubscribeAck) => void) | null = null;
  const subscribed = new Promise<ScreenSubscribeAck>((resolve) => (first = resolve));
  socket.on('connect', async () => {
    const ack = (await socket.emitWithAck('subscribe', subscription)) as ScreenSubscribeAck;
    if ('snapshot' in ack) { snapshots.push(ack.snapshot); offer(ack.snapshot); }
    first?.(ack);
    first = null;
  });
  socket.on('metrics', (frame: ScreenFrame) => { frames.push(frame); offer(frame); });
  return {
    socket, snapshots, frames, subscribed,
    waitFor(test, timeoutMs = 5_000) {
      const latest = [...snapshots, ...frames].findLast(test);
      if (latest) return Promise.resolve(latest);
      return new Promise((resolve, reject) => {
        const waiter = { test, resolve: (f: ScreenFrame) => { clearTimeout(timer); resolve(f); } };
        const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no matching frame within ${timeoutMs} ms`)); }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => void socket.disconnect(),
  };
}

/**
 * A connected /screen socket that only listens: every `event` payload it receives, collected
 * (a job's `segments` or `attribution` event, for one role). Disconnect with `socket.disconnect()`.
 */
export async function collectEvents<T>(baseUrl: string, token: string, event: string): Promise<{ socket: Socket; received: T[] }> {
  const socket = io(`${baseUrl}/screen`, { auth: { token }, transports: ['websocket'] });
  await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('connect_error', reject); });
  const received: T[] = [];
  socket.on(event, (payload: T) => received.push(payload));
  return { socket, received };
}
