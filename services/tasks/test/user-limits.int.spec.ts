/*
 * Per-user limits on new tasks, on real Postgres and the real event store: CreateTaskHandler
 * refuses a user's task past their unfinished-task limit or once their tasks reported the day's
 * cost limit, with a 429 that says why, and creates nothing then; other users are not affected.
 */
import { createTaskBodySchema, DomainError, newId, type TaskResult } from '@agentyard/contracts';
import { handleCommand } from '@agentyard/event-sourcing';
import { PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { testDatabase } from '@agentyard/local-infra';
import type { Kysely } from 'kysely';
import { CreateTaskHandler } from '../src/application/create-task.handler';
import { TaskCommandRunner } from '../src/application/task-command.runner';
import type { TasksSettings } from '../src/application/tasks.settings';
import { taskDecider, type TaskCommand } from '../src/domain/task.decide';
import type { UserLimits } from '../src/domain/user-limits';
import { migrateTasksDatabase, openTasksDatabase, type TasksDatabase } from '../src/infrastructure/tasks.database';
import { TaskViewRepository } from '../src/infrastructure/task-view.repository';
import { TaskViewRunner } from '../src/infrastructure/task-view.runner';
import { UsageRepository } from '../src/infrastructure/usage.repository';

const meta = { correlationId: 'c', causationId: 'c' };
const body = (tool = 'shell') =>
  createTaskBodySchema.parse(tool === 'shell' ? { description: 'd', tool, input: { command: 'true' } } : { description: 'd', tool, input: { prompt: 'p' } });

describe('per-user limits on new tasks', () => {
  let db: Kysely<TasksDatabase>;
  let store: PostgresEventStore;
  let runner: TaskViewRunner;
  let repository: TaskViewRepository;

  beforeAll(async () => {
    const url = await testDatabase('tasks_limits');
    store = await PostgresEventStore.connect({ connectionString: url, pollIntervalMs: 50 });
    await store.migrate();
    db = openTasksDatabase(url, 4);
    await migrateTasksDatabase(db);
    runner = new TaskViewRunner({ store, db, checkpoints: PostgresCheckpointStore.fromKysely(db), pollIntervalMs: 20 });
    runner.start();
    repository = new TaskViewRepository(db);
  });
  afterAll(async () => {
    await runner.stop();
    await store.close();
    await db.destroy();
  });

  const handler = (userLimits: UserLimits) =>
    new CreateTaskHandler(new TaskCommandRunner(store, runner), repository, new UsageRepository(db), runner, { userLimits } as TasksSettings);
  const create = (h: CreateTaskHandler, userId: string, tool?: string) => h.execute({ actor: { userId }, task: body(tool) }, meta);
  const refusal = async (p: Promise<unknown>): Promise<DomainError> => {
    const e = await p.then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  };
  const run = (taskId: string, command: TaskCommand) =>
    handleCommand({ store, streamId: `task-${taskId}`, decider: taskDecider, command, metadata: meta, now: () => command.now });

  it('refuses the task past the unfinished-task limit, creates nothing then, and takes one again once a task finishes', async () => {
    const h = handler({ maxActiveTasks: 3, dailyCostUsd: null });
    // In a row, without waiting: each create sees the ones before it.
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await create(h, 'ann'));
    const e = await refusal(create(h, 'ann'));
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/3 unfinished tasks and the limit is 3/);
    await runner.catchUp();
    expect(await repository.countActive('ann')).toBe(3);
    // Another user has their own count.
    await create(h, 'bob');
    // A cancelled task frees its place.
    await run(created[0]!.id, { kind: 'CancelTask', actor: { userId: 'ann' }, now: new Date() });
    await runner.catchUp();
    expect((await create(h, 'ann')).status).toBe('queued');
  });

  it('refuses new tasks once the day’s reported agent cost reaches the limit, for that user only', async () => {
    const h = handler({ maxActiveTasks: null, dailyCostUsd: 1 });
    const now = new Date();
    const result: TaskResult = { exitCode: 0, outputTail: '', durationMs: 5, usage: { inputTokens: 10, outputTokens: 10, costUsd: 0.6 } };
    for (let i = 0; i < 2; i++) {
      const task = await create(h, 'cat', 'claude-code');
      await run(task.id, { kind: 'AssignTask', allocationId: newId(), attempt: 1, workerId: 'w', leaseMs: 60_000, now });
      await run(task.id, { kind: 'ReportStarted', attempt: 1, workerId: 'w', now });
      await run(task.id, { kind: 'ReportFinished', attempt: 1, workerId: 'w', outcome: 'succeeded', result, now });
    }
    await runner.catchUp();
    const e = await refusal(create(h, 'cat'));
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/\$1\.20 of agent cost today, which reaches the daily limit of \$1\.00/);
    expect((await create(h, 'dan')).status).toBe('queued');
  });

  it('checks nothing when no limit is set', async () => {
    const h = handler({ maxActiveTasks: null, dailyCostUsd: null });
    for (let i = 0; i < 5; i++) await create(h, 'eve');
    await runner.catchUp();
    expect(await repository.countActive('eve')).toBe(5);
  });
});
