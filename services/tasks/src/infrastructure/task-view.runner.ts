/*
 * Runs the task_view projection over the tasks store: each batch of events and the checkpoint
 * commit in one transaction (ProjectionRunner). A batch reads the rows it touches with one query,
 * folds its events through the pure evolveTaskView in order, and writes the changed rows with
 * one upsert; the agent usage those events report is added to usage_daily in the same
 * transaction. `catchUp()` gives read-your-writes to handlers that query the view right
 * after a fact (the worker-offline handler) without sleeping a guessed time. Each stored event is
 * parsed by `taskEvents` (upcast + validated) before evolveTaskView sees it; a type the registry
 * does not hold changes no row, as before.
 */
import type { Kysely } from 'kysely';
import { taskEvents, type Envelope } from '@agentyard/contracts';
import { ProjectionRunner, type ProjectionSource } from '@agentyard/event-sourcing';
import type { PostgresCheckpointStore } from '@agentyard/event-store';
import { activeDeltas, evolveTaskView, TASK_VIEW_PROJECTION, type TaskViewRow } from '../application/task-view.projection';
import { sumDeltas, usageDeltaOf, type UsageDelta } from '../application/usage.projection';
import type { TasksDatabase } from './tasks.database';
import { TaskViewRepository } from './task-view.repository';
import { UsageRepository } from './usage.repository';

export interface TaskViewRunnerOptions {
  store: ProjectionSource;
  db: Kysely<TasksDatabase>;
  checkpoints: PostgresCheckpointStore;
  /** Events per transaction. Default 500. */
  batchSize?: number;
  /** Longest idle wait when nothing wakes the runner (ProjectionRunner's default: 1 s with the Postgres store). */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

/** The task id an event is about (every task event carries it; the stream id says it too). */
export function taskIdOf(event: Envelope): string {
  return typeof event.data.taskId === 'string' ? event.data.taskId : event.streamId.replace(/^task-/, '');
}

export class TaskViewRunner {
  private readonly runner: ProjectionRunner<TasksDatabase>;

  constructor(private readonly options: TaskViewRunnerOptions) {
    const repository = new TaskViewRepository(options.db);
    const usage = new UsageRepository(options.db);
    this.runner = new ProjectionRunner<TasksDatabase>({
      name: TASK_VIEW_PROJECTION,
      store: options.store,
      db: options.db,
      checkpoints: options.checkpoints,
      batchSize: options.batchSize,
      pollIntervalMs: options.pollIntervalMs,
      onError: options.onError,
      applyBatch: async (trx, stored) => {
        const events = stored.filter((e) => taskEvents.has(e.type)).map((e) => taskEvents.parse(e));
        const rows = await repository.findMany([...new Set(events.map(taskIdOf))], trx);
        const before = new Map<string, TaskViewRow | null>();
        const changed = new Set<string>();
        const used: UsageDelta[] = [];
        for (const event of events) {
          const id = taskIdOf(event);
          const current = rows.get(id) ?? null;
          const next = evolveTaskView(current, event);
          if (next !== null && next !== current) {
            if (!before.has(id)) before.set(id, current);
            rows.set(id, next);
            changed.add(id);
            // Only an event that changed its row counts: a repeat adds no usage twice.
            const delta = usageDeltaOf(next, event);
            if (delta) used.push(delta);
          }
        }
        await usage.add(sumDeltas(used), trx);
        await repository.addActive(activeDeltas([...changed].map((id) => ({ before: before.get(id) ?? null, after: rows.get(id)! }))), trx);
        await repository.saveMany(
          [...changed].map((id) => rows.get(id)!),
          trx,
        );
      },
      truncate: async (trx) => {
        await repository.truncate(trx);
        await usage.truncate(trx);
      },
    });
  }

  start(): void {
    this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Read now rather than after the idle wait (this process just appended). */
  nudge(): void {
    this.runner.nudge();
  }

  /** Empties task_view and replays the whole store into it, then keeps running. */
  rebuild(): Promise<void> {
    return this.runner.rebuild();
  }

  /** Resolves once every event committed before the call is projected (or after `timeoutMs`). */
  catchUp(timeoutMs = 5_000): Promise<void> {
    return this.runner.catchUp(timeoutMs);
  }
}
