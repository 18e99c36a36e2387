/*
 * The durable JetStream consumers feeding allocation's read models: every task event and every
 * worker event. Handlers are idempotent (stream-order.ts): a redelivered event is acked and
 * changes nothing; an event that overtook an earlier one fails and is redelivered after it.
 */
import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { envelopeSchema, parseOrThrow, streamName, type Envelope } from '@agentyard/contracts';
import type { EventConsumerOptions } from '@agentyard/messaging';
import { AllocationLoop } from '../application/allocation-loop';
import { ProjectEventsHandler } from '../application/project-events.handler';

const TASKS_CONSUMER = 'allocation-tasks';
const WORKERS_CONSUMER = 'allocation-workers';

/**
 * Redelivery: quick at first (an event that overtook another usually waits a few ms), then
 * slower; about four minutes in all before a dead letter, well past `ackWaitMs`, so an event
 * waiting for one stuck in a crashed instance's unacked delivery is not dead-lettered first.
 * Handlers take milliseconds, so a 10 s ack wait is ample and bounds the delay after a crash.
 */
const retries = { maxDeliver: 30, backoffMs: [100, 500, 2_000, 5_000, 10_000], ackWaitMs: 10_000 };

/** The consumers NatsJetStreamServer provisions and runs for this controller. */
export const allocationConsumers: EventConsumerOptions[] = [
  // One at a time on purpose: a task's TaskCreated and TaskQueued arrive back to back, and with
  // concurrency the second would overtake the first (a redelivery later) while a younger task
  // takes the slot — allocation would stop being first-come-first-served within a priority.
  { stream: streamName('tasks'), durable: TASKS_CONSUMER, filterSubject: 'tasks.events.>', ...retries },
  { stream: streamName('workers'), durable: WORKERS_CONSUMER, filterSubject: 'workers.events.>', ...retries },
];

@Controller()
export class AllocationEventsConsumer {
  constructor(
    private readonly project: ProjectEventsHandler,
    private readonly loop: AllocationLoop,
  ) {}

  @EventPattern('tasks.events.>', { consumer: TASKS_CONSUMER })
  async onTaskEvent(@Payload() data: unknown): Promise<void> {
    const outcome = await this.project.taskEvent(parseOrThrow(envelopeSchema, data, 'task event') as Envelope);
    if (outcome.triggersPass) this.loop.trigger();
  }

  @EventPattern('workers.events.>', { consumer: WORKERS_CONSUMER })
  async onWorkerEvent(@Payload() data: unknown): Promise<void> {
    const outcome = await this.project.workerEvent(parseOrThrow(envelopeSchema, data, 'worker event') as Envelope);
    if (outcome.triggersPass) this.loop.trigger();
  }
}
