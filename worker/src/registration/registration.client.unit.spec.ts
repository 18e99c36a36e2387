import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegisterWorkerBody } from '@agentyard/contracts';
import { createLogger } from '../logging/logger';
import { fetchNatsCredentials, registerWorker, RegistrationRejected } from './registration.client';

const body: RegisterWorkerBody = {
  token: `ayr_00000000-0000-0000-0000-000000000000.${'a'.repeat(43)}`,
  name: 'w',
  hostname: 'h',
  platform: 'linux',
  arch: 'x64',
  tools: [{ name: 'shell', version: null, health: 'healthy' as const, auth: 'ok' as const }],
  slots: 1,
  resources: { cpus: 1, memoryMb: 1, diskMb: 0 },
  labels: [],
  agentVersion: '0.1.0',
};
const logger = createLogger('error', () => undefined);

describe('registerWorker', () => {
  let server: Server;
  let url: string;
  let replies: { status: number; body: unknown }[];
  let calls: number;
  let seen: { url?: string; authorization?: string }[];

  beforeEach(async () => {
    calls = 0;
    replies = [];
    seen = [];
    server = createServer((req, res) => {
      calls++;
      seen.push({ url: req.url, authorization: req.headers.authorization });
      req.resume();
      const reply = replies.shift() ?? { status: 500, body: {} };
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it("fetches the worker's NATS credentials with its worker credential, and gives up on a 401", async () => {
    replies.push({ status: 200, body: { creds: 'the-creds', expiresAt: '2026-11-29T13:00:00.000Z', inboxPrefix: '_INBOX.w1' } });
    await expect(fetchNatsCredentials(url, { workerId: 'w1', credential: 'ayw_w1.secret' }, { logger })).resolves.toEqual({
      creds: 'the-creds',
      expiresAt: '2026-11-29T13:00:00.000Z',
      inboxPrefix: '_INBOX.w1',
    });
    expect(seen[0]).toEqual({ url: '/api/v1/workers/w1/nats-credentials', authorization: 'Worker ayw_w1.secret' });
    replies.push({ status: 401, body: { error: 'UNAUTHENTICATED', message: 'worker credential was revoked' } });
    await expect(fetchNatsCredentials(url, { workerId: 'w1', credential: 'ayw_w1.secret' }, { logger, initialDelayMs: 10 })).rejects.toThrow(
      'worker credential was revoked',
    );
    expect(calls).toBe(2);
  });

  it('returns the registration', async () => {
    replies.push({ status: 201, body: { workerId: 'w1', credential: 'ayw_x', natsUrl: 'nats://n:4222', heartbeatIntervalMs: 5_000 } });
    await expect(registerWorker(url, body, { logger })).resolves.toMatchObject({ workerId: 'w1' });
  });

  it('gives up at once on a 4xx, with the server’s message', async () => {
    replies.push({ status: 401, body: { error: 'UNAUTHENTICATED', message: 'token expired' } });
    const attempt = registerWorker(url, body, { logger, initialDelayMs: 10 });
    await expect(attempt).rejects.toThrow(RegistrationRejected);
    await expect(attempt).rejects.toThrow('token expired');
    expect(calls).toBe(1);
  });

  it('retries 5xx and 429 with backoff until it succeeds', async () => {
    replies.push({ status: 503, body: { error: 'UNAVAILABLE', message: 'starting' } }, { status: 429, body: {} });
    replies.push({ status: 201, body: { workerId: 'w2', credential: 'ayw_x', natsUrl: 'nats://n:4222', heartbeatIntervalMs: 5_000 } });
    await expect(registerWorker(url, body, { logger, initialDelayMs: 10 })).resolves.toMatchObject({ workerId: 'w2' });
    expect(calls).toBe(3);
  });

  it('retries network errors until aborted', async () => {
    const controller = new AbortController();
    const attempt = registerWorker('http://127.0.0.1:1', body, { logger, initialDelayMs: 10, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await expect(attempt).rejects.toThrow('stop');
  });
});
