/*
 * Agent usage summed per owner, day and tool (usage_daily), on real Postgres: the task_view
 * runner adds what a finished task's result reports, once per event, and a rebuild gives the
 * same sums. Driven through the real task decider and event store.
 */
import { createTaskBodySchema, newId, type TaskResult } from '@agentyard/contracts';
import { UsageQueryHandler } from '../src/application/usage.query';
import { UsageRepository } from '../src/infrastructure/usage.repository';
import { startTasksOnPostgres, type TasksOnPostgres } from './support/tasks-on-postgres';
const NOW = new Date('2026-12-05T10:00:00.000Z');

describe('usage_daily', () => {
  let tasks: TasksOnPostgres;
  let usage: UsageQueryHandler;

  beforeAll(async () => {
    tasks = await startTasksOnPostgres('tasks_usage');
    usage = new UsageQueryHandler(new UsageRepository(tasks.db));
  });
  afterAll(() => tasks.close());

  /** A claude-code task of `owner` that ends with `result` (succeeded or failed). */
  async function finishedTask(owner: string, result: TaskResult, outcome: 'succeeded' | 'failed', now = NOW): Promise<void> {
    const taskId = newId();
    await tasks.run(taskId, {
      kind: 'CreateTask',
      taskId,
      actor: { userId: owner },
      task: createTaskBodySchema.parse({ description: 'agent', tool: 'claude-code', input: { prompt: 'p' } }),
      now,
    });
    await tasks.finish(taskId, outcome, result, now);
  }

  const result = (usage: TaskResult['usage']): TaskResult => ({ exitCode: 0, outputTail: '', durationMs: 5, ...(usage ? { usage } : {}) });

  it('sums what finished agent tasks report, per owner, day and tool — failed ones too, cost unknown counted', async () => {
    await finishedTask('ann', result({ inputTokens: 100, outputTokens: 20, cachedInputTokens: 50, costUsd: 0.25 }), 'succeeded');
    await finishedTask('ann', result({ inputTokens: 10, outputTokens: 2, costUsd: null }), 'failed');
    await finishedTask('ann', result(undefined), 'succeeded'); // a shell-like result: nothing to add
    await finishedTask('bob', result({ inputTokens: 7, outputTokens: 7, costUsd: 1 }), 'succeeded');
    await finishedTask('ann', result({ inputTokens: 1, outputTokens: 1, costUsd: 0.5 }), 'succeeded', new Date('2026-12-04T23:59:59.000Z'));
    await tasks.runner.catchUp();

    const ann = await usage.execute({ userId: 'ann' }, { from: '2026-12-01', to: '2026-12-05' }, NOW);
    expect(ann.days).toEqual([
      { day: '2026-12-04', tool: 'claude-code', tasks: 1, inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: 0.5, costUnknownTasks: 0 },
      { day: '2026-12-05', tool: 'claude-code', tasks: 2, inputTokens: 110, outputTokens: 22, cachedInputTokens: 50, costUsd: 0.25, costUnknownTasks: 1 },
    ]);
    expect(ann.total).toEqual({ tasks: 3, inputTokens: 111, outputTokens: 23, cachedInputTokens: 50, costUsd: 0.75, costUnknownTasks: 1 });
    // Only one's own: bob's task is not in ann's report and the other way round.
    expect((await usage.execute({ userId: 'bob' }, {}, NOW)).total).toMatchObject({ tasks: 1, inputTokens: 7, costUsd: 1 });
    expect((await usage.execute({ userId: 'nobody' }, {}, NOW)).days).toEqual([]);
  });

  it('gives the same sums after a rebuild (a replayed event adds nothing twice)', async () => {
    const before = await usage.execute({ userId: 'ann' }, { from: '2026-12-01', to: '2026-12-05' }, NOW);
    await tasks.runner.rebuild();
    await tasks.runner.catchUp();
    expect(await usage.execute({ userId: 'ann' }, { from: '2026-12-01', to: '2026-12-05' }, NOW)).toEqual(before);
  });

  it('defaults to the last 30 days and refuses a reversed or too long range', async () => {
    expect(await usage.execute({ userId: 'ann' }, {}, NOW)).toMatchObject({ from: '2026-11-06', to: '2026-12-05' });
    await expect(usage.execute({ userId: 'ann' }, { from: '2026-12-05', to: '2026-12-01' }, NOW)).rejects.toThrow(/after/);
    await expect(usage.execute({ userId: 'ann' }, { from: '2024-01-01' }, NOW)).rejects.toThrow(/366 days/);
  });
});
