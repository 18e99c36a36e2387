/*
 * Applies another service's event (delivered by a durable JetStream consumer) to allocation's
 * read models and says whether it may let a pending task be placed. Known event types are
 * validated (and upcast) against their contract schema first; unknown ones only advance the
 * entity's stream version, so a newer producer never stalls us.
 */
import { Injectable } from '@nestjs/common';
import { taskEvents, workerEvents, type Envelope } from '@agentyard/contracts';
import { TaskRepository } from '../infrastructure/task.repository';
import { WorkerRepository } from '../infrastructure/worker.repository';
import type { ApplyResult } from './stream-order';
import { evolveTask } from './task-state.projection';
import { evolveWorker, workerEventsThatMayFreeCapacity } from './worker-state.projection';

export interface ProjectionOutcome {
  result: ApplyResult;
  /** True when a pass should run (the event may have made a task placeable). */
  triggersPass: boolean;
}

/** Task events that do not change what can be placed where. */
const taskEventsWithoutEffect = new Set(['TaskCreated', 'TaskReportRejected']);

@Injectable()
export class ProjectEventsHandler {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly workers: WorkerRepository,
  ) {}

  async taskEvent(envelope: Envelope): Promise<ProjectionOutcome> {
    const event = taskEvents.has(envelope.type) ? taskEvents.upcastEnvelope(envelope) : envelope;
    const taskId = String(event.data.taskId ?? event.streamId.replace(/^task-/, ''));
    const result = await this.tasks.applyInOrder(taskId, event, evolveTask);
    return { result, triggersPass: result === 'applied' && taskEvents.has(event.type) && !taskEventsWithoutEffect.has(event.type) };
  }

  async workerEvent(envelope: Envelope): Promise<ProjectionOutcome> {
    const event = workerEvents.has(envelope.type) ? workerEvents.upcastEnvelope(envelope) : envelope;
    const workerId = String(event.data.workerId ?? event.streamId.replace(/^worker-/, ''));
    const result = await this.workers.applyInOrder(workerId, event, evolveWorker);
    return { result, triggersPass: result === 'applied' && workerEventsThatMayFreeCapacity.has(event.type) };
  }
}
