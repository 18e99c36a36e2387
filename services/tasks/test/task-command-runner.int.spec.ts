/*
 * TaskCommandRunner on real Postgres and the real event store: what happens after a command's
 * events are stored is exactly the AFTER_APPEND steps it was given (tasks.module.ts wires them),
 * run in order with the stored events and the state they fold to, and nothing runs for a command
 * that stored nothing.
 */
import { createTaskBodySchema, DomainError } from '@agentyard/contracts';
import { CreateTaskHandler } from '../src/application/create-task.handler';
import { TaskCommandRunner, type AfterAppend } from '../src/application/task-command.runner';
import type { TasksSettings } from '../src/application/tasks.settings';
import { TaskViewRepository } from '../src/infrastructure/task-view.repository';
import { UsageRepository } from '../src/infrastructure/usage.repository';
import { startTasksOnPostgres, type TasksOnPostgres } from './support/tasks-on-postgres';

const meta = { correlationId: 'c', causationId: 'c' };

describe('TaskCommandRunner', () => {
  let tasks: TasksOnPostgres;
  beforeAll(async () => {
    tasks = await startTasksOnPostgres('tasks_runner');
  });
  afterAll(() => tasks.close());

  describe('when a command stores events', () => {
    it('runs its after-append steps in order, with the stored events and the state they fold to, and none for a refused command', async () => {
      const seen: string[] = [];
      const step =
        (name: string): AfterAppend =>
        async (events, state) => {
          seen.push(`${name}: ${events.map((e) => e.type).join(',')} → ${state.status}`);
        };
      const commands = new TaskCommandRunner(tasks.store, [step('first'), step('second')]);
      const create = new CreateTaskHandler(commands, new TaskViewRepository(tasks.db), new UsageRepository(tasks.db), tasks.runner, {
        userLimits: { maxActiveTasks: null, dailyCostUsd: null },
        maxQueued: null,
      } as TasksSettings);
      const actor = { userId: 'ann' };
      const task = await create.execute({ actor, task: createTaskBodySchema.parse({ description: 'd', tool: 'shell', input: { command: 'true' } }) }, meta);
      expect(seen).toEqual(['first: TaskCreated,TaskQueued → queued', 'second: TaskCreated,TaskQueued → queued']);

      seen.length = 0;
      await commands.run(task.id, { kind: 'CancelTask', actor, now: new Date() }, meta);
      expect(seen).toEqual(['first: TaskCancelled → cancelled', 'second: TaskCancelled → cancelled']);

      seen.length = 0;
      await expect(commands.run(task.id, { kind: 'CancelTask', actor, now: new Date() }, meta)).rejects.toBeInstanceOf(DomainError);
      expect(seen).toEqual([]);
    });
  });
});
