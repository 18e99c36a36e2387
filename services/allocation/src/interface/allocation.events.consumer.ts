/*
 * Allocation's read models, fed by the batch consumers declared in event-consumers.ts. The
 * transporter has checked and upcast each event against its registry (a message that can never
 * be valid was logged and acked: the shared policy of consumer-declaration.ts in messaging), so a
 * batch is applied as it comes, in stream order, in one transaction. Handlers are idempotent
 * (stream-order.ts): a redelivered event is acked and changes nothing; an event that overtook an
 * earlier one fails alone and is redelivered after it.
 */
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Envelope } from '@agentyard/contracts';
import { EVENT_HINTS, OnConsumer, type EventBatchItem, type EventBatchResult, type EventHints } from '@agentyard/messaging';
import { AllocationLoop } from '../application/allocation-loop';
import { ProjectEventsHandler, type ProjectionOutcome } from '../application/project-events.handler';
import { taskEventsConsumer, workerEventsConsumer } from './event-consumers';

@Controller()
export class AllocationEventsConsumer {
  constructor(
    private readonly project: ProjectEventsHandler,
    private readonly loop: AllocationLoop,
    @Inject(EVENT_HINTS) private readonly hints: EventHints,
  ) {}

  @OnConsumer(taskEventsConsumer)
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    // Events a hint brought first (below) are in the rows already: acked without a transaction.
    const fresh = await Promise.all(items.map(async (item) => !(await this.hints.took((item.data as Envelope).id))));
    // A queued task is always hinted: one that comes this way was declined, lost or overtaken — load.
    if (items.some((item, i) => fresh[i] && (item.data as Envelope).type === 'TaskQueued')) this.hints.missed();
    const results = fresh.some(Boolean)
      ? await this.applyAll(
          items.filter((_, i) => fresh[i]),
          (events) => this.project.taskEvents(events),
        )
      : [];
    let next = 0;
    return fresh.map((isFresh) => (isFresh ? results[next++] : undefined));
  }

  /**
   * The events of an append that queued a task, hinted by tasks right after storing them
   * (messaging's event-hints.ts; main.ts listens while this replica holds the lease): applied in
   * stream order like the consumer's, so a pass can place the task before the relay brings them.
   * Resolves to the ids applied (or found applied already); one that overtook an earlier event
   * is left to the consumer.
   */
  async onTaskHints(events: Envelope[]): Promise<string[]> {
    const results = await this.applyAll(
      events.map((data) => ({ data }) as EventBatchItem),
      (checked) => this.project.taskEvents(checked),
    );
    return events.filter((_, i) => results[i] === undefined).map((event) => event.id);
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
