/*
 * The run command runner on a real Postgres event store: results handed over in one turn (what
 * the task-events consumer does with a batch) are decided in order and appended together, and
 * a refused command fails alone.
 */
import { DomainError, workflowDefinitionSchema } from '@agentyard/contracts';
import { PostgresEventStore } from '@agentyard/event-store';
import type { EventStore } from '@agentyard/event-store';
import { testDatabase } from '@agentyard/local-infra';
import { MetricsRegistry } from '@agentyard/service-kit';
import { RunCommandRunner, type ReadModelSync } from '../src/application/command-runners';
import { WorkflowMetrics } from '../src/application/workflow.metrics';
import { compileDefinition } from '../src/domain/compile';
import type { RunCommand } from '../src/domain/run.decide';

const sh = { tool: 'shell', description: 'noop', input: { command: 'true' } };
const noViews: ReadModelSync = { nudge: () => undefined, catchUp: async () => undefined };
const meta = { correlationId: 'c', causationId: 'c' };

describe('RunCommandRunner', () => {
  let store: PostgresEventStore;
  let appends: number;
  let runner: RunCommandRunner;
  let metrics: WorkflowMetrics;

  beforeAll(async () => {
    store = await PostgresEventStore.connect({ connectionString: await testDatabase('wf_runner'), pollIntervalMs: 250 });
    await store.migrate();
    // Observes the real store's appends (counts them), nothing else changes.
    const counting = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === 'appendToStream') return (...args: unknown[]) => ((appends += 1), (value as (...a: unknown[]) => unknown).apply(target, args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as EventStore;
    metrics = new WorkflowMetrics(new MetricsRegistry());
    runner = new RunCommandRunner(counting, noViews, metrics);
  });
  afterAll(() => store.close());

  /** Starts a run of `raw` (a workflow definition) as the workflows handler would. */
  const startRun = (runId: string, raw: unknown, now: Date) => {
    const definition = workflowDefinitionSchema.parse(raw);
    const workflow = {
      id: 'wf',
      version: 1,
      name: definition.name,
      kind: definition.kind,
      ownerId: 'u',
      parameters: definition.parameters,
      settings: definition.settings,
    };
    const graph = compileDefinition(definition);
    return runner.run(runId, { kind: 'StartRun', runId, workflow, graph, input: {}, trigger: { kind: 'manual', userId: 'u' }, now }, meta, { assumeNew: true });
  };

  it('decides the results of a 50-way fan-out handed over in one turn in one append, in order', async () => {
    const runId = '0193a000-0000-7000-8000-0000000000a1';
    const now = new Date();
    const started = await startRun(
      runId,
      {
        name: 'fan',
        kind: 'graph',
        settings: { maxParallel: 100 },
        nodes: [...Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, type: 'task', task: sh })), { id: 'join', type: 'task', task: sh }],
        edges: Array.from({ length: 50 }, (_, i) => ({ from: `n${i}`, to: 'join' })),
      },
      now,
    );
    const tasks = Array.from({ length: 50 }, (_, i) => started.state.nodes[`n${i}`]!.taskId!);
    appends = 0;
    const finished = (taskId: string): RunCommand => ({
      kind: 'RecordTaskFinished',
      taskId,
      outcome: 'succeeded',
      exitCode: 0,
      output: undefined,
      text: '',
      error: null,
      durationMs: 1,
      now,
    });
    const results = await Promise.all(tasks.map((t) => runner.run(runId, finished(t), meta)));
    expect(appends).toBe(1);
    expect((await metrics.runAppend.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBeGreaterThanOrEqual(2);
    const last = results.at(-1)!.state;
    expect(last.nodes.join!.status).toBe('scheduled');
    expect(results.map((r) => r.state.finished)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const events = await store.readStream(`run-${runId}`);
    expect(events.filter((e) => e.type === 'NodeSucceeded').map((e) => (e.data as { nodeId: string }).nodeId)).toEqual(tasks.map((_, i) => `n${i}`));
  });

  it('fails a refused command alone and still appends the others of its turn', async () => {
    const runId = '0193a000-0000-7000-8000-0000000000a2';
    const now = new Date();
    await startRun(runId, { name: 'one', kind: 'sequential', steps: [{ id: 'a', task: sh }] }, now);
    const [retry, pause] = await Promise.allSettled([
      runner.run(runId, { kind: 'RetryNode', actor: { userId: 'u' }, nodeId: 'a', now }, meta),
      runner.run(runId, { kind: 'PauseRun', actor: { userId: 'u' }, now }, meta),
    ]);
    expect(retry.status).toBe('rejected');
    expect((retry as PromiseRejectedResult).reason).toBeInstanceOf(DomainError);
    expect(pause.status).toBe('fulfilled');
    expect((await store.readStream(`run-${runId}`)).map((e) => e.type)).toContain('RunPaused');
  });
});
