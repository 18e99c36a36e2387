/*
 * The session: access token in memory (and localStorage, so tabs share it), refresh token in
 * localStorage. Refresh tokens rotate and a reused one kills the whole session, so:
 *  - one refresh at a time per tab (a shared promise), and across tabs a Web Lock; inside the
 *    lock we re-read storage, and if another tab already rotated, we adopt its pair instead of
 *    spending our now-used token;
 *  - the access token is refreshed silently a minute before it expires, and on any 401;
 *  - only an explicit 401 from /auth/refresh ends the session (a network error does not).
 * The router watches `status` and returns to the login page when the session really ends.
 * Tested in session.store.unit.spec.ts.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import { ApiError, createApiClient, unwrap, type ApiClient, type TokenPair, type User } from '@/api/client';

const storageKey = 'agentyard.session';
/** Refresh this long before the access token expires. */
const refreshAheadMs = 60_000;
/** Treat a token this close to expiry as expired when sending a request. */
const expirySkewMs = 15_000;

interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

function readStored(): StoredTokens | null {
  try {
    const raw = globalThis.localStorage?.getItem(storageKey);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<StoredTokens>;
    return typeof v.refreshToken === 'string' && typeof v.accessToken === 'string' && typeof v.expiresAt === 'number' ? (v as StoredTokens) : null;
  } catch {
    return null;
  }
}

function writeStored(tokens: StoredTokens | null): void {
  if (tokens) globalThis.localStorage?.setItem(storageKey, JSON.stringify(tokens));
  else globalThis.localStorage?.removeItem(storageKey);
}

async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  return locks ? locks.request('agentyard.refresh', fn) : fn();
}

export type SessionStatus = 'unknown' | 'authenticated' | 'anonymous';

export const useSessionStore = defineStore('session', () => {
  const tokens = shallowRef<StoredTokens | null>(null);
  const user = ref<User | null>(null);
  const status = ref<SessionStatus>('unknown');
  /** Why the last session ended, for the login page ("Your session expired…"). */
  const endedReason = ref<string | null>(null);

  let refreshing: Promise<boolean> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const api: ApiClient = markRaw(
    createApiClient({
      accessToken: async () => {
        const t = tokens.value;
        if (!t) return null;
        if (t.expiresAt - Date.now() < expirySkewMs) await refresh();
        return tokens.value?.accessToken ?? null;
      },
      recoverFromUnauthorized: async (rejected) => {
        // Another request may have refreshed already while this one was in flight.
        if (tokens.value && tokens.value.accessToken !== rejected) return true;
        return refresh();
      },
    }),
  );

  const isAuthenticated = computed(() => status.value === 'authenticated');

  function schedule(): void {
    clearTimeout(timer);
    const t = tokens.value;
    if (!t) return;
    timer = setTimeout(() => void refresh(), Math.max(1_000, t.expiresAt - Date.now() - refreshAheadMs));
  }

  function adopt(pair: TokenPair): void {
    tokens.value = { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: Date.now() + pair.expiresIn * 1000 };
    writeStored(tokens.value);
    schedule();
  }

  /** Forgets the session locally; `reason` is shown on the login page. */
  function end(reason: string | null): void {
    clearTimeout(timer);
    tokens.value = null;
    user.value = null;
    writeStored(null);
    endedReason.value = reason;
    status.value = 'anonymous';
  }

  /** Rotates the refresh token. Resolves false when the session has ended (and ends it). */
  function refresh(): Promise<boolean> {
    refreshing ??= withRefreshLock(async () => {
      const held = tokens.value;
      const stored = readStored();
      if (!stored) {
        if (held) end('You were signed out in another tab.');
        return false;
      }
      if (held && stored.refreshToken !== held.refreshToken && stored.expiresAt - Date.now() > expirySkewMs) {
        tokens.value = stored; // another tab rotated first: its pair is the live one
        schedule();
        return true;
      }
      try {
        const pair = await unwrap(api.POST('/api/v1/auth/refresh', { body: { refreshToken: stored.refreshToken } }));
        adopt(pair);
        return true;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 400)) {
          end('Your session has ended. Please sign in again.');
          return false;
        }
        throw e;
      }
    }).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function fetchMe(): Promise<User> {
    user.value = await unwrap(api.GET('/api/v1/auth/me'));
    return user.value;
  }

  /**
   * Resumes a saved session on page load: true when signed in. Network errors leave the status
   * `unknown` and rethrow, so a flaky connection does not log anyone out.
   */
  async function restore(): Promise<boolean> {
    if (status.value === 'authenticated') return true;
    const stored = readStored();
    if (!stored) {
      status.value = 'anonymous';
      return false;
    }
    tokens.value = stored;
    if (stored.expiresAt - Date.now() < expirySkewMs && !(await refresh())) return false;
    try {
      await fetchMe();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        end('Your session has ended. Please sign in again.');
        return false;
      }
      throw e;
    }
    schedule();
    status.value = 'authenticated';
    return true;
  }

  async function login(username: string, password: string): Promise<void> {
    const pair = await unwrap(api.POST('/api/v1/auth/login', { body: { username, password } }));
    adopt(pair);
    await fetchMe();
    endedReason.value = null;
    status.value = 'authenticated';
  }

  async function register(username: string, email: string, password: string): Promise<void> {
    await unwrap(api.POST('/api/v1/auth/register', { body: { username, email, password } }));
    await login(username, password);
  }

  async function logout(): Promise<void> {
    try {
      if (tokens.value) await unwrap(api.POST('/api/v1/auth/logout'));
    } catch {
      // Signing out locally is what matters; the access token expires on its own.
    }
    end(null);
  }

  async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await unwrap(api.POST('/api/v1/auth/change-password', { body: { currentPassword, newPassword } }));
  }

  /** Keeps tabs in step: a sign-out or a rotation in another tab applies here too. */
  function onStorage(event: StorageEvent): void {
    if (event.key !== storageKey) return;
    const stored = readStored();
    if (!stored && status.value === 'authenticated') end('You were signed out in another tab.');
    else if (stored && tokens.value && stored.refreshToken !== tokens.value.refreshToken) {
      tokens.value = stored;
      schedule();
    }
  }
  globalThis.addEventListener?.('storage', onStorage);

  /** A token for the WebSocket's auth message, refreshed first when close to expiry. */
  async function freshAccessToken(): Promise<string | null> {
    const t = tokens.value;
    if (!t) return null;
    if (t.expiresAt - Date.now() < expirySkewMs && !(await refresh())) return null;
    return tokens.value?.accessToken ?? null;
  }

  return { api, user, status, endedReason, isAuthenticated, restore, login, register, logout, refresh, changePassword, fetchMe, freshAccessToken, end };
});
