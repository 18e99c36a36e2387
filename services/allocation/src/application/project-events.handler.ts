/*
 * Applies another service's event (delivered by a durable JetStream consumer) to allocation's
 * read models and says whether it may let a pending task be placed. Known event types are
 * validated (and upcast) against their contract schema first, one by one, so a bad one fails
 * alone; unknown ones only advance the entity's stream version, so a newer producer never
 * stalls us.
 */
import { Injectable } from '@nestjs/common';
import { taskEvents, workerEvents, type Envelope } from '@agentyard/contracts';
import { TaskRepository } from '../infrastructure/task.repository';
import { WorkerRepository } from '../infrastructure/worker.repository';
import type { ApplyResult, OutOfOrderEvent } from './stream-order';
import { evolveTask, leavesWorkersPictureAlone } from './task-state.projection';
import { evolveWorker, workerEventsThatMayFreeCapacity } from './worker-state.projection';

export interface ProjectionOutcome {
  /** Per event of the batch: applied, duplicate, or why it must wait (it is redelivered). */
  results: Array<ApplyResult | OutOfOrderEvent>;
  /** True when a pass should run (an applied event may have made a task placeable). */
  triggersPass: boolean;
  /**
   * True when an applied event may change the workers' picture a pass decides against (or when
   * a queued task waits for a time): the next pass must read it again, not reuse the last one.
   */
  changesPicture: boolean;
}

/** Task events that do not change what can be placed where. */
const taskEventsWithoutEffect = new Set(['TaskCreated', 'TaskReportRejected', 'TaskStalled']);

@Injectable()
export class ProjectEventsHandler {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly workers: WorkerRepository,
  ) {}

  /** A task event checked (and upcast) against its contract; throws when it does not match. */
  taskEvent(envelope: Envelope): Envelope {
    return taskEvents.has(envelope.type) ? taskEvents.upcastEnvelope(envelope) : envelope;
  }

  /** A worker event checked (and upcast) against its contract; throws when it does not match. */
  workerEvent(envelope: Envelope): Envelope {
    return workerEvents.has(envelope.type) ? workerEvents.upcastEnvelope(envelope) : envelope;
  }

  /** Applies a batch of task events (checked, in stream order) in one transaction. */
  async taskEvents(events: Envelope[]): Promise<ProjectionOutcome> {
    const results = await this.tasks.applyInOrder(
      events.map((event) => ({ entityId: String(event.data.taskId ?? event.streamId.replace(/^task-/, '')), event })),
      evolveTask,
    );
    const applied = events.filter((_, i) => results[i] === 'applied');
    const triggersPass = applied.some((e) => taskEvents.has(e.type) && !taskEventsWithoutEffect.has(e.type));
    return { results, triggersPass, changesPicture: applied.some((e) => !leavesWorkersPictureAlone(e)) };
  }

  /** Applies a batch of worker events (checked, in stream order) in one transaction. */
  async workerEvents(events: Envelope[]): Promise<ProjectionOutcome> {
    const results = await this.workers.applyInOrder(
      events.map((event) => ({ entityId: String(event.data.workerId ?? event.streamId.replace(/^worker-/, '')), event })),
      evolveWorker,
    );
    const triggersPass = events.some((e, i) => results[i] === 'applied' && workerEventsThatMayFreeCapacity.has(e.type));
    return { results, triggersPass, changesPicture: results.includes('applied') };
  }
}
