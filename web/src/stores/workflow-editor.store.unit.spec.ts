import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeServer, json, tokenPair, user } from '@/test/fake-server';
import { runGraph, workflow } from '@/test/workflow-fixtures';
import { useSessionStore } from './session.store';
import { useWorkflowEditorStore, validateDelayMs } from './workflow-editor.store';

describe('useWorkflowEditorStore', () => {
  let server: ReturnType<typeof fakeServer>;

  beforeEach(async () => {
    localStorage.clear();
    setActivePinia(createPinia());
    server = fakeServer()
      .on('POST /api/v1/auth/login', () => tokenPair(1))
      .on('GET /api/v1/auth/me', () => user)
      .on('POST /api/v1/workflows/validate', () => ({ valid: true, errors: [], graph: runGraph }))
      .install();
    await useSessionStore().login('alice', 'pw');
  });
  afterEach(() => vi.useRealTimers());

  const validations = () => server.requests.filter((r) => r.path === '/api/v1/workflows/validate');

  it('checks the draft once after a burst of edits and places the errors on the node they name', async () => {
    const editor = useWorkflowEditorStore();
    editor.startNew();
    vi.useFakeTimers();
    const a = editor.addNode('task', { x: 0, y: 0 });
    editor.addNode('task', { x: 0, y: 100 });
    server.on('POST /api/v1/workflows/validate', () => ({
      valid: false,
      errors: [{ field: 'nodes[1].task.input.command', message: 'command: required' }],
      graph: null,
    }));
    await vi.advanceTimersByTimeAsync(validateDelayMs + 10);
    vi.useRealTimers();
    await vi.waitFor(() => expect(editor.issues).toHaveLength(1));
    expect(validations()).toHaveLength(1);
    const body = validations()[0]!.body as { kind: string; nodes: { id: string }[]; layout: Record<string, unknown> };
    expect(body.kind).toBe('graph');
    expect(body.nodes.map((n) => n.id)).toEqual(['task1', 'task2']);
    expect(body.layout.task2).toEqual({ x: 0, y: 100 });
    const second = editor.draft.nodes[1]!.key;
    expect(editor.grouped.byNode[second]?.[0]?.target).toEqual({ scope: 'node', key: second, field: 'task.input.command' });
    expect(editor.grouped.byNode[a]).toBeUndefined();
  });

  it('drops a check’s answer when the draft changed since it was sent', async () => {
    const editor = useWorkflowEditorStore();
    editor.startNew();
    let release: (r: Response) => void = () => undefined;
    server.on('POST /api/v1/workflows/validate', () => new Promise<Response>((r) => (release = r)));
    editor.addNode('task', null);
    const slow = editor.check(); // revision of one node
    await vi.waitFor(() => expect(validations()).toHaveLength(1));
    editor.addNode('gate', null); // a newer revision
    release(json(200, { valid: false, errors: [{ field: 'nodes[0].id', message: 'stale' }], graph: null }));
    await slow;
    expect(editor.issues).toEqual([]);
  });

  it('is not left "checking" by a check that was in flight when the draft was saved', async () => {
    const editor = useWorkflowEditorStore();
    editor.startNew();
    let release: (r: Response) => void = () => undefined;
    server.on('POST /api/v1/workflows/validate', () => new Promise<Response>((r) => (release = r)));
    server.on('POST /api/v1/workflows', (req) => json(201, workflow({ id: 'w-9', version: 1, definition: req.body as never })));
    editor.addNode('task', null);
    const inFlight = editor.check();
    await vi.waitFor(() => expect(validations()).toHaveLength(1));
    expect(editor.checking).toBe(true);
    expect((await editor.save())?.id).toBe('w-9');
    release(json(200, { valid: false, errors: [{ field: 'nodes[0].id', message: 'stale' }], graph: null }));
    await inFlight;
    expect(editor.checking).toBe(false);
    expect(editor.issues).toEqual([]);
  });

  it('shows a refused save’s errors where their paths point and keeps the draft unsaved', async () => {
    const editor = useWorkflowEditorStore();
    editor.startNew();
    const a = editor.addNode('task', null);
    const b = editor.addNode('task', null);
    const edge = editor.connect(a, b)!;
    server.on('POST /api/v1/workflows', () =>
      json(400, {
        error: 'VALIDATION_FAILED',
        message: 'invalid workflow',
        details: [{ field: 'edges[0].condition', message: 'unexpected end (at character 5)' }],
        requestId: 'x',
      }),
    );
    expect(await editor.save()).toBeNull();
    expect(editor.saveError).toBe('invalid workflow');
    expect(editor.grouped.byEdge[edge]?.[0]?.message).toMatch(/character 5/);
    expect(editor.dirty).toBe(true);
    expect(editor.workflowId).toBeNull();
  });

  it('saves a new workflow with POST, then new versions with PUT', async () => {
    const editor = useWorkflowEditorStore();
    editor.startNew();
    editor.addNode('task', { x: 10, y: 20 });
    server.on('POST /api/v1/workflows', (req) => json(201, workflow({ id: 'w-7', version: 1, definition: req.body as never })));
    server.on('PUT /api/v1/workflows/w-7', (req) => workflow({ id: 'w-7', version: 2, definition: req.body as never }));
    expect((await editor.save())?.version).toBe(1);
    editor.updateWorkflow({ name: 'Renamed' });
    expect((await editor.save())?.version).toBe(2);
    expect((server.requests.at(-1)?.body as { name: string }).name).toBe('Renamed');
    expect(editor.dirty).toBe(false);
  });

  it('opens another kind read-only as its compiled graph until it is converted to a graph', async () => {
    const editor = useWorkflowEditorStore();
    const mixture = workflow({
      id: 'w-3',
      kind: 'mixture',
      definition: {
        kind: 'mixture',
        name: 'Best of two',
        candidates: [{ task: { tool: 'shell', input: { command: 'echo a' } } }, { task: { tool: 'shell', input: { command: 'echo b' } } }],
        aggregator: { strategy: 'shortest' },
      },
    });
    server.on('GET /api/v1/workflows/w-3', () => mixture);
    await editor.load('w-3');
    expect(editor.readOnly).toBe(true);
    expect(editor.draft.nodes.map((n) => n.def.id)).toEqual(['build', 'test']);
    editor.convertToGraph();
    expect(editor.readOnly).toBe(false);
    server.on('PUT /api/v1/workflows/w-3', (req) => workflow({ id: 'w-3', version: 2, definition: req.body as never }));
    await editor.save();
    expect((server.requests.at(-1)?.body as { kind: string }).kind).toBe('graph');
  });
});
