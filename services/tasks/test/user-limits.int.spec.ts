/*
 * Per-user limits on new tasks, on real Postgres and the real event store: CreateTaskHandler
 * refuses a user's task past their unfinished-task limit or once their tasks reported the day's
 * cost limit, with a 429 that says why, and creates nothing then; other users are not affected.
 */
import { createTaskBodySchema, DomainError, type TaskResult } from '@agentyard/contracts';
import { CreateTaskHandler } from '../src/application/create-task.handler';
import { TaskCommandRunner } from '../src/application/task-command.runner';
import type { TasksSettings } from '../src/application/tasks.settings';
import type { UserLimits } from '../src/domain/user-limits';
import { TaskViewRepository } from '../src/infrastructure/task-view.repository';
import { UsageRepository } from '../src/infrastructure/usage.repository';
import { startTasksOnPostgres, type TasksOnPostgres } from './support/tasks-on-postgres';

const meta = { correlationId: 'c', causationId: 'c' };
const body = (tool = 'shell') =>
  createTaskBodySchema.parse(tool === 'shell' ? { description: 'd', tool, input: { command: 'true' } } : { description: 'd', tool, input: { prompt: 'p' } });

describe('per-user limits on new tasks', () => {
  let tasks: TasksOnPostgres;
  let repository: TaskViewRepository;

  beforeAll(async () => {
    tasks = await startTasksOnPostgres('tasks_limits');
    repository = new TaskViewRepository(tasks.db);
  });
  afterAll(() => tasks.close());

  const handler = (userLimits: UserLimits) =>
    new CreateTaskHandler(new TaskCommandRunner(tasks.store, tasks.runner), repository, new UsageRepository(tasks.db), tasks.runner, {
      userLimits,
    } as TasksSettings);
  const create = (h: CreateTaskHandler, userId: string, tool?: string) => h.execute({ actor: { userId }, task: body(tool) }, meta);
  const refusal = async (p: Promise<unknown>): Promise<DomainError> => {
    const e = await p.then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  };

  it('refuses the task past the unfinished-task limit, creates nothing then, and takes one again once a task finishes', async () => {
    const h = handler({ maxActiveTasks: 3, dailyCostUsd: null });
    // In a row, without waiting: each create sees the ones before it.
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await create(h, 'ann'));
    const e = await refusal(create(h, 'ann'));
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/3 unfinished tasks and the limit is 3/);
    await tasks.runner.catchUp();
    expect(await repository.countActive('ann')).toBe(3);
    // Another user has their own count.
    await create(h, 'bob');
    // A cancelled task frees its place.
    await tasks.run(created[0]!.id, { kind: 'CancelTask', actor: { userId: 'ann' }, now: new Date() });
    await tasks.runner.catchUp();
    expect((await create(h, 'ann')).status).toBe('queued');
  });

  it('refuses new tasks once the day’s reported agent cost reaches the limit, for that user only', async () => {
    const h = handler({ maxActiveTasks: null, dailyCostUsd: 1 });
    const now = new Date();
    const result: TaskResult = { exitCode: 0, outputTail: '', durationMs: 5, usage: { inputTokens: 10, outputTokens: 10, costUsd: 0.6 } };
    for (let i = 0; i < 2; i++) {
      const task = await create(h, 'cat', 'claude-code');
      await tasks.finish(task.id, 'succeeded', result, now);
    }
    await tasks.runner.catchUp();
    const e = await refusal(create(h, 'cat'));
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/\$1\.20 of agent cost today, which reaches the daily limit of \$1\.00/);
    expect((await create(h, 'dan')).status).toBe('queued');
  });

  it('checks nothing when no limit is set', async () => {
    const h = handler({ maxActiveTasks: null, dailyCostUsd: null });
    for (let i = 0; i < 5; i++) await create(h, 'eve');
    await tasks.runner.catchUp();
    expect(await repository.countActive('eve')).toBe(5);
  });
});
