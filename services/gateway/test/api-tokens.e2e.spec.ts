/*
 * API tokens end to end: every service, nats-server and Postgres as processes. A user creates
 * scoped tokens with a session, scripts use them as `Bearer ayt_…` within their scopes, and a
 * revoked or expired token stops working.
 */
import { Client } from 'pg';
import { apiTokenPattern, type ApiToken, type CreatedApiToken, type TaskView } from '@agentyard/contracts';
import { startPlatform, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';
import { LiveSocket } from './support/live-socket';

let platform: Platform;
let api: ApiClient;
let alice: { client: ApiClient; userId: string; token: string };
let mallory: { client: ApiClient; userId: string; token: string };

const task = { description: 'from a script', tool: 'shell', input: { command: 'echo hi' } };

async function authSql(query: string, params: unknown[] = []): Promise<void> {
  const client = new Client({ connectionString: platform.databases.auth });
  await client.connect();
  try {
    await client.query(query, params);
  } finally {
    await client.end();
  }
}

async function createToken(client: ApiClient, body: Record<string, unknown>): Promise<CreatedApiToken> {
  const res = await client.post<CreatedApiToken>('/api/v1/auth/tokens', body);
  if (res.status !== 201) throw new Error(`create token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

beforeAll(async () => {
  // A short cache TTL, so a socket opened with a token rechecks it every 2 s, not every 31 s.
  platform = await startPlatform({ env: { gateway: { API_TOKEN_CACHE_TTL_MS: '1000' } } });
  api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  mallory = await api.signUp('mallory');
});

afterAll(async () => {
  await platform?.stop();
});

describe('API tokens through the gateway', () => {
  it('open the live WebSocket for scripts: task events with tasks:read, none with workers:read alone, 4403 with neither', async () => {
    const reader = await LiveSocket.open(platform.url, (await createToken(alice.client, { name: 'ws tasks', scopes: ['tasks:read'] })).token);
    const workersOnly = await LiveSocket.open(platform.url, (await createToken(alice.client, { name: 'ws workers', scopes: ['workers:read'] })).token);
    const mallorys = await LiveSocket.open(platform.url, (await createToken(mallory.client, { name: 'ws mallory', scopes: ['tasks:read'] })).token);
    try {
      const created = await alice.client.post<TaskView>('/api/v1/tasks', task);
      expect(created.status).toBe(201);
      await eventually('the task events on the tasks:read socket', async () =>
        reader.eventsOf(created.body.id).some((e) => e.type === 'TaskQueued') ? true : undefined,
      );
      // Mallory's own task proves her socket works while it saw none of Alice's.
      const hers = await mallory.client.post<TaskView>('/api/v1/tasks', task);
      await eventually("mallory's own task on her socket", async () => (mallorys.eventsOf(hers.body.id).length > 0 ? true : undefined));
      expect(mallorys.eventsOf(created.body.id)).toEqual([]);
      expect(workersOnly.eventsOf(created.body.id)).toEqual([]);
      expect(workersOnly.events.filter((e) => e.streamId.startsWith('task-') || e.streamId.startsWith('user-'))).toEqual([]);
    } finally {
      for (const socket of [reader, workersOnly, mallorys]) socket.close();
    }
    const writeOnly = (await createToken(alice.client, { name: 'ws none', scopes: ['tasks:write'] })).token;
    await expect(LiveSocket.open(platform.url, writeOnly)).rejects.toThrow('socket closed 4403');
  });

  it('shows the secret once, lists without it, and scopes what the token can do', async () => {
    const readOnly = await createToken(alice.client, { name: 'ci read', scopes: ['tasks:read'] });
    expect(readOnly.token).toMatch(apiTokenPattern);
    expect(readOnly.token).toBe(`ayt_${readOnly.id}.${readOnly.token.split('.')[1]}`);
    expect(readOnly).toMatchObject({ name: 'ci read', scopes: ['tasks:read'], expiresAt: null, lastUsedAt: null });

    const list = await alice.client.get<{ items: ApiToken[] }>('/api/v1/auth/tokens');
    expect(list.status).toBe(200);
    expect(list.body.items.map((t) => t.id)).toContain(readOnly.id);
    const secret = readOnly.token.split('.')[1] as string;
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(JSON.stringify(list.body)).not.toMatch(/hash|"token"/i);

    const script = api.as(readOnly.token);
    const listed = await script.get<{ items: TaskView[] }>('/api/v1/tasks');
    expect(listed.status).toBe(200);
    expect(Array.isArray(listed.body.items)).toBe(true);

    const denied = await script.post<{ error: string; message: string }>('/api/v1/tasks', task);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('FORBIDDEN');
    expect(denied.body.message).toContain('tasks:write');
    const noWorkers = await script.get<{ message: string }>('/api/v1/workers');
    expect(noWorkers.status).toBe(403);
    expect(noWorkers.body.message).toContain('workers:read');

    const me = await script.get<{ id: string; username: string }>('/api/v1/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: alice.userId, username: 'alice' });

    const writer = await createToken(alice.client, { name: 'ci write', scopes: ['tasks:read', 'tasks:write'], expiresInDays: 30 });
    expect(Date.parse(writer.expiresAt as string) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const created = await api.as(writer.token).post<TaskView>('/api/v1/tasks', task);
    expect(created.status).toBe(201);
    // The task belongs to the token's owner.
    expect((await alice.client.get<TaskView>(`/api/v1/tasks/${created.body.id}`)).status).toBe(200);
    expect((await mallory.client.get<TaskView>(`/api/v1/tasks/${created.body.id}`)).status).toBe(404);

    const after = await alice.client.get<{ items: ApiToken[] }>('/api/v1/auth/tokens');
    expect(after.body.items.map((t) => t.id).slice(0, 2)).toEqual([writer.id, readOnly.id]);
    expect(after.body.items.find((t) => t.id === readOnly.id)?.lastUsedAt).not.toBeNull();
  });

  it('cannot manage tokens, change the password or log out with an API token', async () => {
    const full = await createToken(alice.client, { name: 'everything', scopes: ['tasks:read', 'tasks:write', 'workers:read', 'workers:write'] });
    const script = api.as(full.token);
    const attempts = [
      await script.post<{ message: string }>('/api/v1/auth/tokens', { name: 'sneaky', scopes: ['tasks:read'] }),
      await script.get<{ message: string }>('/api/v1/auth/tokens'),
      await script.call<{ message: string }>('DELETE', `/api/v1/auth/tokens/${full.id}`),
      await script.post<{ message: string }>('/api/v1/auth/change-password', {
        currentPassword: 'correct horse battery',
        newPassword: 'another long password',
      }),
      await script.post<{ message: string }>('/api/v1/auth/logout'),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/session/);
    }
    // None of them took effect: the token still works and the password is unchanged.
    expect((await script.get('/api/v1/tasks')).status).toBe(200);
    expect((await api.post('/api/v1/auth/login', { username: 'alice', password: 'correct horse battery' })).status).toBe(200);
  });

  it("closes a live WebSocket opened with a token once it is revoked (4401), and leaves other tokens' sockets open", async () => {
    const revoked = await createToken(alice.client, { name: 'ws to revoke', scopes: ['tasks:read'] });
    const kept = await createToken(alice.client, { name: 'ws to keep', scopes: ['tasks:read'] });
    const doomed = await LiveSocket.open(platform.url, revoked.token);
    const staying = await LiveSocket.open(platform.url, kept.token);
    try {
      expect((await alice.client.call('DELETE', `/api/v1/auth/tokens/${revoked.id}`)).status).toBe(204);
      await expect(doomed.closed).resolves.toBe(4401);
      // It has been rechecked at least as often as the revoked one by now.
      expect(staying.isOpen).toBe(true);
    } finally {
      staying.close();
      doomed.close();
    }
  });

  it('lets only the owner revoke, and a revoked token is refused at once', async () => {
    const token = await createToken(alice.client, { name: 'to revoke', scopes: ['tasks:read'] });
    const script = api.as(token.token);
    expect((await script.get('/api/v1/tasks')).status).toBe(200);

    const stolen = await mallory.client.call<{ error: string }>('DELETE', `/api/v1/auth/tokens/${token.id}`);
    expect(stolen.status).toBe(404);
    expect((await script.get('/api/v1/tasks')).status).toBe(200);
    expect((await mallory.client.call('DELETE', '/api/v1/auth/tokens/not-a-uuid')).status).toBe(404);

    expect((await alice.client.call('DELETE', `/api/v1/auth/tokens/${token.id}`)).status).toBe(204);
    expect((await alice.client.call('DELETE', `/api/v1/auth/tokens/${token.id}`)).status).toBe(204);
    const refused = await script.get<{ error: string }>('/api/v1/tasks');
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('UNAUTHENTICATED');
    const list = await alice.client.get<{ items: ApiToken[] }>('/api/v1/auth/tokens');
    expect(list.body.items.map((t) => t.id)).not.toContain(token.id);
  });

  it('refuses expired, unknown, malformed and tampered tokens with one generic answer', async () => {
    const token = await createToken(alice.client, { name: 'short lived', scopes: ['tasks:read'], expiresInDays: 1 });
    await authSql(`update api_tokens set expires_at = now() - interval '1 minute' where id = $1`, [token.id]);
    const expired = await api.as(token.token).get<{ message: string }>('/api/v1/tasks');
    expect(expired.status).toBe(401);

    const [head, secret] = token.token.split('.') as [string, string];
    const tampered = await api.as(`${head}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`).get<{ message: string }>('/api/v1/tasks');
    const unknown = await api.as(`ayt_00000000-0000-4000-8000-000000000000.${secret}`).get<{ message: string }>('/api/v1/tasks');
    const malformed = await api.as('ayt_garbage').get<{ message: string }>('/api/v1/tasks');
    for (const res of [tampered, unknown, malformed]) {
      expect(res.status).toBe(401);
      expect(res.body.message).toBe(expired.body.message);
    }
  });

  it('validates the body, naming the field', async () => {
    const cases: Array<{ body: unknown; field: RegExp }> = [
      { body: { name: 'no scopes' }, field: /scopes/ },
      { body: { name: 'empty scopes', scopes: [] }, field: /scopes/ },
      { body: { name: 'bad scope', scopes: ['tasks:admin'] }, field: /scopes/ },
      { body: { scopes: ['tasks:read'] }, field: /name/ },
      { body: { name: 'x', scopes: ['tasks:read'], expiresInDays: 0 }, field: /expiresInDays/ },
      { body: { name: 'x', scopes: ['tasks:read'], admin: true }, field: /admin/ },
    ];
    for (const c of cases) {
      const res = await alice.client.post<{ error: string; message: string }>('/api/v1/auth/tokens', c.body);
      expect({ body: c.body, status: res.status }).toEqual({ body: c.body, status: 400 });
      expect(res.body.message).toMatch(c.field);
    }
  });

  it('caps live tokens at 50 per user', async () => {
    const bob = await api.signUp('bob');
    for (let i = 0; i < 50; i++) await createToken(bob.client, { name: `t${i}`, scopes: ['tasks:read'] });
    const over = await bob.client.post<{ error: string }>('/api/v1/auth/tokens', { name: 'one too many', scopes: ['tasks:read'] });
    expect(over.status).toBe(409);
    const first = (await bob.client.get<{ items: ApiToken[] }>('/api/v1/auth/tokens')).body.items[0] as ApiToken;
    expect((await bob.client.call('DELETE', `/api/v1/auth/tokens/${first.id}`)).status).toBe(204);
    expect((await bob.client.post('/api/v1/auth/tokens', { name: 'room again', scopes: ['tasks:read'] })).status).toBe(201);
  });

  it('needs a session for the token endpoints', async () => {
    expect((await api.get('/api/v1/auth/tokens')).status).toBe(401);
  });
});
