/*
 * Auth end to end against real processes: nats-server, Postgres, the auth service and the
 * gateway, each a child process started from its compiled output (`npm test` builds first).
 */
import { generateKeyPairSync, createPrivateKey, randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { Client } from 'pg';
import WebSocket from 'ws';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { freePort, startService, testDatabase, testNats, type NatsServer, type ServiceProcess } from '@agentyard/local-infra';

let nats: NatsServer;
let auth: ServiceProcess;
let gateway: ServiceProcess;
let base: string;
let internalBase: string;
let authDbUrl: string;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function api(
  path: string,
  init: { method?: string; body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let payload: string | undefined;
  if (init.raw !== undefined) payload = init.raw;
  else if (init.body !== undefined) payload = JSON.stringify(init.body);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${base}${path}`, { method: init.method ?? (payload === undefined ? 'GET' : 'POST'), headers, body: payload });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function sql<T extends Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: authDbUrl });
  await client.connect();
  try {
    return (await client.query<T>(query, params)).rows;
  } finally {
    await client.end();
  }
}

const register = (username: string, password = 'correct horse battery') =>
  api('/api/v1/auth/register', { body: { username, email: `${username}@example.com`, password } });
const login = (username: string, password = 'correct horse battery') => api('/api/v1/auth/login', { body: { username, password } });

beforeAll(async () => {
  nats = await testNats();
  authDbUrl = await testDatabase('auth');
  const authPort = await freePort();
  const gatewayPort = await freePort();
  const gatewayInternalPort = await freePort();
  auth = await startService(
    'auth',
    { NATS_URL: nats.url, DATABASE_URL: authDbUrl, HTTP_PORT: String(authPort), SECRETS_MASTER_KEY: randomBytes(32).toString('base64') },
    `http://127.0.0.1:${authPort}/health/ready`,
  );
  gateway = await startService(
    'gateway',
    { NATS_URL: nats.url, PORT: String(gatewayPort), HTTP_PORT: String(gatewayInternalPort) },
    `http://127.0.0.1:${gatewayPort}/health/ready`,
  );
  base = `http://127.0.0.1:${gatewayPort}`;
  internalBase = `http://127.0.0.1:${gatewayInternalPort}`;
});

afterAll(async () => {
  await gateway?.stop();
  await auth?.stop();
  await nats?.stop();
});

describe('Auth through the gateway', () => {
  describe('when a user goes through a whole session', () => {
    it('registers, logs in, refreshes, detects reuse of a rotated token, and logs out', async () => {
      const created = await register('alice');
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ username: 'alice', email: 'alice@example.com' });
      expect(JSON.stringify(created.body)).not.toMatch(/hash|password/i);
      expect((await register('alice')).status).toBe(409);
      expect((await register('ALICE')).status).toBe(409);

      const first = await login('alice');
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      const byEmail = await login('alice@example.com');
      expect(byEmail.status).toBe(200);

      const me = await api('/api/v1/auth/me', { token: first.body.accessToken as string });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: created.body.id, username: 'alice' });

      const rotated = await api('/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
      expect(rotated.status).toBe(200);
      expect(rotated.body.refreshToken).not.toEqual(first.body.refreshToken);

      // Reusing the rotated-away token: 401, and the whole family (incl. the new token) dies.
      const reuse = await api('/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
      expect(reuse.status).toBe(401);
      expect(reuse.body.message).toMatch(/already used/);
      const afterReuse = await api('/api/v1/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
      expect(afterReuse.status).toBe(401);
      // ...and so do its access tokens, at once (not at their expiry).
      const revokedAccess = await api('/api/v1/auth/me', { token: rotated.body.accessToken as string });
      expect(revokedAccess.status).toBe(401);
      expect(revokedAccess.body.message).toMatch(/signed out/);
      // Another login's family is untouched.
      const other = await api('/api/v1/auth/refresh', { body: { refreshToken: byEmail.body.refreshToken } });
      expect(other.status).toBe(200);

      const access = other.body.accessToken as string;
      expect((await api('/api/v1/auth/logout', { method: 'POST', token: access })).status).toBe(204);
      const rejected = await api('/api/v1/auth/me', { token: access });
      expect(rejected.status).toBe(401);
      expect(rejected.body).toMatchObject({ error: 'UNAUTHENTICATED' });
      expect(rejected.body.message).toMatch(/revoked/);
    });

    it('answers a wrong password and an unknown user with the same 401', async () => {
      await register('bob');
      const wrong = await login('bob', 'not the password');
      const unknown = await login('nobody-here', 'whatever password');
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body.message).toEqual(unknown.body.message);
    });

    it('changes a password: the old one stops working and other sessions are signed out', async () => {
      await register('carol');
      const here = await login('carol');
      const elsewhere = await login('carol');
      const change = await api('/api/v1/auth/change-password', {
        token: here.body.accessToken as string,
        body: { currentPassword: 'correct horse battery', newPassword: 'a brand new secret' },
      });
      expect(change.status).toBe(204);
      expect((await login('carol')).status).toBe(401);
      expect((await login('carol', 'a brand new secret')).status).toBe(200);
      expect((await api('/api/v1/auth/refresh', { body: { refreshToken: elsewhere.body.refreshToken } })).status).toBe(401);
      expect((await api('/api/v1/auth/refresh', { body: { refreshToken: here.body.refreshToken } })).status).toBe(200);
      const wrongCurrent = await api('/api/v1/auth/change-password', {
        token: here.body.accessToken as string,
        body: { currentPassword: 'nope nope nope', newPassword: 'another new secret' },
      });
      expect(wrongCurrent.status).toBe(400);
    });

    it('lets only one of two concurrent refreshes with the same token win', async () => {
      await register('dave');
      const session = await login('dave');
      const results = await Promise.all([1, 2].map(() => api('/api/v1/auth/refresh', { body: { refreshToken: session.body.refreshToken } })));
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    });
  });

  describe('when tokens are forged or stale', () => {
    let kid: string;
    let realKeyPem: string;
    let userId: string;

    beforeAll(async () => {
      const created = await register('eve');
      userId = created.body.id as string;
      const session = await login('eve');
      kid = decodeProtectedHeader(session.body.accessToken as string).kid as string;
      const rows = await sql<{ private_key_pem: string }>('select private_key_pem from signing_keys where kid = $1', [kid]);
      realKeyPem = rows[0]!.private_key_pem;
    });

    const claims = () => ({ username: 'eve', jti: `t-${Math.random().toString(36).slice(2)}` });
    const signWith = (key: Parameters<SignJWT['sign']>[0], alg: string, mutate: (j: SignJWT) => SignJWT) =>
      mutate(new SignJWT(claims()).setProtectedHeader({ alg, kid }).setSubject(userId).setIssuedAt()).sign(key);

    it.each([
      [
        'signed by another key',
        () =>
          signWith(generateKeyPairSync('ed25519').privateKey, 'EdDSA', (j) =>
            j.setIssuer('agentyard-auth').setAudience('agentyard-api').setExpirationTime('5m'),
          ),
      ],
      [
        'expired',
        () =>
          signWith(createPrivateKey(realKeyPem), 'EdDSA', (j) =>
            j
              .setIssuer('agentyard-auth')
              .setAudience('agentyard-api')
              .setExpirationTime(Math.floor(Date.now() / 1000) - 60),
          ),
      ],
      [
        'for another audience',
        () => signWith(createPrivateKey(realKeyPem), 'EdDSA', (j) => j.setIssuer('agentyard-auth').setAudience('someone-else').setExpirationTime('5m')),
      ],
      [
        'HS256 with the public key as secret',
        async () => {
          const { createPublicKey } = await import('node:crypto');
          const publicPem = createPublicKey(createPrivateKey(realKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
          return signWith(new TextEncoder().encode(publicPem), 'HS256', (j) =>
            j.setIssuer('agentyard-auth').setAudience('agentyard-api').setExpirationTime('5m'),
          );
        },
      ],
      [
        'alg none',
        async () => {
          const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
          return `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64({ sub: userId, jti: 'x', aud: 'agentyard-api', iss: 'agentyard-auth', exp: Math.floor(Date.now() / 1000) + 300 })}.`;
        },
      ],
      ['garbage', async () => 'not-a-jwt'],
    ])('rejects a token %s with 401', async (_name, make) => {
      const res = await api('/api/v1/auth/me', { token: await make() });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('UNAUTHENTICATED');
    });

    it('rejects a request without a token', async () => {
      const res = await api('/api/v1/auth/me');
      expect(res.status).toBe(401);
      expect(res.body.message).toMatch(/Bearer/);
    });
  });

  describe('when the input is bad', () => {
    const countUsers = async () => Number((await sql<{ n: string }>('select count(*)::text as n from users'))[0]!.n);

    it.each([
      { name: 'malformed JSON', init: { raw: '{"username": "x",' } as Parameters<typeof api>[1], status: 400, message: /JSON/ },
      {
        name: 'a missing field',
        init: { body: { username: 'frank', password: 'long enough pw' } } as Parameters<typeof api>[1],
        status: 400,
        message: /email/,
      },
      {
        name: 'a mistyped field',
        init: { body: { username: 123, email: 'f@example.com', password: 'long enough pw' } } as Parameters<typeof api>[1],
        status: 400,
        message: /username/,
      },
      {
        name: 'an unknown field',
        init: { body: { username: 'frank', email: 'f@example.com', password: 'long enough pw', admin: true } } as Parameters<typeof api>[1],
        status: 400,
        message: /admin/,
      },
      {
        name: 'an empty password',
        init: { body: { username: 'frank', email: 'f@example.com', password: '' } } as Parameters<typeof api>[1],
        status: 400,
        message: /password/,
      },
      { name: 'a body that is not an object', init: { body: ['frank'] } as Parameters<typeof api>[1], status: 400, message: /object/ },
      {
        name: 'a 2 MB body',
        init: { body: { username: 'frank', email: 'f@example.com', password: 'x'.repeat(2 * 1024 * 1024) } } as Parameters<typeof api>[1],
        status: 413,
        message: /larger/,
      },
    ])('answers $name with a clear $status and writes nothing', async ({ init, status, message }) => {
      const before = await countUsers();
      const res = await api('/api/v1/auth/register', init);
      expect(res.status).toBe(status);
      expect(res.body.error).toEqual(expect.any(String));
      expect(res.body.message).toMatch(message);
      expect(res.body.requestId).toEqual(expect.any(String));
      expect(await countUsers()).toBe(before);
    });

    it('answers an oversize body on a connection it keeps open, so a client still writing gets the 413', async () => {
      const body = JSON.stringify({ username: 'gina', email: 'g@example.com', password: 'x'.repeat(2 * 1024 * 1024) });
      const res = await fetch(`${base}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(413);
      // Closing with the body still in flight resets the socket, and the client loses the answer (EPIPE).
      expect(res.headers.get('connection')).not.toBe('close');
    });

    it('answers an unknown endpoint with a JSON 404', async () => {
      const res = await api('/api/v1/nope');
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('NOT_FOUND');
    });

    it('answers a non-JSON content type with 415', async () => {
      const res = await api('/api/v1/auth/login', { raw: 'username=a', headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(415);
    });
  });

  describe('when someone guesses passwords', () => {
    it('locks the account after 5 failures with 429 and a Retry-After', async () => {
      await register('grace');
      for (let i = 0; i < 5; i++) expect((await login('grace', `guess number ${i}`)).status).toBe(401);
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'grace', password: 'correct horse battery' }),
      });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('the live WebSocket', () => {
    function connect(token: string): Promise<{ ws: WebSocket; events: Array<{ type: string; metadata: { userId?: string } }> }> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
        const events: Array<{ type: string; metadata: { userId?: string } }> = [];
        ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
        ws.on('message', (raw) => {
          const msg = JSON.parse(raw.toString()) as { type: string; event?: { type: string; metadata: { userId?: string } } };
          if (msg.type === 'ready') resolve({ ws, events });
          if (msg.type === 'event' && msg.event) events.push(msg.event);
        });
        ws.on('close', (code) => reject(new Error(`closed ${code}`)));
      });
    }
    const until = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    it('follows the event streams only once a socket is authenticated', async () => {
      // No socket yet (this runs first): the gateway has no consumer on AUTH. Following every
      // stream for nobody would cost a delivery and a parse per event.
      const nc = await connectNats({ servers: nats.url });
      try {
        const jsm = await jetstreamManager(nc);
        const consumersOnAuth = async () => (await jsm.consumers.list('AUTH').next()).length;
        const before = await consumersOnAuth();
        await register('judy');
        const socket = await connect((await login('judy')).body.accessToken as string);
        expect(await consumersOnAuth()).toBe(before + 1);
        // The consumer existed before `ready`: the very next event reaches the socket.
        await login('judy');
        await until(() => socket.events.some((e) => e.type === 'UserLoggedIn'), "judy's login event");
        socket.ws.close();
      } finally {
        await nc.close();
      }
    });

    it("pushes each user their own events and none of another user's", async () => {
      const heidi = (await register('heidi')).body.id as string;
      const ivan = (await register('ivan')).body.id as string;
      const a = await connect((await login('heidi')).body.accessToken as string);
      const b = await connect((await login('ivan')).body.accessToken as string);
      await login('heidi');
      await until(() => a.events.some((e) => e.type === 'UserLoggedIn'), "heidi's login event");
      // Ivan's own later event arriving proves heidi's earlier one was filtered, not delayed.
      await login('ivan');
      await until(() => b.events.some((e) => e.type === 'UserLoggedIn'), "ivan's login event");
      expect(a.events.every((e) => e.metadata.userId === heidi)).toBe(true);
      expect(b.events.every((e) => e.metadata.userId === ivan)).toBe(true);
      a.ws.close();
      b.ws.close();
    });

    it('closes a socket that does not authenticate', async () => {
      const code = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
        ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: 'forged' })));
        ws.on('close', (c) => resolve(c));
      });
      expect(code).toBe(4401);
    });
  });

  describe('the edge', () => {
    it('serves the OpenAPI document and docs UI', async () => {
      const doc = await api('/api/docs/openapi.json');
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths as object)).toContain('/api/v1/auth/login');
      expect((await fetch(`${base}/api/docs`)).status).toBe(200);
    });

    it('exposes Prometheus metrics on the internal port only, and echoes request ids', async () => {
      const res = await fetch(`${internalBase}/metrics`);
      expect(await res.text()).toContain('process_cpu_user_seconds_total');
      expect((await fetch(`${internalBase}/health/ready`)).status).toBe(200);
      const publicMetrics = await fetch(`${base}/metrics`);
      expect(publicMetrics.status).toBe(404);
      expect(await publicMetrics.text()).not.toContain('process_cpu_user_seconds_total');
      const withId = await fetch(`${base}/api/v1/auth/me`, { headers: { 'x-request-id': 'req-42' } });
      expect(withId.headers.get('x-request-id')).toBe('req-42');
      expect(((await withId.json()) as { requestId: string }).requestId).toBe('req-42');
    });
  });
});
