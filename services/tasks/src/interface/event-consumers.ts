/*
 * The durable JetStream consumers feeding TaskEventsConsumer, one declaration each (stream,
 * durable, filter, what its messages parse with, tuning; consumer-declaration.ts in messaging).
 * Durable names start with `tasks-` so they never collide with another service's consumers on
 * the same stream, and never change: a deployment keeps its position under them. Where order
 * matters (a worker's started before its finished; a task's TaskAssigned before its
 * TaskCancelled) it matters per task: those consumers take batches and handle one task's messages
 * in stream order, different tasks' at once. The default ack wait (5 s) bounds how long a message
 * delivered to a crashed instance waits before redelivery, which is what a kill -9 mid-run costs;
 * a running handler keeps its delivery with progress signals. Allocation decisions may be held
 * for a requeue backoff (assign-task.handler.ts), so that consumer handles several at once and
 * may handle one for the longest hold (maxHandleMs, set from the settings), not its ack wait.
 * Workflow runs' events come from one consumer over the whole WORKFLOWS stream (2.9 has one
 * filter subject per consumer): a node's NodeScheduled and its NodeCancelled must be handled in
 * order, which two consumers could not promise. The other run events are acked unread.
 */
import { allocationEvents, runEvents, taskEvents, workerEvents, workReportSchema } from '@agentyard/contracts';
import { contextStream, defineConsumer, eventFilter, workStreamConfig, type ConsumerDeclaration } from '@agentyard/messaging';
import { DISPATCHED_EVENTS } from '../application/work-dispatcher';

export const allocationDecidedConsumer = defineConsumer({
  stream: contextStream('allocation'),
  durable: 'tasks-allocation-decided',
  filterSubject: eventFilter('allocation', { type: 'AllocationDecided' }),
  events: allocationEvents,
  actsOn: ['AllocationDecided'],
  concurrency: 32,
});

/** Work reports are not envelopes: the body is checked by its schema; the subject names the sender. */
export const workReportsConsumer = defineConsumer({
  stream: workStreamConfig(),
  durable: 'tasks-work-reports',
  filterSubject: 'work.report.>',
  schema: workReportSchema,
  batch: true,
  concurrency: 256,
});

export const workerOfflineConsumer = defineConsumer({
  stream: contextStream('workers'),
  durable: 'tasks-worker-offline',
  filterSubject: eventFilter('workers', { type: 'WorkerWentOffline' }),
  events: workerEvents,
  actsOn: ['WorkerWentOffline'],
  concurrency: 1,
});

/**
 * Every task event comes round to the dispatcher (its safety net); those that cannot lead to an
 * order (created, queued, started, succeeded: four of a task's five) are acked unparsed.
 */
export const dispatcherConsumer = defineConsumer({
  stream: contextStream('tasks'),
  durable: 'tasks-dispatcher',
  filterSubject: eventFilter('tasks'),
  events: taskEvents,
  actsOn: DISPATCHED_EVENTS,
  batch: true,
  concurrency: 256,
});

export const workflowNodesConsumer = defineConsumer({
  stream: contextStream('workflows'),
  durable: 'tasks-workflow-nodes',
  filterSubject: eventFilter('workflows'),
  events: runEvents,
  actsOn: ['NodeScheduled', 'NodeCancelled'],
  batch: true,
  concurrency: 256,
});

/** Every consumer of the tasks service, as NatsJetStreamServer provisions and runs them. */
export function taskEventConsumers(settings: { assignWaitMaxMs: number }): ConsumerDeclaration[] {
  return [
    { ...allocationDecidedConsumer, maxHandleMs: settings.assignWaitMaxMs + 10_000 },
    workReportsConsumer,
    workerOfflineConsumer,
    dispatcherConsumer,
    workflowNodesConsumer,
  ];
}
