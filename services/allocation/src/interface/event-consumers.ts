/*
 * The durable JetStream consumers feeding allocation's read models (one declaration each;
 * consumer-declaration.ts in messaging): every task event and every worker event. Each is a batch
 * consumer: the messages that arrived while the previous batch was applied are applied together,
 * in stream order, in one transaction — so under load a task's TaskCreated and TaskQueued (and
 * hundreds of others) cost one commit, and order is kept without handling messages concurrently.
 * Batches, not concurrency: with concurrent handlers a task's TaskQueued could overtake its
 * TaskCreated (a redelivery later) while a younger task takes the slot — allocation would stop
 * being first-come-first-served within a priority. An event of a type the registry does not know
 * is passed on (`unknownTypes: 'pass'`): the projection keeps each entity's stream version, so it
 * must see every event. Durable names never change: a deployment keeps its position under them.
 */
import { taskEvents, workerEvents } from '@agentyard/contracts';
import { contextStream, defineConsumer, eventFilter } from '@agentyard/messaging';

/**
 * Redelivery: quick at first (an event that overtook another usually waits a few ms), then
 * slower; about four minutes in all before a dead letter, well past the ack wait, so an event
 * waiting for one stuck in a crashed instance's unacked delivery is not dead-lettered first.
 * The default ack wait (5 s) bounds the delay after a crash; a running handler keeps its delivery.
 */
const retries = { maxDeliver: 30, backoffMs: [100, 500, 2_000, 5_000, 10_000] };
/** Messages per batch (and unacked at once): one transaction's worth. */
const batch = { batch: true, concurrency: 256 } as const;

export const taskEventsConsumer = defineConsumer({
  stream: contextStream('tasks'),
  durable: 'allocation-tasks',
  filterSubject: eventFilter('tasks'),
  events: taskEvents,
  unknownTypes: 'pass',
  ...retries,
  ...batch,
});

export const workerEventsConsumer = defineConsumer({
  stream: contextStream('workers'),
  durable: 'allocation-workers',
  filterSubject: eventFilter('workers'),
  events: workerEvents,
  unknownTypes: 'pass',
  ...retries,
  ...batch,
});

/** The consumers NatsJetStreamServer provisions and runs for AllocationEventsConsumer. */
export const allocationConsumers = [taskEventsConsumer, workerEventsConsumer];
