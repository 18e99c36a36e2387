/*
 * Runs worker commands against the event store: load `worker-<id>`, fold, decide, append at the
 * version read; on VersionConflict reload and decide again (`handleCommand`). With `withRows`,
 * the caller's own rows (a revoked credential) are written in the transaction that appends
 * (`handleCommandInTransaction`, the one transactional write path), so the row and its event
 * commit or roll back together. `settled` waits until the read model shows the appended events
 * (read-your-writes).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Transaction } from 'kysely';
import type { Envelope } from '@agentyard/contracts';
import { fold, handleCommand, handleCommandInTransaction, type HandleCommandResult, type ProjectionRunner } from '@agentyard/event-sourcing';
import type { PostgresEventStore } from '@agentyard/event-store';
import { workerStreamId, type WorkerEvent, type WorkerState } from '../domain/worker';
import { workerDecider, type WorkerCommand } from '../domain/worker.decide';
import type { WorkersDatabase } from '../infrastructure/workers.database';
import { WORKERS_DB } from '../infrastructure/worker-view.repository';
import { metadataFor, type RequestContext } from './request-context';

export const WORKER_EVENT_STORE = Symbol('WORKER_EVENT_STORE');
export const WORKER_VIEW_PROJECTION = Symbol('WORKER_VIEW_PROJECTION');

@Injectable()
export class WorkerCommands {
  constructor(
    @Inject(WORKER_EVENT_STORE) private readonly store: PostgresEventStore,
    @Inject(WORKERS_DB) private readonly db: Kysely<WorkersDatabase>,
    @Inject(WORKER_VIEW_PROJECTION) private readonly projection: ProjectionRunner<WorkersDatabase>,
  ) {}

  /** The worker's current write-side state. */
  async load(workerId: string): Promise<WorkerState> {
    return fold(workerDecider, await this.store.readStream(workerStreamId(workerId)));
  }

  /**
   * Decides `command` on the worker's stream and appends what it decided; with `withRows`, the
   * caller's rows for those events are written in the same transaction (only when there are events).
   */
  async run(
    command: WorkerCommand,
    ctx: RequestContext,
    userId?: string,
    withRows?: (trx: Transaction<WorkersDatabase>) => Promise<void>,
  ): Promise<HandleCommandResult<WorkerState, WorkerEvent>> {
    const target = { store: this.store, streamId: workerStreamId(command.workerId), decider: workerDecider, command, metadata: metadataFor(ctx, userId) };
    const result = withRows ? await handleCommandInTransaction({ ...target, db: this.db, withRows }) : await handleCommand(target);
    if (result.events.length > 0) this.projection.nudge();
    return result;
  }

  /**
   * Resolves once the read model has applied the worker's stream up to `version`, or after
   * `timeoutMs` (the reply then shows the model as it is: it lags, it is not wrong).
   */
  async settled(workerId: string, version: number, timeoutMs = 5_000): Promise<void> {
    if (version === 0) return;
    const [event]: Envelope[] = await this.store.readStream(workerStreamId(workerId), { fromVersion: version, maxCount: 1 });
    if (!event?.globalPosition) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.projection.caughtUpTo(BigInt(event.globalPosition)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
