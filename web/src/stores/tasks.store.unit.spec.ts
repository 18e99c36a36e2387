import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, fakeServer, json, task, tokenPair, user } from '@/test/fake-server';
import { useLiveStore } from './live.store';
import { useSessionStore } from './session.store';
import { useTaskStore } from './tasks.store';

describe('useTaskStore', () => {
  let server: ReturnType<typeof fakeServer>;

  beforeEach(async () => {
    localStorage.clear();
    setActivePinia(createPinia());
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('GET /api/v1/tasks', () => ({ items: [task({ id: 'a' }), task({ id: 'b', status: 'running', version: 4 })], nextCursor: 'next' }))
      .install();
    await useSessionStore().login('alice', 'pw');
  });
  afterEach(() => vi.useRealTimers());

  it('lists tasks with the filters as query parameters', async () => {
    const tasks = useTaskStore();
    await tasks.fetchList({ status: ['running', 'failed'], tool: 'shell', q: 'deploy', sort: '-created', limit: 50 });
    expect(tasks.listIds).toEqual(['a', 'b']);
    expect(tasks.nextCursor).toBe('next');
    const params = new URLSearchParams(server.requests.find((r) => r.path === '/api/v1/tasks')?.search);
    expect(params.get('tool')).toBe('shell');
    expect(params.get('q')).toBe('deploy');
    expect(params.getAll('status').join(',')).toBe('running,failed');
  });

  it('appends the next page with the cursor', async () => {
    const tasks = useTaskStore();
    await tasks.fetchList({ limit: 2 });
    server.on('GET /api/v1/tasks', (req) => {
      expect(new URLSearchParams(req.search).get('cursor')).toBe('next');
      return { items: [task({ id: 'c' })], nextCursor: null };
    });
    await tasks.loadMore();
    expect(tasks.listIds).toEqual(['a', 'b', 'c']);
    expect(tasks.nextCursor).toBeNull();
  });

  it('ignores a slow answer to an older query', async () => {
    const tasks = useTaskStore();
    let release: (r: Response) => void = () => undefined;
    server.on('GET /api/v1/tasks', (req) =>
      new URLSearchParams(req.search).get('q') === 'old' ? new Promise<Response>((r) => (release = r)) : { items: [task({ id: 'new' })], nextCursor: null },
    );
    const old = tasks.fetchList({ q: 'old' });
    await vi.waitFor(() => expect(server.requests.some((r) => r.search.includes('q=old'))).toBe(true));
    await tasks.fetchList({ q: 'new' });
    release(json(200, { items: [task({ id: 'stale' })], nextCursor: null }));
    await old;
    expect(tasks.listIds).toEqual(['new']);
  });

  describe('when live events arrive', () => {
    it('moves a listed task through its statuses without a refetch', async () => {
      const tasks = useTaskStore();
      const live = useLiveStore();
      await tasks.fetchList({});
      live.dispatch({ type: 'event', event: envelope('TaskAssigned', { taskId: 'a', workerId: 'w-1', attempt: 1 }, 3) });
      expect(tasks.byId.a.status).toBe('assigned');
      expect(tasks.byId.a.workerId).toBe('w-1');
      live.dispatch({ type: 'event', event: envelope('TaskStarted', { taskId: 'a', workerId: 'w-1', attempt: 1, startedAt: '2026-11-01T10:00:05.000Z' }, 4) });
      live.dispatch({
        type: 'event',
        event: envelope('TaskSucceeded', { taskId: 'a', workerId: 'w-1', attempt: 1, result: { exitCode: 0, outputTail: 'ok\n', durationMs: 20 } }, 5),
      });
      expect(tasks.byId.a).toMatchObject({ status: 'succeeded', version: 5, result: { exitCode: 0 } });
    });

    it('never moves a task backwards on a late event', async () => {
      const tasks = useTaskStore();
      await tasks.fetchList({});
      useLiveStore().dispatch({ type: 'event', event: envelope('TaskQueued', { taskId: 'b', attempt: 1 }, 3) });
      expect(tasks.byId.b.status).toBe('running');
    });

    it('adds a created task at once and refetches the list shortly after', async () => {
      vi.useFakeTimers();
      const tasks = useTaskStore();
      await tasks.fetchList({});
      const before = server.requests.filter((r) => r.path === '/api/v1/tasks').length;
      useLiveStore().dispatch({
        type: 'event',
        event: envelope('TaskCreated', { taskId: 'z', description: 'new one', tool: 'shell', input: {}, priority: 50, maxAttempts: 1, timeoutSeconds: 5 }, 1),
      });
      expect(tasks.byId.z).toMatchObject({ description: 'new one', status: 'queued' });
      await vi.advanceTimersByTimeAsync(500);
      expect(server.requests.filter((r) => r.path === '/api/v1/tasks').length).toBe(before + 1);
    });

    it('drops a deleted task from the list', async () => {
      const tasks = useTaskStore();
      await tasks.fetchList({});
      useLiveStore().dispatch({ type: 'event', event: envelope('TaskDeleted', { taskId: 'a', byUserId: 'u-1' }, 9) });
      expect(tasks.listIds).toEqual(['b']);
      expect(tasks.byId.a).toBeUndefined();
    });
  });

  describe('live output', () => {
    it('orders chunks by seq, drops duplicates and streams them to watchers', () => {
      const tasks = useTaskStore();
      const seen: string[] = [];
      tasks.watchOutput('a', (text) => seen.push(text));
      const live = useLiveStore();
      for (const [seq, data] of [
        [0, 'one '],
        [2, 'three '],
        [1, 'two '],
        [1, 'two '],
      ] as const)
        live.dispatch({ type: 'output', chunk: { taskId: 'a', attempt: 1, seq, data } });
      expect(tasks.outputOf('a')?.text).toBe('one two three ');
      expect(tasks.outputOf('a')?.complete).toBe(true);
      expect(seen).toEqual(['one ', 'two three ']);
    });

    it('starts over for a new attempt and ignores the old one', () => {
      const tasks = useTaskStore();
      const resets: boolean[] = [];
      tasks.watchOutput('a', (_t, reset) => resets.push(reset));
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 0, data: 'first try' });
      tasks.appendOutput({ taskId: 'a', attempt: 2, seq: 0, data: 'second' });
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 1, data: ' late' });
      expect(tasks.outputOf('a')).toMatchObject({ attempt: 2, text: 'second' });
      expect(resets).toEqual([false, true]);
    });

    it('keeps the latest progress figure', () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 0, data: 'x', progress: 40 });
      expect(tasks.liveProgress.a).toBe(40);
    });

    it("keeps an agent CLI's transcript in chunk order, whatever order the chunks arrived in", () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 0, data: 'a', events: [{ kind: 'text', text: 'reading' }] });
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 3, data: 'd', events: [{ kind: 'tool_result', id: 't1', isError: false }] });
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 2, data: 'c' });
      expect(tasks.transcriptOf('a')?.events).toEqual([{ kind: 'text', text: 'reading' }]);
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 1, data: 'b', events: [{ kind: 'tool_call', name: 'Read', id: 't1' }] });
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 1, data: 'b', events: [{ kind: 'tool_call', name: 'Read', id: 't1' }] });
      expect(tasks.transcriptOf('a')).toEqual({
        attempt: 1,
        complete: true,
        events: [
          { kind: 'text', text: 'reading' },
          { kind: 'tool_call', name: 'Read', id: 't1' },
          { kind: 'tool_result', id: 't1', isError: false },
        ],
      });
    });

    it('starts the transcript over for a new attempt, and marks one joined mid-stream as partial', () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 0, data: 'x', events: [{ kind: 'text', text: 'first try' }] });
      tasks.appendOutput({ taskId: 'a', attempt: 2, seq: 4, data: 'y', events: [{ kind: 'text', text: 'second' }] });
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 1, data: 'z', events: [{ kind: 'text', text: 'late' }] });
      expect(tasks.transcriptOf('a')).toEqual({ attempt: 2, complete: false, events: [{ kind: 'text', text: 'second' }] });
    });

    it('marks a buffer joined mid-stream as partial', () => {
      const tasks = useTaskStore();
      tasks.appendOutput({ taskId: 'a', attempt: 1, seq: 7, data: 'tail' });
      expect(tasks.outputOf('a')).toMatchObject({ text: 'tail', complete: false });
    });
  });

  it('treats a task without an allocation decision as "none yet", not an error', async () => {
    server.on('GET /api/v1/tasks/:id/allocation', () => json(404, { error: 'NOT_FOUND', message: 'none' }));
    expect(await useTaskStore().allocation('a')).toBeNull();
  });

  it('reads the event history items', async () => {
    server.on('GET /api/v1/tasks/:id/events', () => ({ items: [envelope('TaskCreated', { taskId: 'a' }, 1)] }));
    expect((await useTaskStore().history('a')).map((e) => e.type)).toEqual(['TaskCreated']);
  });
});
