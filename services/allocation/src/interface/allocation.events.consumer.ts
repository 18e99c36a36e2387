/*
 * The durable JetStream consumers feeding allocation's read models: every task event and every
 * worker event. Each is a batch consumer: the messages that arrived while the previous batch was
 * applied are applied together, in stream order, in one transaction — so under load a task's
 * TaskCreated and TaskQueued (and hundreds of others) cost one commit, and order is kept without
 * handling messages concurrently. Handlers are idempotent (stream-order.ts): a redelivered event
 * is acked and changes nothing; an event that overtook an earlier one fails alone and is
 * redelivered after it. A message that is not an envelope fails alone too (dead-lettered).
 */
import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { envelopeSchema, parseOrThrow, streamName, type Envelope } from '@agentyard/contracts';
import type { EventBatchItem, EventBatchResult, EventConsumerOptions } from '@agentyard/messaging';
import { AllocationLoop } from '../application/allocation-loop';
import { ProjectEventsHandler, type ProjectionOutcome } from '../application/project-events.handler';

const TASKS_CONSUMER = 'allocation-tasks';
const WORKERS_CONSUMER = 'allocation-workers';

/**
 * Redelivery: quick at first (an event that overtook another usually waits a few ms), then
 * slower; about four minutes in all before a dead letter, well past the ack wait, so an event
 * waiting for one stuck in a crashed instance's unacked delivery is not dead-lettered first.
 * The default ack wait (5 s) bounds the delay after a crash; a running handler keeps its delivery.
 */
const retries = { maxDeliver: 30, backoffMs: [100, 500, 2_000, 5_000, 10_000] };
/** Messages per batch (and unacked at once): one transaction's worth. */
const batch = { batch: true, concurrency: 256 } as const;

/** The consumers NatsJetStreamServer provisions and runs for this controller. */
export const allocationConsumers: EventConsumerOptions[] = [
  // Batches, not concurrency: with concurrent handlers a task's TaskQueued could overtake its
  // TaskCreated (a redelivery later) while a younger task takes the slot — allocation would stop
  // being first-come-first-served within a priority. A batch applies them in order.
  { stream: streamName('tasks'), durable: TASKS_CONSUMER, filterSubject: 'tasks.events.>', ...retries, ...batch },
  { stream: streamName('workers'), durable: WORKERS_CONSUMER, filterSubject: 'workers.events.>', ...retries, ...batch },
];

@Controller()
export class AllocationEventsConsumer {
  constructor(
    private readonly project: ProjectEventsHandler,
    private readonly loop: AllocationLoop,
  ) {}

  @EventPattern('tasks.events.>', { consumer: TASKS_CONSUMER })
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return this.applyAll(
      items,
      (e) => this.project.taskEvent(e),
      (events) => this.project.taskEvents(events),
    );
  }

  @EventPattern('workers.events.>', { consumer: WORKERS_CONSUMER })
  async onWorkerEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return this.applyAll(
      items,
      (e) => this.project.workerEvent(e),
      (events) => this.project.workerEvents(events),
    );
  }

  /** Per item: undefined when applied or a duplicate, else why it failed (it alone is redelivered). */
  private async applyAll(
    items: EventBatchItem[],
    check: (event: Envelope) => Envelope,
    apply: (events: Envelope[]) => Promise<ProjectionOutcome>,
  ): Promise<unknown[]> {
    const checked = items.map((item): Envelope | Error => {
      try {
        return check(parseOrThrow(envelopeSchema, item.data, 'event') as Envelope);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    const valid = checked.filter((c): c is Envelope => !(c instanceof Error));
    const outcome = valid.length > 0 ? await apply(valid) : { results: [], triggersPass: false, changesPicture: false };
    if (outcome.changesPicture) this.loop.invalidate();
    if (outcome.triggersPass) this.loop.trigger();
    let next = 0;
    return checked.map((c) => {
      if (c instanceof Error) return c;
      const result = outcome.results[next++];
      return result instanceof Error ? result : undefined;
    });
  }
}
