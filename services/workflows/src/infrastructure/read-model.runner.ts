/*
 * Runs the workflows read-model projection over the service's store: each batch of events and
 * the checkpoint commit in one transaction (ProjectionRunner). A batch reads the rows it touches
 * with one query per table, folds its events through the pure evolvers in order, and writes the
 * changed rows. `catchUp()` gives read-your-writes to handlers and the scheduler (which reads
 * the views) without sleeping a guessed time.
 */
import type { Kysely } from 'kysely';
import { runEvents, workflowEvents } from '@agentyard/contracts';
import { ProjectionRunner, type ProjectionSource } from '@agentyard/event-sourcing';
import type { PostgresCheckpointStore } from '@agentyard/event-store';
import { evolveRunRow, evolveWorkflowRow, READ_MODELS_PROJECTION, scheduleRowsOf, type RunRow, type WorkflowRow } from '../application/read-models.projection';
import { ReadModelRepository } from './read-model.repository';
import type { WorkflowsDatabase } from './workflows.database';

export interface ReadModelRunnerOptions {
  store: ProjectionSource;
  db: Kysely<WorkflowsDatabase>;
  checkpoints: PostgresCheckpointStore;
  batchSize?: number;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

const idOf = (streamId: string): string => streamId.slice(streamId.indexOf('-') + 1);

export class ReadModelRunner {
  private readonly runner: ProjectionRunner<WorkflowsDatabase>;

  constructor(private readonly options: ReadModelRunnerOptions) {
    const repository = new ReadModelRepository(options.db);
    this.runner = new ProjectionRunner<WorkflowsDatabase>({
      name: READ_MODELS_PROJECTION,
      store: options.store,
      db: options.db,
      checkpoints: options.checkpoints,
      batchSize: options.batchSize,
      pollIntervalMs: options.pollIntervalMs,
      onError: options.onError,
      applyBatch: async (trx, events) => {
        const workflowIds = [...new Set(events.filter((e) => e.streamId.startsWith('workflow-')).map((e) => idOf(e.streamId)))];
        const runIds = [...new Set(events.filter((e) => e.streamId.startsWith('run-')).map((e) => idOf(e.streamId)))];
        const workflows = await repository.findWorkflows(workflowIds, trx);
        const runs = await repository.findRuns(runIds, trx);
        const changedWorkflows = new Set<string>();
        const changedRuns = new Set<string>();
        for (const event of events) {
          const id = idOf(event.streamId);
          // Parsed (upcast + validated) by the stream's registry first; a type it does not hold changes nothing.
          if (event.streamId.startsWith('workflow-')) {
            if (!workflowEvents.has(event.type)) continue;
            const current = workflows.get(id) ?? null;
            const next = evolveWorkflowRow(current, workflowEvents.parse(event));
            if (next !== null && next !== current) {
              workflows.set(id, next);
              changedWorkflows.add(id);
            }
          } else if (event.streamId.startsWith('run-')) {
            if (!runEvents.has(event.type)) continue;
            const current = runs.get(id) ?? null;
            const next = evolveRunRow(current, runEvents.parse(event));
            if (next !== null && next !== current) {
              runs.set(id, next);
              changedRuns.add(id);
            }
          }
        }
        const savedWorkflows: WorkflowRow[] = [...changedWorkflows].map((id) => workflows.get(id)!);
        await repository.saveWorkflows(savedWorkflows, new Map(savedWorkflows.map((w) => [w.id, scheduleRowsOf(w)])), trx);
        const savedRuns: RunRow[] = [...changedRuns].map((id) => runs.get(id)!);
        await repository.saveRuns(savedRuns, trx);
      },
      truncate: (trx) => repository.truncate(trx),
    });
  }

  start(): void {
    this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  nudge(): void {
    this.runner.nudge();
  }

  /** Empties the read models and replays the whole store into them, then keeps running. */
  rebuild(): Promise<void> {
    return this.runner.rebuild();
  }

  /** Resolves once every event committed before the call is projected (or after `timeoutMs`). */
  catchUp(timeoutMs = 5_000): Promise<void> {
    return this.runner.catchUp(timeoutMs);
  }
}
