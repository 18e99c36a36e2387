import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, fakeServer, tokenPair, user, worker } from '@/test/fake-server';
import { useLiveStore } from './live.store';
import { useSessionStore } from './session.store';
import { sampleOf, useWorkerStore } from './workers.store';

const heartbeat = (sentAt: string, cpuPercent: number) => ({
  workerId: 'w-1',
  sentAt,
  cpuPercent,
  memUsedMb: 2048,
  memTotalMb: 8192,
  diskFreeMb: 25_000,
  diskTotalMb: 100_000,
  slots: { total: 2, used: 1 },
  running: [{ taskId: 't-1', attempt: 1 }],
  tools: [{ name: 'shell' as const, version: null }],
  draining: false,
});

describe('useWorkerStore', () => {
  let server: ReturnType<typeof fakeServer>;
  let list: ReturnType<typeof worker>[];

  beforeEach(async () => {
    localStorage.clear();
    setActivePinia(createPinia());
    list = [];
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('GET /api/v1/workers', () => ({ items: list }))
      .install();
    await useSessionStore().login('alice', 'pw');
  });
  afterEach(() => vi.useRealTimers());

  it('offers only the tools of online, undrained workers', async () => {
    list = [
      worker({
        id: 'a',
        tools: [
          { name: 'shell', version: null },
          { name: 'ollama', version: '0.5' },
        ],
      }),
      worker({ id: 'b', status: 'offline', tools: [{ name: 'claude-code', version: null }] }),
      worker({ id: 'c', drained: true, tools: [{ name: 'gemini-cli', version: null }] }),
    ];
    const workers = useWorkerStore();
    await workers.fetch();
    expect(workers.onlineTools).toEqual(['ollama', 'shell']);
    expect(workers.online.map((w) => w.id)).toEqual(['a', 'c']);
  });

  it('records one sparkline sample per new heartbeat', async () => {
    const workers = useWorkerStore();
    list = [worker({ lastHeartbeat: heartbeat('2026-11-01T10:00:00.000Z', 10) })];
    await workers.fetch();
    await workers.fetch(); // same heartbeat: no new sample
    list = [worker({ lastHeartbeat: heartbeat('2026-11-01T10:00:05.000Z', 55.55) })];
    await workers.fetch();
    expect(workers.samples['w-1'].map((s) => s.cpu)).toEqual([10, 55.6]);
  });

  it('turns a heartbeat into percentages', () => {
    expect(sampleOf(heartbeat('2026-11-01T10:00:00.000Z', 12.34))).toMatchObject({ cpu: 12.3, memPercent: 25, diskPercent: 75, running: 1 });
  });

  it('polls while a page holds it and stops when the last one lets go', async () => {
    vi.useFakeTimers();
    const workers = useWorkerStore();
    const count = () => server.requests.filter((r) => r.path === '/api/v1/workers').length;
    const releaseA = workers.startPolling();
    const releaseB = workers.startPolling();
    await vi.advanceTimersByTimeAsync(10_100);
    expect(count()).toBe(3); // at once, then every 5 s
    releaseA();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(count()).toBe(4);
    releaseB();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(count()).toBe(4);
  });

  it('refetches when a worker event arrives', async () => {
    vi.useFakeTimers();
    const workers = useWorkerStore();
    list = [worker({ status: 'offline' })];
    await workers.fetch();
    list = [worker({ status: 'online' })];
    useLiveStore().dispatch({ type: 'event', event: envelope('WorkerWentOnline', { workerId: 'w-1' }, 3, 'worker-w-1') });
    await vi.advanceTimersByTimeAsync(300);
    expect(workers.items[0].status).toBe('online');
  });

  it("revokes a worker's credential and keeps the revoked worker it gets back", async () => {
    list = [worker({ id: 'w-1' })];
    const store = useWorkerStore();
    await store.fetch();
    let called = '';
    server.on('POST /api/v1/workers/w-1/revoke-credential', (req) => {
      called = `${req.method} ${req.path}`;
      return worker({ id: 'w-1', credentialRevoked: true });
    });
    await store.revokeCredential('w-1');
    expect(called).toBe('POST /api/v1/workers/w-1/revoke-credential');
    expect(store.byId['w-1']?.credentialRevoked).toBe(true);
  });

  it('creates a registration token with the chosen settings', async () => {
    server.on(
      'POST /api/v1/workers/registration-tokens',
      (req) =>
        new Response(
          JSON.stringify({
            id: 'r',
            token: 'ayr_x',
            expiresAt: '2026-11-01T11:00:00Z',
            usesLeft: 2,
            installCommand: 'npx agentyard-worker start --url http://x --token ayr_x',
            echo: req.body,
          }),
          {
            status: 201,
            headers: { 'content-type': 'application/json' },
          },
        ),
    );
    const token = await useWorkerStore().createRegistrationToken({ uses: 2, ttlSeconds: 900, labels: ['gpu'] });
    expect(token).toMatchObject({ token: 'ayr_x', echo: { uses: 2, ttlSeconds: 900, labels: ['gpu'] } });
  });
});
