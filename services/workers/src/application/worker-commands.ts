/*
 * Runs worker commands against the event store: load `worker-<id>`, fold, decide, append at the
 * version read; on VersionConflict reload and decide again (`handleCommand`). `runWithRows`
 * does the same but appends inside a database transaction together with the caller's own rows
 * (the outbox), so a row such as a revoked credential and its event commit or roll back
 * together. `settled` waits until the read model shows the appended events (read-your-writes).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Transaction } from 'kysely';
import { newId, type Envelope, type NewEvent } from '@agentyard/contracts';
import { fold, handleCommand, type DecidedEvent, type HandleCommandResult, type ProjectionRunner } from '@agentyard/event-sourcing';
import { VersionConflict, type PostgresEventStore } from '@agentyard/event-store';
import { workerStreamId, type WorkerState } from '../domain/worker';
import { workerDecider, type WorkerCommand } from '../domain/worker.decide';
import type { WorkersDatabase } from '../infrastructure/workers.database';
import { WORKERS_DB } from '../infrastructure/worker-view.repository';
import { metadataFor, type RequestContext } from './request-context';

export const WORKER_EVENT_STORE = Symbol('WORKER_EVENT_STORE');
export const WORKER_VIEW_PROJECTION = Symbol('WORKER_VIEW_PROJECTION');

/** Stamps decided events as envelopes to append. */
export function toNewEvents(decided: DecidedEvent[], ctx: RequestContext, userId?: string, now = new Date()): NewEvent[] {
  const metadata = metadataFor(ctx, userId);
  return decided.map((d) => ({ id: newId(), type: d.type, version: d.version ?? 1, occurredAt: now.toISOString(), data: d.data, metadata }));
}

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

  async run(command: WorkerCommand, ctx: RequestContext, userId?: string): Promise<HandleCommandResult<WorkerState>> {
    const result = await handleCommand({
      store: this.store,
      streamId: workerStreamId(command.workerId),
      decider: workerDecider,
      command,
      metadata: metadataFor(ctx, userId),
    });
    if (result.events.length > 0) this.projection.nudge();
    return result;
  }

  /** Like `run`, and calls `withRows(trx, events)` in the transaction that appends (only when there are events). */
  async runWithRows(
    command: WorkerCommand,
    ctx: RequestContext,
    userId: string | undefined,
    withRows: (trx: Transaction<WorkersDatabase>, events: DecidedEvent[]) => Promise<void>,
    maxAttempts = 10,
  ): Promise<{ events: DecidedEvent[]; version: number }> {
    const streamId = workerStreamId(command.workerId);
    for (let attempt = 1; ; attempt++) {
      const history = await this.store.readStream(streamId);
      const version = history.at(-1)?.streamVersion ?? 0;
      const decided = workerDecider.decide(command, fold(workerDecider, history));
      if (decided.length === 0) return { events: [], version };
      try {
        const result = await this.db.transaction().execute(async (trx) => {
          await withRows(trx, decided);
          return this.store.appendInTransaction(trx, streamId, toNewEvents(decided, ctx, userId), { expectedVersion: version });
        });
        this.projection.nudge();
        return { events: decided, version: result.nextExpectedVersion };
      } catch (error) {
        if (!(error instanceof VersionConflict) || attempt >= maxAttempts) throw error;
      }
    }
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
