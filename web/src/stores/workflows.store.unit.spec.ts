import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, fakeServer, json, tokenPair, user } from '@/test/fake-server';
import { run, workflow, workflowSummary } from '@/test/workflow-fixtures';
import { useLiveStore } from './live.store';
import { useSessionStore } from './session.store';
import { useWorkflowStore } from './workflows.store';

describe('useWorkflowStore', () => {
  let server: ReturnType<typeof fakeServer>;

  beforeEach(async () => {
    localStorage.clear();
    setActivePinia(createPinia());
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('GET /api/v1/workflows', () => ({ items: [workflowSummary()], nextCursor: null }))
      .install();
    await useSessionStore().login('alice', 'pw');
  });
  afterEach(() => vi.useRealTimers());

  it('refetches the open list when a run or workflow event arrives', async () => {
    const workflows = useWorkflowStore();
    const release = workflows.watchList();
    await vi.waitFor(() => expect(workflows.loaded).toBe(true));
    server.on('GET /api/v1/workflows', () => ({ items: [workflowSummary({ activeRuns: 1 })], nextCursor: null }));
    useLiveStore().dispatch({ type: 'event', event: envelope('RunStarted', { runId: 'r-1' }, 1, 'run-r-1') });
    await vi.waitFor(() => expect(workflows.items[0]?.activeRuns).toBe(1), { timeout: 2000 });
    release();
  });

  it('throws the service’s 409 when a workflow with active runs is deleted, and keeps it listed', async () => {
    const workflows = useWorkflowStore();
    await workflows.fetchList();
    server.on('DELETE /api/v1/workflows/w-1', () => json(409, { error: 'CONFLICT', message: 'the workflow has active runs', requestId: 'x' }));
    await expect(workflows.remove('w-1')).rejects.toMatchObject({ status: 409, message: 'the workflow has active runs' });
    expect(workflows.items.map((w) => w.id)).toEqual(['w-1']);
  });

  it('instantiates a template with its parameters and a first run, and lists the new workflow', async () => {
    const workflows = useWorkflowStore();
    await workflows.fetchList();
    server.on('POST /api/v1/workflow-templates/builtin-best-of-three/instantiate', () =>
      json(201, { workflow: workflow({ id: 'w-2', name: 'Three agents', kind: 'mixture' }), run: run({ id: 'r-9', workflowId: 'w-2' }) }),
    );
    const out = await workflows.instantiate('builtin-best-of-three', { parameters: { strategy: 'shortest' }, execute: { input: {} } });
    expect(out.run?.id).toBe('r-9');
    expect(workflows.items.map((w) => w.id)).toEqual(['w-2', 'w-1']);
    expect(server.requests.at(-1)?.body).toEqual({ parameters: { strategy: 'shortest' }, execute: { input: {} } });
  });
});
