/*
 * The tasks service's storage for integration tests: a fresh database with the event store and
 * the tasks schema, the task_view runner running on it, and the decider driven directly.
 */
import { newId, type TaskResult } from '@agentyard/contracts';
import { handleCommand } from '@agentyard/event-sourcing';
import { PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { testDatabase } from '@agentyard/local-infra';
import type { Kysely } from 'kysely';
import { taskDecider, type TaskCommand } from '../../src/domain/task.decide';
import { migrateTasksDatabase, openTasksDatabase, type TasksDatabase } from '../../src/infrastructure/tasks.database';
import { TaskViewRunner } from '../../src/infrastructure/task-view.runner';

const meta = { correlationId: 'c', causationId: 'c' };

export interface TasksOnPostgres {
  db: Kysely<TasksDatabase>;
  store: PostgresEventStore;
  runner: TaskViewRunner;
  /** Runs one command through the real decider and event store. */
  run(taskId: string, command: TaskCommand): Promise<unknown>;
  /** Takes a created task through assignment and start to `outcome` with `result`, on worker `w`. */
  finish(taskId: string, outcome: 'succeeded' | 'failed' | 'budget_exceeded', result: TaskResult, now: Date): Promise<void>;
  close(): Promise<void>;
}

export async function startTasksOnPostgres(name: string): Promise<TasksOnPostgres> {
  const url = await testDatabase(name);
  const store = await PostgresEventStore.connect({ connectionString: url, pollIntervalMs: 50 });
  await store.migrate();
  const db = openTasksDatabase(url, 4);
  await migrateTasksDatabase(db);
  const runner = new TaskViewRunner({ store, db, checkpoints: PostgresCheckpointStore.fromKysely(db) });
  runner.start();
  const run = (taskId: string, command: TaskCommand) =>
    handleCommand({ store, streamId: `task-${taskId}`, decider: taskDecider, command, metadata: meta, now: () => command.now });
  return {
    db,
    store,
    runner,
    run,
    async finish(taskId, outcome, result, now) {
      await run(taskId, { kind: 'AssignTask', allocationId: newId(), attempt: 1, workerId: 'w', leaseMs: 60_000, now });
      await run(taskId, { kind: 'ReportStarted', attempt: 1, workerId: 'w', now });
      await run(taskId, { kind: 'ReportFinished', attempt: 1, workerId: 'w', outcome, result, now });
    },
    async close() {
      await runner.stop();
      await store.close();
      await db.destroy();
    },
  };
}
