import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import { useSessionStore } from './session.store';

const stored = () => JSON.parse(localStorage.getItem('agentyard.session') ?? 'null') as { accessToken: string; refreshToken: string; expiresAt: number } | null;

describe('useSessionStore', () => {
  let server: ReturnType<typeof fakeServer>;
  let refreshCount: number;

  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    refreshCount = 0;
    server = fakeServer()
      .on('POST /api/v1/auth/login', (req) =>
        (req.body as { password: string }).password === 'right-password' ? tokenPair(1) : json(401, { error: 'UNAUTHENTICATED', message: 'bad credentials' }),
      )
      .on('POST /api/v1/auth/refresh', () => tokenPair(100 + ++refreshCount))
      .on('GET /api/v1/auth/me', (req) => (req.auth?.startsWith('Bearer access-') ? user : json(401, { error: 'UNAUTHENTICATED', message: 'no' })))
      .on('POST /api/v1/auth/logout', () => json(204))
      .install();
  });
  afterEach(() => vi.useRealTimers());

  describe('when the user logs in', () => {
    it('keeps the token pair, loads the user and is authenticated', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      expect(session.status).toBe('authenticated');
      expect(session.user?.username).toBe('alice');
      expect(stored()?.refreshToken).toBe('refresh-1');
      expect(server.requests.find((r) => r.path === '/api/v1/auth/me')?.auth).toBe('Bearer access-1');
    });

    it('does not send a bearer token to the login endpoint', async () => {
      await useSessionStore().login('alice', 'right-password');
      expect(server.requests.find((r) => r.path === '/api/v1/auth/login')?.auth).toBeNull();
    });

    it('rejects a wrong password with a 401 ApiError and stays signed out', async () => {
      const session = useSessionStore();
      await expect(session.login('alice', 'wrong')).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      expect(session.isAuthenticated).toBe(false);
      expect(stored()).toBeNull();
    });
  });

  describe('when several requests need a refresh at once', () => {
    it('rotates the refresh token exactly once', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      const results = await Promise.all([session.refresh(), session.refresh(), session.refresh()]);
      expect(results).toEqual([true, true, true]);
      expect(refreshCount).toBe(1);
      expect(server.requests.filter((r) => r.path === '/api/v1/auth/refresh').map((r) => r.body)).toEqual([{ refreshToken: 'refresh-1' }]);
      expect(stored()?.refreshToken).toBe('refresh-101');
    });
  });

  describe('when a request gets a 401', () => {
    it('refreshes and replays it with the new token', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      let calls = 0;
      server.on('GET /api/v1/workers', (req) =>
        ++calls === 1 ? json(401, { error: 'UNAUTHENTICATED', message: 'expired' }) : { items: [], seenAuth: req.auth },
      );
      const { data } = await session.api.GET('/api/v1/workers');
      expect(data).toMatchObject({ seenAuth: 'Bearer access-101' });
      expect(refreshCount).toBe(1);
    });

    it('replays a POST with its body intact', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      const bodies: unknown[] = [];
      server.on('POST /api/v1/workers/registration-tokens', (req) => {
        bodies.push(req.body);
        return bodies.length === 1 ? json(401, { error: 'UNAUTHENTICATED', message: 'expired' }) : json(201, { token: 't' });
      });
      await session.api.POST('/api/v1/workers/registration-tokens', { body: { uses: 2 } });
      expect(bodies).toEqual([{ uses: 2 }, { uses: 2 }]);
    });
  });

  describe('when the refresh token is rejected (reused or revoked)', () => {
    it('ends the session with a reason for the login page', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      server.on('POST /api/v1/auth/refresh', () => json(401, { error: 'UNAUTHENTICATED', message: 'RefreshTokenReuseDetected' }));
      expect(await session.refresh()).toBe(false);
      expect(session.status).toBe('anonymous');
      expect(session.endedReason).toMatch(/session has ended/);
      expect(stored()).toBeNull();
    });
  });

  describe('when the network fails during a refresh', () => {
    it('keeps the session (a flaky connection is not a logout)', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      server.on('POST /api/v1/auth/refresh', () => {
        throw new TypeError('Failed to fetch');
      });
      await expect(session.refresh()).rejects.toBeTruthy();
      expect(session.status).toBe('authenticated');
      expect(stored()?.refreshToken).toBe('refresh-1');
    });
  });

  describe('when another tab already rotated the refresh token', () => {
    it('adopts that tab’s pair instead of spending the used token', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      localStorage.setItem(
        'agentyard.session',
        JSON.stringify({ accessToken: 'access-other', refreshToken: 'refresh-other', expiresAt: Date.now() + 600_000 }),
      );
      expect(await session.refresh()).toBe(true);
      expect(refreshCount).toBe(0);
      server.on('GET /api/v1/workers', (req) => ({ items: [], seenAuth: req.auth }));
      const { data } = await session.api.GET('/api/v1/workers');
      expect(data).toMatchObject({ seenAuth: 'Bearer access-other' });
    });
  });

  describe('when the page loads with a saved session', () => {
    it('restores it, refreshing first when the access token has expired', async () => {
      localStorage.setItem('agentyard.session', JSON.stringify({ accessToken: 'access-old', refreshToken: 'refresh-old', expiresAt: Date.now() - 1000 }));
      const session = useSessionStore();
      expect(await session.restore()).toBe(true);
      expect(session.user?.id).toBe('u-1');
      expect(server.requests.find((r) => r.path === '/api/v1/auth/refresh')?.body).toEqual({ refreshToken: 'refresh-old' });
    });

    it('is anonymous without one', async () => {
      const session = useSessionStore();
      expect(await session.restore()).toBe(false);
      expect(session.status).toBe('anonymous');
    });
  });

  describe('when the access token is about to expire', () => {
    it('refreshes silently a minute ahead', async () => {
      vi.useFakeTimers();
      server.on('POST /api/v1/auth/login', () => tokenPair(1, 120));
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      expect(refreshCount).toBe(0);
      await vi.advanceTimersByTimeAsync(61_000);
      expect(refreshCount).toBe(1);
      expect(stored()?.refreshToken).toBe('refresh-101');
    });
  });

  describe('when the user logs out', () => {
    it('revokes on the server and forgets the tokens', async () => {
      const session = useSessionStore();
      await session.login('alice', 'right-password');
      await session.logout();
      expect(server.requests.some((r) => r.path === '/api/v1/auth/logout' && r.auth === 'Bearer access-1')).toBe(true);
      expect(session.status).toBe('anonymous');
      expect(session.endedReason).toBeNull();
      expect(stored()).toBeNull();
    });
  });
});
