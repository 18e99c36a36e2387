/*
 * Per-user limits on new tasks, on real Postgres and the real event store: CreateTaskHandler
 * refuses a user's task past their unfinished-task limit or once their tasks reported the day's
 * cost limit, with a 429 that says why, and creates nothing then; other users are not affected.
 * A task queued before its owner reached the cost limit is not dispatched once they have: the
 * allocation's decision fails it with the reason instead (AssignTaskHandler). The platform-wide
 * queue limit (TASKS_MAX_QUEUED) refuses every user's new task while the queue is full.
 */
import { createTaskBodySchema, DomainError, type TaskResult } from '@agentyard/contracts';
import { AssignTaskHandler } from '../src/application/assign-task.handler';
import { CreateTaskHandler } from '../src/application/create-task.handler';
import { nudgeView, TaskCommandRunner } from '../src/application/task-command.runner';
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

  const handler = (userLimits: UserLimits, maxQueued: number | null = null) =>
    new CreateTaskHandler(new TaskCommandRunner(tasks.store, [nudgeView(tasks.runner)]), repository, new UsageRepository(tasks.db), tasks.runner, {
      userLimits,
      maxQueued,
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

  it('refuses any user’s task once the platform’s queue is at its limit, creates nothing then, and takes one again once the queue shrinks', async () => {
    await tasks.runner.catchUp();
    const before = await repository.countQueued();
    const h = handler({ maxActiveTasks: null, dailyCostUsd: null }, before + 2);
    const first = await create(h, 'hal');
    await create(h, 'ivy');
    // The count is not re-read within 500 ms: the handler's own creates are added to it.
    const e = await refusal(create(h, 'jon'));
    expect(e.status).toBe(429);
    expect(e.message).toMatch(new RegExp(`queue holds ${before + 2} tasks waiting for a worker, its limit is ${before + 2}`));
    expect(e.details).toMatchObject({ limit: 'maxQueued', retryAfterSeconds: 5 });
    await tasks.runner.catchUp();
    expect(await repository.countQueued()).toBe(before + 2);
    expect(await repository.countActive('jon')).toBe(0);
    // A task leaving the queue frees a place once the count is read again.
    await tasks.run(first.id, { kind: 'CancelTask', actor: { userId: 'hal' }, now: new Date() });
    await tasks.runner.catchUp();
    await new Promise((r) => setTimeout(r, 600));
    expect((await create(h, 'jon')).status).toBe('queued');
  });

  it('checks nothing when no limit is set', async () => {
    const h = handler({ maxActiveTasks: null, dailyCostUsd: null });
    for (let i = 0; i < 5; i++) await create(h, 'eve');
    await tasks.runner.catchUp();
    expect(await repository.countActive('eve')).toBe(5);
  });

  it('does not dispatch a task queued before its owner’s cost limit was reached, and says why; a budget_exceeded task’s spend counts', async () => {
    const limits = { maxActiveTasks: null, dailyCostUsd: 1 };
    const h = handler(limits);
    const assign = new AssignTaskHandler(new TaskCommandRunner(tasks.store, [nudgeView(tasks.runner)]), new UsageRepository(tasks.db), {
      userLimits: limits,
      leaseMs: 60_000,
      assignWaitMaxMs: 0,
    } as TasksSettings);
    const commands = new TaskCommandRunner(tasks.store, [nudgeView(tasks.runner)]);
    const loadTask = async (id: string) => (await commands.load(id)).state;
    const now = new Date();
    // Queued while the owner was within the limit.
    const waiting = await create(h, 'fay', 'claude-code');
    const underLimit = await create(h, 'fay', 'claude-code');
    // Below the limit a decision still assigns.
    await assign.execute({ allocationId: 'a0', taskId: underLimit.id, attempt: 1, workerId: 'w' }, meta);
    expect((await loadTask(underLimit.id)).status).toBe('assigned');
    // A task stopped at its budget: its spend is counted like any other.
    const capped = await create(h, 'fay', 'claude-code');
    const stopped: TaskResult = {
      exitCode: null,
      outputTail: '',
      durationMs: 5,
      error: 'budget_exceeded: 1,234 tokens used, cap 1,000',
      usage: { inputTokens: 1200, outputTokens: 34, costUsd: 1.5 },
    };
    await tasks.finish(capped.id, 'budget_exceeded', stopped, now);
    await tasks.runner.catchUp();
    expect((await loadTask(capped.id)).status).toBe('budget_exceeded');
    expect(await new UsageRepository(tasks.db).costOn('fay', now.toISOString().slice(0, 10))).toBeCloseTo(1.5);

    await assign.execute({ allocationId: 'a1', taskId: waiting.id, attempt: 1, workerId: 'w' }, meta);
    const refused = await loadTask(waiting.id);
    expect(refused.status).toBe('failed');
    expect(refused.workerId).toBeNull();
    const events = await tasks.store.readStream(`task-${waiting.id}`);
    const failed = events.find((e) => e.type === 'TaskFailed');
    expect(failed?.data.reason).toMatch(/^not dispatched: your tasks reported \$1\.50 of agent cost today, which reaches the daily limit of \$1\.00/);
    expect(events.some((e) => e.type === 'TaskAssigned')).toBe(false);
    // Another user's queued task is dispatched as usual.
    const other = await create(h, 'gus', 'claude-code');
    await assign.execute({ allocationId: 'a2', taskId: other.id, attempt: 1, workerId: 'w' }, meta);
    expect((await loadTask(other.id)).status).toBe('assigned');
  });
});
