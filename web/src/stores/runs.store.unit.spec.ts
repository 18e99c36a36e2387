import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, fakeServer, json, tokenPair, user } from '@/test/fake-server';
import { nodeState, run } from '@/test/workflow-fixtures';
import { useLiveStore } from './live.store';
import { runRefreshDelayMs, useRunStore } from './runs.store';
import { useSessionStore } from './session.store';

describe('useRunStore', () => {
  let server: ReturnType<typeof fakeServer>;
  let current = run();

  beforeEach(async () => {
    localStorage.clear();
    setActivePinia(createPinia());
    current = run();
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('GET /api/v1/runs/:id', () => current)
      .install();
    await useSessionStore().login('alice', 'pw');
  });
  afterEach(() => vi.useRealTimers());

  const gets = () => server.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/runs/r-1').length;

  it('refetches a watched run once per burst of its events, and shows the new node statuses', async () => {
    const runs = useRunStore();
    const live = useLiveStore();
    await runs.fetchRun('r-1');
    runs.watchRun('r-1');
    vi.useFakeTimers();
    current = run({ version: 6, nodes: { build: nodeState({ status: 'succeeded' }), test: nodeState({ status: 'running' }) } });
    for (let i = 0; i < 3; i++) live.dispatch({ type: 'event', event: envelope('NodeSucceeded', { runId: 'r-1', nodeId: 'build' }, 4 + i, 'run-r-1') });
    await vi.advanceTimersByTimeAsync(runRefreshDelayMs + 10);
    vi.useRealTimers();
    await vi.waitFor(() => expect(runs.byId['r-1']?.nodes.test?.status).toBe('running'));
    expect(gets()).toBe(2); // the first load and one refetch for three events
  });

  it('ignores events of runs no page shows, and of other streams', async () => {
    const runs = useRunStore();
    const live = useLiveStore();
    await runs.fetchRun('r-1');
    const release = runs.watchRun('r-1');
    release();
    vi.useFakeTimers();
    live.dispatch({ type: 'event', event: envelope('NodeSucceeded', { runId: 'r-1' }, 4, 'run-r-1') });
    live.dispatch({ type: 'event', event: envelope('TaskSucceeded', { taskId: 't' }, 4) });
    await vi.advanceTimersByTimeAsync(runRefreshDelayMs * 3);
    expect(gets()).toBe(1);
  });

  it('never replaces a run with an older answer', async () => {
    const runs = useRunStore();
    current = run({ version: 9, status: 'succeeded' });
    await runs.fetchRun('r-1');
    current = run({ version: 5, status: 'running' });
    await runs.fetchRun('r-1');
    expect(runs.byId['r-1']?.status).toBe('succeeded');
  });

  it('sends a person’s approval and winner to the node’s endpoints and keeps the answer', async () => {
    const runs = useRunStore();
    server
      .on('POST /api/v1/runs/r-1/nodes/gate/approval', () => run({ version: 7, nodes: { ...current.nodes, gate: nodeState({ status: 'succeeded' }) } }))
      .on('POST /api/v1/runs/r-1/nodes/pick/winner', (req) => json(409, { error: 'CONFLICT', message: `pick is not waiting (${JSON.stringify(req.body)})` }));
    const out = await runs.decideApproval('r-1', 'gate', 'approve', 'looks good');
    expect(out.nodes.gate?.status).toBe('succeeded');
    expect(server.requests.find((r) => r.path.endsWith('/approval'))?.body).toEqual({ decision: 'approve', comment: 'looks good' });
    await expect(runs.pickWinner('r-1', 'pick', 'agent2')).rejects.toMatchObject({ status: 409, message: expect.stringContaining('agent2') });
  });
});
