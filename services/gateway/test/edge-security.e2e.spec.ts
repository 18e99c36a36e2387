/*
 * The edge's defences end to end, on the whole platform as processes (nats-server in operator
 * mode, Postgres, every service, one real worker agent). Besides the platform's gateway (which
 * trusts no proxy, as by default), a second gateway runs as if behind a reverse proxy at
 * 127.0.0.1 (TRUSTED_PROXIES): through it each test is its own client (X-Forwarded-For), so
 * per-client limits in one test do not reach another. Each case here failed before its fix.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Envelope, TaskView, WorkerView } from '@agentyard/contracts';
import { freePort, startPlatform, startService, type Platform, type ServiceProcess } from '@agentyard/local-infra';
import { ApiClient, eventually, type Reply } from './support/api-client';
import { LiveSocket } from './support/live-socket';

let platform: Platform;
let proxied: ServiceProcess;
/** The gateway behind the (pretend) proxy at 127.0.0.1. */
let edge: string;
let nc: NatsConnection;
let alice: Session;
let aliceWorkerId: string;
let clientCount = 0;

interface Session {
  client: ApiClient;
  userId: string;
  token: string;
  refreshToken: string;
  username: string;
}

/** A new client address (TEST-NET-3), so per-client limits start from zero for it. */
const newClient = (): string => `203.0.113.${++clientCount}`;

function through(base: string, ip?: string, token?: string): ApiClient {
  const client = new ApiClient(base, token);
  if (!ip) return client;
  const call = client.call.bind(client);
  client.call = (method, path, body, headers = {}) => call(method, path, body, { 'x-forwarded-for': ip, ...headers });
  return client;
}

async function signUp(username: string, ip = newClient()): Promise<Session> {
  const anon = through(edge, ip);
  const password = 'correct horse battery';
  const reg = await anon.post<{ id: string }>('/api/v1/auth/register', { username, email: `${username}@example.com`, password });
  if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.body)}`);
  return { ...(await logIn(username, ip)), userId: reg.body.id, username };
}

async function logIn(username: string, ip = newClient()): Promise<Omit<Session, 'userId' | 'username'>> {
  const res = await through(edge, ip).post<{ accessToken: string; refreshToken: string }>('/api/v1/auth/login', {
    username,
    password: 'correct horse battery',
  });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { client: through(edge, ip, res.body.accessToken), token: res.body.accessToken, refreshToken: res.body.refreshToken };
}

async function createTask(client: ApiClient, body: Record<string, unknown>): Promise<TaskView> {
  const res = await client.post<TaskView>('/api/v1/tasks', body);
  if (res.status !== 201) throw new Error(`create task: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const taskIn = (client: ApiClient, id: string, statuses: string[], timeoutMs = 60_000) =>
  eventually(
    `task ${id} to reach ${statuses.join('/')}`,
    async () => {
      const res = await client.get<TaskView>(`/api/v1/tasks/${id}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
  );

/** Opens a WebSocket with raw headers; resolves with the HTTP status of a refused handshake, or 101. */
function handshake(base: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

beforeAll(async () => {
  platform = await startPlatform();
  const port = await freePort();
  const internalPort = await freePort();
  proxied = await startService(
    'gateway',
    {
      NATS_URL: platform.nats.url,
      NATS_CREDS_FILE: platform.natsCredsFile!,
      PORT: String(port),
      HTTP_PORT: String(internalPort),
      TRUSTED_PROXIES: '127.0.0.1',
      CORS_ORIGINS: 'https://app.example.com',
    },
    `http://127.0.0.1:${internalPort}/health/ready`,
  );
  edge = `http://127.0.0.1:${port}`;
  nc = await connect({ servers: platform.nats.url, authenticator: credsAuthenticator(readFileSync(platform.natsCredsFile!)) });
  alice = await signUp('alice');
  const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  platform.startWorker({ token: token.body.token, name: 'alices-box', slots: 4 });
  aliceWorkerId = (
    await eventually('alice’s worker online', async () => {
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.find((w) => w.name === 'alices-box' && w.status === 'online');
    })
  ).id;
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await proxied?.stop();
  await platform?.stop();
});

describe('the edge', () => {
  describe('per-client limits (item 2: X-Forwarded-For only from a trusted proxy)', () => {
    const failLogin = (client: ApiClient, i: number) => client.post('/api/v1/auth/login', { username: `nobody-${i}`, password: 'wrong password' });

    it('behind a trusted proxy, each forwarded client has its own login budget', async () => {
      const one = through(edge, newClient());
      for (let i = 0; i < 30; i++) expect((await failLogin(one, i)).status).toBe(401);
      const over = await failLogin(one, 30);
      expect(over.status).toBe(429);
      expect(String(over.body.message)).toMatch(/from this address/);
      expect((await failLogin(through(edge, newClient()), 31)).status).toBe(401);
    });

    it('counts registrations per client too (30 an hour), not for the whole platform', async () => {
      const ip = newClient();
      const bulk = through(edge, ip);
      // Taken names: each attempt counts, none creates an account.
      for (let i = 0; i < 30; i++) {
        const res = await bulk.post('/api/v1/auth/register', { username: 'alice', email: `alice${i}@example.com`, password: 'correct horse battery' });
        expect(res.status).toBe(409);
      }
      const over = await bulk.post('/api/v1/auth/register', { username: 'bulk-31', email: 'bulk31@example.com', password: 'correct horse battery' });
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await signUp('someone-else')).userId).toEqual(expect.any(String));
    });
  });

  describe('account lock-out (item 3: keyed by the account, not the string typed)', () => {
    it('counts failures by username, email and case variants against one account', async () => {
      await signUp('lockable');
      const guesses = ['lockable', 'lockable@example.com', 'LOCKABLE', 'Lockable@Example.com', 'lOcKaBlE'];
      for (const username of guesses) {
        expect((await through(edge, newClient()).post('/api/v1/auth/login', { username, password: 'a wrong guess' })).status).toBe(401);
      }
      for (const username of ['lockable', 'lockable@example.com', 'LOCKABLE']) {
        const res = await through(edge, newClient()).post('/api/v1/auth/login', { username, password: 'correct horse battery' });
        expect({ username, status: res.status }).toEqual({ username, status: 429 });
      }
    });

    it('counts case variants of an unknown name together', async () => {
      for (const username of ['Ghost', 'ghost', 'GHOST', 'gHost', 'ghosT']) {
        expect((await through(edge, newClient()).post('/api/v1/auth/login', { username, password: 'a wrong guess' })).status).toBe(401);
      }
      expect((await through(edge, newClient()).post('/api/v1/auth/login', { username: 'GhOsT', password: 'x' })).status).toBe(429);
    });
  });

  describe('sessions (item 4: a password change or a refresh-token reuse ends them at once)', () => {
    it("refuses every other session's access tokens and closes their sockets within a second; the changing session stays", async () => {
      const me = await signUp('changer');
      const other = await logIn('changer');
      const otherSocket = await LiveSocket.open(edge, other.token);
      const mySocket = await LiveSocket.open(edge, me.token);
      expect((await other.client.get('/api/v1/auth/me')).status).toBe(200);
      const changed = await me.client.post('/api/v1/auth/change-password', { currentPassword: 'correct horse battery', newPassword: 'a brand new secret' });
      expect(changed.status).toBe(204);
      const at = Date.now();
      expect(await otherSocket.closed).toBe(4401);
      expect(Date.now() - at).toBeLessThan(1_000);
      const refused = await other.client.get('/api/v1/auth/me');
      expect(refused.status).toBe(401);
      expect(String(refused.body.message)).toMatch(/signed out/);
      // Through the other gateway too: the revocation is shared, not one instance's memory.
      expect((await through(platform.url, undefined, other.token).get('/api/v1/auth/me')).status).toBe(401);
      expect((await me.client.get('/api/v1/auth/me')).status).toBe(200);
      expect(mySocket.isOpen).toBe(true);
      mySocket.close();
    });

    it('ends a family whose refresh token was reused: its access tokens are refused and its socket closes', async () => {
      const victim = await signUp('reused');
      const socket = await LiveSocket.open(edge, victim.token);
      const anon = through(edge, newClient());
      const rotated = await anon.post<{ accessToken: string }>('/api/v1/auth/refresh', { refreshToken: victim.refreshToken });
      expect(rotated.status).toBe(200);
      expect((await anon.post('/api/v1/auth/refresh', { refreshToken: victim.refreshToken })).status).toBe(401);
      const at = Date.now();
      expect(await socket.closed).toBe(4401);
      expect(Date.now() - at).toBeLessThan(1_000);
      expect((await victim.client.get('/api/v1/auth/me')).status).toBe(401);
      expect((await through(edge, newClient(), rotated.body.accessToken).get('/api/v1/auth/me')).status).toBe(401);
    });
  });

  describe('live output (item 5: forwarded only from the worker known to run that attempt)', () => {
    const chunk = (taskId: string, attempt: number, data: string) => JSON.stringify({ taskId, attempt, seq: 10_000, data });

    /** Publishes the fakes, then a genuine chunk; once that one arrived, the fakes had their chance. */
    async function expectOnlyGenuine(live: LiveSocket, fakes: Array<[string, string]>, genuine: { subject: string; payload: string }): Promise<void> {
      for (const [subject, payload] of fakes) nc.publish(subject, payload);
      nc.publish(genuine.subject, genuine.payload);
      await eventually('the genuine chunk', async () => (live.output.some((c) => c.data === 'genuine') ? true : undefined));
      await new Promise((r) => setTimeout(r, 500)); // a fake that needed a question to the tasks service has had it
      expect(live.output.filter((c) => c.data.startsWith('fake')).map((c) => c.data)).toEqual([]);
    }

    it('drops chunks for a queued task, a finished task and another attempt, then forwards the running one', async () => {
      const live = await LiveSocket.open(edge, alice.token);
      const queued = await createTask(alice.client, { description: 'no worker has ollama', tool: 'ollama', input: { prompt: 'x' } });
      const finished = await createTask(alice.client, { description: 'done', tool: 'shell', input: { command: 'echo done' } });
      await taskIn(alice.client, finished.id, ['succeeded']);
      const running = await createTask(alice.client, { description: 'runs', tool: 'shell', input: { command: 'sleep 20' } });
      await taskIn(alice.client, running.id, ['running']);
      const subject = (taskId: string) => `work.output.${aliceWorkerId}.${taskId}`;
      await expectOnlyGenuine(
        live,
        [
          [subject(queued.id), chunk(queued.id, 1, 'fake: queued')],
          [subject(finished.id), chunk(finished.id, 1, 'fake: finished')],
          [subject(running.id), chunk(running.id, 2, 'fake: another attempt')],
        ],
        { subject: subject(running.id), payload: chunk(running.id, 1, 'genuine') },
      );
      live.close();
      await alice.client.post(`/api/v1/tasks/${running.id}/cancel`);
    }, 90_000);

    it('asks the tasks service about a task it never saw assigned, instead of forwarding unchecked', async () => {
      // Tasks assigned while nobody watched the platform's own gateway: no socket was open on it,
      // so it followed no stream and does not know who runs them (as after a restart, or after
      // its 30 s idle stop).
      const running = await createTask(alice.client, { description: 'runs unseen', tool: 'shell', input: { command: 'sleep 20' } });
      const finished = await createTask(alice.client, { description: 'done unseen', tool: 'shell', input: { command: 'echo done' } });
      await taskIn(alice.client, running.id, ['running']);
      await taskIn(alice.client, finished.id, ['succeeded']);
      const live = await LiveSocket.open(platform.url, alice.token);
      const other = '01900000-0000-7000-8000-00000000beef';
      await expectOnlyGenuine(
        live,
        [
          [`work.output.${aliceWorkerId}.${finished.id}`, chunk(finished.id, 1, 'fake: finished, unseen')],
          [`work.output.${other}.${running.id}`, chunk(running.id, 1, 'fake: not its worker')],
        ],
        { subject: `work.output.${aliceWorkerId}.${running.id}`, payload: chunk(running.id, 1, 'genuine') },
      );
      live.close();
      await alice.client.post(`/api/v1/tasks/${running.id}/cancel`);
    }, 90_000);
  });

  describe("allocation frames (item 6: only the workers the task's owner may see)", () => {
    it("leave other users' workers out of decisions and deferrals on the WebSocket, as the HTTP query does", async () => {
      const bob = await signUp('bob');
      const token = await bob.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
      const bobs = await through(edge, newClient()).post<{ workerId: string }>('/api/v1/workers/register', {
        token: token.body.token,
        name: 'bobs-box',
        hostname: 'bob',
        platform: 'linux',
        arch: 'x64',
        tools: [{ name: 'shell', version: null }],
        slots: 1,
        resources: { cpus: 1, memoryMb: 1024, diskMb: 1024 },
        agentVersion: '0',
      });
      expect(bobs.status).toBe(201);
      const live = await LiveSocket.open(edge, alice.token);
      const decided = await createTask(alice.client, { description: 'decided', tool: 'shell', input: { command: 'true' } });
      const deferred = await createTask(alice.client, { description: 'deferred', tool: 'ollama', input: { prompt: 'x' } });
      const frames = await eventually('both allocation frames', async () => {
        const d = live.eventsOf(decided.id).find((e) => e.type === 'AllocationDecided');
        const w = live.eventsOf(deferred.id).find((e) => e.type === 'AllocationDeferred');
        return d && w ? [d, w] : undefined;
      });
      for (const frame of frames as Envelope[]) {
        const ids = (frame.data.candidates as Array<{ workerId: string }>).map((c) => c.workerId);
        expect(ids).toContain(aliceWorkerId);
        expect(ids).not.toContain(bobs.body.workerId);
        expect(JSON.stringify(frame)).not.toContain(bobs.body.workerId);
      }
      const http = await alice.client.get<{ candidates: Array<{ workerId: string }> }>(`/api/v1/tasks/${deferred.id}/allocation`);
      expect(http.body.candidates.map((c) => c.workerId)).toEqual((frames[1]!.data.candidates as Array<{ workerId: string }>).map((c) => c.workerId));
      live.close();
    }, 60_000);
  });

  describe('bodies (item 7: JSON only, 415 otherwise, on every route)', () => {
    const forms: Array<[string, string, string]> = [
      ['a form', 'application/x-www-form-urlencoded', 'username=alice&password=correct+horse+battery'],
      ['multipart', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice\r\n--x--\r\n'],
      ['text', 'text/plain', '{"username":"alice","password":"correct horse battery"}'],
    ];
    it.each(forms)('refuses %s on login, register, refresh and a body-less command with 415', async (_name, type, body) => {
      const anon = through(edge, newClient());
      for (const path of ['/api/v1/auth/login', '/api/v1/auth/register', '/api/v1/auth/refresh']) {
        const res = await anon.call('POST', path, body, { 'content-type': type });
        expect({ path, status: res.status }).toEqual({ path, status: 415 });
      }
      const task = await createTask(alice.client, { description: 'x', tool: 'noop', input: {} });
      expect((await alice.client.call('POST', `/api/v1/tasks/${task.id}/cancel`, body, { 'content-type': type })).status).toBe(415);
    });

    it('still takes JSON with a charset', async () => {
      const res = await through(edge, newClient()).call(
        'POST',
        '/api/v1/auth/login',
        JSON.stringify({ username: 'alice', password: 'correct horse battery' }),
        {
          'content-type': 'application/json; charset=utf-8',
        },
      );
      expect(res.status).toBe(200);
    });
  });

  describe('token ids (item 8: a well-shaped id that is not a UUID is refused, never a 500)', () => {
    const notUuid = '-'.repeat(36);
    const secret = 'A'.repeat(43);

    it('answers a refresh token, an API token, a worker credential and a registration token with 401 / 400', async () => {
      const anon = through(edge, newClient());
      expect((await anon.post('/api/v1/auth/refresh', { refreshToken: `${notUuid}.${secret}` })).status).toBe(401);
      expect((await anon.post('/api/v1/auth/refresh', { refreshToken: `${'a'.repeat(36)}.${secret}` })).status).toBe(401);
      expect((await through(edge, newClient(), `ayt_${notUuid}.${secret}`).get('/api/v1/tasks')).status).toBe(401);
      const worker = await anon.call('POST', `/api/v1/workers/${aliceWorkerId}/heartbeat`, {}, { authorization: `Worker ayw_${notUuid}.${secret}` });
      expect(worker.status).toBe(401);
      const register = await anon.post('/api/v1/workers/register', {
        token: `ayr_${notUuid}.${secret}`,
        name: 'x',
        hostname: 'h',
        platform: 'linux',
        arch: 'x64',
        tools: [],
        slots: 1,
        resources: { cpus: 1, memoryMb: 1, diskMb: 1 },
        agentVersion: '0',
      });
      expect(register.status).toBe(400);
      expect((await alice.client.call('DELETE', `/api/v1/auth/tokens/${notUuid}`)).status).toBe(404);
    });
  });

  describe('text (item 9: NUL and unpaired surrogates are a 400 naming the field)', () => {
    const NUL = '\u0000';
    it.each([
      ['a task description', '/api/v1/tasks', { description: `x${NUL}`, tool: 'shell', input: { command: 'true' } }, /description/],
      ['a command', '/api/v1/tasks', { description: 'x', tool: 'shell', input: { command: `echo \uD800` } }, /input\.command/],
      ['an env value', '/api/v1/tasks', { description: 'x', tool: 'shell', input: { command: 'true', env: { A: NUL } } }, /input\.env\.A/],
      ['a login name', '/api/v1/auth/login', { username: `alice${NUL}`, password: 'x' }, /username/],
    ])('%s', async (_name, path, body, field) => {
      const res = await alice.client.post(path, body);
      expect(res.status).toBe(400);
      expect(String(res.body.message)).toMatch(field);
      expect(String(res.body.message)).toMatch(/NUL|surrogate/);
    });

    it('a worker field and ?q=', async () => {
      const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
      const res = await through(edge, newClient()).post('/api/v1/workers/register', {
        token: token.body.token,
        name: 'x',
        hostname: `h${NUL}`,
        platform: 'linux',
        arch: 'x64',
        tools: [],
        slots: 1,
        resources: { cpus: 1, memoryMb: 1, diskMb: 1 },
        agentVersion: '0',
      });
      expect(res.status).toBe(400);
      expect(String(res.body.message)).toMatch(/hostname/);
      const q = await alice.client.get('/api/v1/tasks?q=%00');
      expect(q.status).toBe(400);
      expect(String(q.body.message)).toMatch(/q: /);
    });

    it('a process printing NUL bytes finishes normally: the agent reports them as U+FFFD', async () => {
      const task = await createTask(alice.client, { description: 'binary', tool: 'shell', input: { command: "printf 'bin\\000ary'" } });
      const done = await taskIn(alice.client, task.id, ['succeeded', 'failed'], 30_000);
      expect(done.status).toBe('succeeded');
      expect(done.result?.outputTail).toContain('bin\uFFFDary');
    });
  });

  describe('list cursors (item 10: a crafted cursor is a 400)', () => {
    const crafted = (s: string, k: unknown) => Buffer.from(JSON.stringify({ s, k, i: '01900000-0000-7000-8000-000000000001' })).toString('base64url');
    it.each([
      ['a fractional priority', `sort=priority&cursor=${crafted('priority', 1.5)}`],
      ['a huge priority', `sort=priority&cursor=${crafted('priority', 1e300)}`],
      ['a year-0 date', `sort=created&cursor=${crafted('created', '0000-01-01T00:00:00.000Z')}`],
      ['a year-0 createdFrom', 'createdFrom=0000-01-01T00:00:00Z'],
    ])('%s', async (_name, query) => {
      const res: Reply = await alice.client.get(`/api/v1/tasks?${query}`);
      expect(res.status).toBe(400);
    });
  });

  describe('headers and origins (item 11)', () => {
    it.each(['/', '/api/v1/auth/me', '/api/docs'])('%s carries the security headers; no HSTS over plain HTTP', async (path) => {
      const res = await fetch(`${edge}${path}`, { headers: { accept: 'text/html' } });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).toMatch(/script-src 'self'/);
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security')).toBeNull();
    });

    it('sends HSTS when a trusted proxy says the request came over TLS, and not when anyone else says so', async () => {
      const tls = await fetch(`${edge}/api/v1/auth/me`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(tls.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      const untrusted = await fetch(`${platform.url}/api/v1/auth/me`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(untrusted.headers.get('strict-transport-security')).toBeNull();
    });

    it('lets the WebSocket be opened from the same origin, CORS_ORIGINS or no browser, and refuses other origins', async () => {
      expect(await handshake(edge, { origin: 'https://evil.example' })).toBe(403);
      expect(await handshake(edge, { origin: 'null' })).toBe(403);
      expect(await handshake(edge, { origin: edge })).toBe(101);
      expect(await handshake(edge, { origin: 'https://app.example.com' })).toBe(101);
      expect(await handshake(edge, {})).toBe(101);
    });
  });

  describe('smaller ones (item 16)', () => {
    it('refuses a common password at registration and at a password change', async () => {
      const anon = through(edge, newClient());
      const reg = await anon.post('/api/v1/auth/register', { username: 'commoner', email: 'commoner@example.com', password: 'Password1' });
      expect(reg.status).toBe(400);
      expect(String(reg.body.message)).toMatch(/password .*most common/);
      const user = await signUp('uncommon');
      const change = await user.client.post('/api/v1/auth/change-password', { currentPassword: 'correct horse battery', newPassword: 'iloveyou2' });
      expect(change.status).toBe(400);
      expect(String(change.body.message)).toMatch(/newPassword .*most common/);
    });

    it('grants a worker role only to a user that exists', async () => {
      const missing = await alice.client.post(`/api/v1/workers/${aliceWorkerId}/roles`, { userId: '01900000-0000-7000-8000-0000000dead0', role: 'user' });
      expect(missing.status).toBe(400);
      expect(String(missing.body.message)).toMatch(/no user has the id/);
      const carol = await signUp('carol');
      const granted = await alice.client.post(`/api/v1/workers/${aliceWorkerId}/roles`, { userId: carol.userId, role: 'user' });
      expect(granted.status).toBe(200);
    });
  });

  // Last: it spends the untrusting gateway's one budget (every client there is 127.0.0.1).
  describe('without a trusted proxy (item 2)', () => {
    it('ignores X-Forwarded-For: a client cannot buy itself a new login budget', async () => {
      for (let i = 0; i < 30; i++) {
        const res = await through(platform.url, newClient()).post('/api/v1/auth/login', { username: `spray-${i}`, password: 'wrong password' });
        expect(res.status).toBe(401);
      }
      const over = await through(platform.url, newClient()).post('/api/v1/auth/login', { username: 'spray-30', password: 'wrong password' });
      expect(over.status).toBe(429);
    });
  });
});
