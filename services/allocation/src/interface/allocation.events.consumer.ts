/*
 * Allocation's read models, fed by the batch consumers declared in event-consumers.ts. The
 * transporter has checked and upcast each event against its registry (a message that can never
 * be valid was logged and acked: the shared policy of consumer-declaration.ts in messaging), so a
 * batch is applied as it comes, in stream order, in one transaction. Handlers are idempotent
 * (stream-order.ts): a redelivered event is acked and changes nothing; an event that overtook an
 * earlier one fails alone and is redelivered after it.
 */
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Envelope } from '@agentyard/contracts';
import { OnConsumer, type EventBatchItem, type EventBatchResult } from '@agentyard/messaging';
import { AllocationLoop } from '../application/allocation-loop';
import { ProjectEventsHandler, type ProjectionOutcome } from '../application/project-events.handler';
import { taskEventsConsumer, workerEventsConsumer } from './event-consumers';

@Controller()
export class AllocationEventsConsumer {
  constructor(
    private readonly project: ProjectEventsHandler,
    private readonly loop: AllocationLoop,
  ) {}

  @OnConsumer(taskEventsConsumer)
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return this.applyAll(items, (events) => this.project.taskEvents(events));
  }

  @OnConsumer(workerEventsConsumer)
  async onWorkerEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return this.applyAll(items, (events) => this.project.workerEvents(events));
  }

  /** Per item: undefined when applied or a duplicate, else why it failed (it alone is redelivered). */
  private async applyAll(items: EventBatchItem[], apply: (events: Envelope[]) => Promise<ProjectionOutcome>): Promise<unknown[]> {
    const outcome = await apply(items.map((item) => item.data as Envelope));
    if (outcome.changesPicture) this.loop.invalidate();
    if (outcome.triggersPass) this.loop.trigger();
    return outcome.results.map((result) => (result instanceof Error ? result : undefined));
  }
}
