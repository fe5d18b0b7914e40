// Who is signed in on this display. The token is kept across reloads and refreshed well before
// it expires, so a wall left on for weeks stays signed in.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Role } from '../../stream/types.js';

interface SessionData {
  username: string;
  token: string;
  role: Role;
  regions: string[] | null;
  expiresAt: number;
}

const STORAGE_KEY = 'wall.session';
const REFRESH_EVERY_MS = 30 * 60_000;

function restore(): SessionData | null {
  try {
    const data = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as SessionData | null;
    return data && data.expiresAt > Date.now() ? data : null;
  } catch {
    return null;
  }
}

export const useSessionStore = defineStore('session', () => {
  const session = ref<SessionData | null>(restore());
  const token = computed(() => session.value?.token ?? '');
  const role = computed(() => session.value?.role ?? null);
  const regions = computed(() => session.value?.regions ?? null);
  const signedIn = computed(() => session.value !== null);
  let refreshTimer: ReturnType<typeof setInterval> | undefined;

  function keep(username: string, body: { token: string; role: Role; regions: string[] | null; expiresIn: number }) {
    session.value = { username, token: body.token, role: body.role, regions: body.regions, expiresAt: Date.now() + body.expiresIn * 1000 };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(session.value));
    scheduleRefresh();
  }

  /** null on success, else the reason: wrong credentials, too many failed attempts (with minutes to wait), or no server */
  async function login(username: string, password: string): Promise<'failed' | 'unreachable' | { blockedMinutes: number } | null> {
    try {
      const response = await fetch('/api/v1/auth/login', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
      });
      if (response.status === 429) return { blockedMinutes: Math.max(1, Math.ceil(Number(response.headers.get('retry-after') ?? 60) / 60)) };
      if (!response.ok) return response.status >= 500 ? 'unreachable' : 'failed';
      keep(username, await response.json());
      return null;
    } catch {
      return 'unreachable';
    }
  }

  function logout() {
    session.value = null;
    localStorage.removeItem(STORAGE_KEY);
    clearInterval(refreshTimer);
  }

  function scheduleRefresh() {
    clearInterval(refreshTimer);
    refreshTimer = setInterval(async () => {
      if (!session.value) return;
      try {
        const response = await fetch('/api/v1/auth/refresh', { method: 'POST', headers: { authorization: `Bearer ${session.value.token}` } });
        if (response.status === 401) return logout();
        if (response.ok) keep(session.value.username, await response.json());
      } catch {
        // the server is away; the next attempt will do (the token is valid for hours)
      }
    }, REFRESH_EVERY_MS);
  }
  if (session.value) scheduleRefresh();

  return { session, token, role, regions, signedIn, login, logout };
});
