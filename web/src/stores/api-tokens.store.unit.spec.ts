import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '@/api/client';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import { useApiTokenStore } from './api-tokens.store';
import { useSessionStore } from './session.store';

const apiToken = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: `token ${id}`,
  scopes: ['tasks:read'],
  createdAt: '2026-11-01T10:00:00.000Z',
  expiresAt: null,
  lastUsedAt: null,
  ...overrides,
});

describe('useApiTokenStore', () => {
  let server: ReturnType<typeof fakeServer>;

  beforeEach(async () => {
    localStorage.clear();
    setActivePinia(createPinia());
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('GET /api/v1/auth/tokens', () => ({ items: [apiToken('a'), apiToken('b', { scopes: ['workers:read', 'workers:write'] })] }))
      .install();
    await useSessionStore().login('alice', 'pw');
  });

  it('lists the tokens with the session’s access token', async () => {
    const tokens = useApiTokenStore();
    await tokens.fetch();
    expect(tokens.loaded).toBe(true);
    expect(tokens.error).toBeNull();
    expect(tokens.items.map((t) => t.id)).toEqual(['a', 'b']);
    expect(server.requests.find((r) => r.path === '/api/v1/auth/tokens')?.auth).toBe('Bearer access-1');
  });

  it('surfaces the server’s message when listing fails', async () => {
    server.on('GET /api/v1/auth/tokens', () => json(503, { error: 'UNAVAILABLE', message: 'The auth service is not answering.' }));
    const tokens = useApiTokenStore();
    await tokens.fetch();
    expect(tokens.error).toBe('The auth service is not answering.');
    expect(tokens.loaded).toBe(false);
  });

  it('creates a token, returns the secret once and keeps only the public fields', async () => {
    server.on('POST /api/v1/auth/tokens', (req) => json(201, { ...apiToken('new', req.body as Record<string, unknown>), token: 'ayt_secret' }));
    const tokens = useApiTokenStore();
    await tokens.fetch();
    const created = await tokens.create({ name: 'CI', scopes: ['tasks:read', 'tasks:write'], expiresInDays: 30 });
    expect(server.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/auth/tokens')?.body).toEqual({
      name: 'CI',
      scopes: ['tasks:read', 'tasks:write'],
      expiresInDays: 30,
    });
    expect(created.token).toBe('ayt_secret');
    expect(tokens.items[0]).toMatchObject({ id: 'new', name: 'CI' });
    expect(tokens.items[0]).not.toHaveProperty('token');
    expect(tokens.items).toHaveLength(3);
  });

  it('rejects a failed create with the server’s message and field errors', async () => {
    server.on('POST /api/v1/auth/tokens', () =>
      json(400, {
        error: 'VALIDATION_FAILED',
        message: 'invalid body: scopes: choose at least one scope',
        details: [{ field: 'scopes', message: 'choose at least one scope' }],
      }),
    );
    const tokens = useApiTokenStore();
    const failure = await tokens.create({ name: 'x', scopes: [] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).message).toBe('invalid body: scopes: choose at least one scope');
    expect((failure as ApiError).fieldErrors).toEqual({ scopes: 'choose at least one scope' });
    expect(tokens.items).toHaveLength(0);
  });

  it('revokes a token and drops it from the list', async () => {
    server.on('DELETE /api/v1/auth/tokens/:id', () => new Response(null, { status: 204 }));
    const tokens = useApiTokenStore();
    await tokens.fetch();
    await tokens.revoke('a');
    expect(server.requests.some((r) => r.method === 'DELETE' && r.path === '/api/v1/auth/tokens/a')).toBe(true);
    expect(tokens.items.map((t) => t.id)).toEqual(['b']);
    expect(tokens.revoking).toEqual([]);
  });

  it('keeps the token and rethrows when revoking fails', async () => {
    server.on('DELETE /api/v1/auth/tokens/:id', () => json(500, { error: 'INTERNAL', message: 'Something broke.' }));
    const tokens = useApiTokenStore();
    await tokens.fetch();
    await expect(tokens.revoke('a')).rejects.toThrow('Something broke.');
    expect(tokens.items.map((t) => t.id)).toEqual(['a', 'b']);
    expect(tokens.revoking).toEqual([]);
  });

  it('treats revoking an already-gone token as done', async () => {
    server.on('DELETE /api/v1/auth/tokens/:id', () => json(404, { error: 'NOT_FOUND', message: 'No such token.' }));
    const tokens = useApiTokenStore();
    await tokens.fetch();
    await tokens.revoke('a');
    expect(tokens.items.map((t) => t.id)).toEqual(['b']);
  });
});
