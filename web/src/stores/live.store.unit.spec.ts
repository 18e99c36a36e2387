import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, FakeWebSocket, fakeServer, json, tokenPair, user } from '@/test/fake-server';
import { liveUrl, reconnectDelay, useLiveStore } from './live.store';
import { useSessionStore } from './session.store';

async function signedIn() {
  const session = useSessionStore();
  await session.login('alice', 'pw');
  return session;
}

describe('useLiveStore', () => {
  let server: ReturnType<typeof fakeServer>;
  let refreshes: number;

  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    FakeWebSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeWebSocket);
    refreshes = 0;
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('POST /api/v1/auth/refresh', () => tokenPair(100 + ++refreshes))
      .on('GET /api/v1/auth/me', () => user)
      .install();
  });
  afterEach(() => vi.useRealTimers());

  it('authenticates with the first message and becomes live on ready', async () => {
    await signedIn();
    const live = useLiveStore();
    const resync = vi.fn();
    live.onResync(resync);
    live.start();
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    const ws = FakeWebSocket.latest();
    expect(ws.url).toBe('ws://127.0.0.1:5173/ws');
    ws.open();
    expect(JSON.parse(ws.sent[0])).toEqual({ type: 'auth', token: 'access-1' });
    expect(live.status).toBe('connecting');
    ws.receive({ type: 'ready' });
    expect(live.status).toBe('live');
    expect(resync).toHaveBeenCalledTimes(1);
  });

  it('hands events and output to subscribers and keeps recent events newest first', async () => {
    await signedIn();
    const live = useLiveStore();
    const events = vi.fn();
    const output = vi.fn();
    live.onEvent(events);
    live.onOutput(output);
    live.start();
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    const ws = FakeWebSocket.latest();
    ws.open();
    ws.receive({ type: 'ready' });
    ws.receive({ type: 'event', event: envelope('TaskCreated', { taskId: 'a' }, 1) });
    ws.receive({ type: 'event', event: envelope('TaskQueued', { taskId: 'a' }, 2) });
    ws.receive({ type: 'output', chunk: { taskId: 'a', attempt: 1, seq: 0, data: 'hi' } });
    expect(events.mock.calls.map((c) => c[0].type)).toEqual(['TaskCreated', 'TaskQueued']);
    expect(live.recent.map((e) => e.type)).toEqual(['TaskQueued', 'TaskCreated']);
    expect(output).toHaveBeenCalledWith({ taskId: 'a', attempt: 1, seq: 0, data: 'hi' });
  });

  describe('when the connection drops', () => {
    it('reconnects with growing delays and resyncs after the new ready', async () => {
      vi.useFakeTimers();
      await signedIn();
      const live = useLiveStore();
      const resync = vi.fn();
      live.onResync(resync);
      live.start();
      await vi.advanceTimersByTimeAsync(0);
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive({ type: 'ready' });

      FakeWebSocket.latest().drop(1006);
      expect(live.status).toBe('reconnecting');
      await vi.advanceTimersByTimeAsync(700); // first retry: 0.5 s ± 20 %
      expect(FakeWebSocket.instances).toHaveLength(2);
      FakeWebSocket.latest().drop(1006);
      await vi.advanceTimersByTimeAsync(700);
      expect(FakeWebSocket.instances).toHaveLength(2); // second retry waits ~1 s
      await vi.advanceTimersByTimeAsync(600);
      expect(FakeWebSocket.instances).toHaveLength(3);

      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive({ type: 'ready' });
      expect(live.status).toBe('live');
      expect(live.attempts).toBe(0);
      expect(resync).toHaveBeenCalledTimes(2);
    });
  });

  describe('when the server closes with 4401 (token expired or revoked)', () => {
    it('refreshes the token and reconnects with the new one', async () => {
      vi.useFakeTimers();
      await signedIn();
      const live = useLiveStore();
      live.start();
      await vi.advanceTimersByTimeAsync(0);
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive({ type: 'ready' });
      FakeWebSocket.latest().drop(4401, 'access token expired');
      await vi.advanceTimersByTimeAsync(10);
      expect(refreshes).toBe(1);
      expect(FakeWebSocket.instances).toHaveLength(2);
      FakeWebSocket.latest().open();
      expect(JSON.parse(FakeWebSocket.latest().sent[0])).toEqual({ type: 'auth', token: 'access-101' });
    });

    it('stops when the session cannot be refreshed', async () => {
      vi.useFakeTimers();
      const session = await signedIn();
      server.on('POST /api/v1/auth/refresh', () => json(401, { error: 'UNAUTHENTICATED', message: 'revoked' }));
      const live = useLiveStore();
      live.start();
      await vi.advanceTimersByTimeAsync(0);
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().drop(4401, 'logged out');
      await vi.advanceTimersByTimeAsync(60_000);
      expect(FakeWebSocket.instances).toHaveLength(1);
      expect(live.status).toBe('stopped');
      expect(session.status).toBe('anonymous');
    });
  });

  it('does not reconnect after stop()', async () => {
    vi.useFakeTimers();
    await signedIn();
    const live = useLiveStore();
    live.start();
    await vi.advanceTimersByTimeAsync(0);
    live.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(FakeWebSocket.latest().closed).toBe(true);
  });

  it('backs off from 0.5 s to at most 30 s, with jitter', () => {
    expect(reconnectDelay(0, () => 0.5)).toBe(500);
    expect(reconnectDelay(3, () => 0.5)).toBe(4000);
    expect(reconnectDelay(20, () => 1)).toBe(36_000);
    expect(reconnectDelay(20, () => 0)).toBe(24_000);
  });

  it('uses wss behind https', () => {
    expect(liveUrl({ protocol: 'https:', host: 'yard.example' })).toBe('wss://yard.example/ws');
  });
});
