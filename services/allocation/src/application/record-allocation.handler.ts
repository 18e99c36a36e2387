import { Inject, Injectable } from '@nestjs/common';
import { newId, type CorrelationMetadata } from '@agentyard/contracts';
import type { EventStore } from '@agentyard/event-store';
import { handleCommand, StateCache } from '@agentyard/event-sourcing';
import type { AllocationOutcome } from '../domain/allocation.decide';
import { allocationRecordDecider, allocationStreamId, type AllocationRecord, type AttemptRecord } from '../domain/allocation-record.decider';
import { EVENT_STORE } from './tokens';

export interface RecordAllocationInput {
  taskId: string;
  attempt: number;
  outcome: AllocationOutcome;
  metadata: CorrelationMetadata;
  now: Date;
  /**
   * The caller believes the task's allocation stream is still empty (a first attempt it never
   * deferred): decide without reading it. A wrong belief costs a version conflict and a reload.
   */
  probablyNew?: boolean;
}

export interface RecordAllocationResult {
  /** What the stream holds for the attempt after the call (a decision may predate this call). */
  record: AttemptRecord;
  /** True when this call appended an event. */
  appended: boolean;
  /** True when a later attempt is already recorded (this one is stale). */
  stale: boolean;
}

/**
 * Load `allocation-<taskId>` → decide → append at the version read (retry on conflict). Recent
 * streams' states are cached (a task deferred, then decided, is read once at most).
 */
@Injectable()
export class RecordAllocationHandler {
  private readonly cache = new StateCache<AllocationRecord>(5_000);

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(input: RecordAllocationInput): Promise<RecordAllocationResult> {
    const result = await handleCommand({
      store: this.store,
      streamId: allocationStreamId(input.taskId),
      decider: allocationRecordDecider,
      command: { kind: 'RecordAllocation', taskId: input.taskId, attempt: input.attempt, allocationId: newId(), outcome: input.outcome },
      metadata: input.metadata,
      now: () => input.now,
      cache: this.cache,
      assumeNew: input.probablyNew,
    });
    return {
      record: result.state.attempts[input.attempt] ?? { decided: null, lastDeferredPicture: null },
      appended: result.events.length > 0,
      stale: result.state.latestAttempt > input.attempt,
    };
  }
}
