/*
 * The durable JetStream consumers feeding TaskEventsConsumer, one per source. Durable names
 * start with `tasks-` so they never collide with another service's consumers on the same
 * stream. Where order matters (a worker's started before its finished; a task's TaskAssigned
 * before its TaskCancelled) it matters per task: those consumers take batches and handle one
 * task's messages in stream order, different tasks' at once. The default ack wait (5 s) bounds
 * how long a message delivered to a crashed instance waits before redelivery, which is what a
 * kill -9 mid-run costs; a running handler keeps its delivery with progress signals. Allocation
 * decisions may be held for a requeue backoff (assign-task.handler.ts), so that consumer handles
 * several at once and may handle one for the longest hold (maxHandleMs), not its ack wait.
 * Workflow runs' events come from one consumer over the whole WORKFLOWS stream (2.9 has one filter
 * subject per consumer): a node's NodeScheduled and its NodeCancelled must be handled in order,
 * which two consumers could not promise. The other run events are acked unread.
 */
import { streamName, workStream } from '@agentyard/contracts';
import type { EventConsumerOptions } from '@agentyard/messaging';

export const consumerNames = {
  allocationDecided: 'tasks-allocation-decided',
  workReports: 'tasks-work-reports',
  workerOffline: 'tasks-worker-offline',
  dispatcher: 'tasks-dispatcher',
  workflowNodes: 'tasks-workflow-nodes',
} as const;

export const consumedSubjects = {
  allocationDecided: 'allocation.events.allocation-decided.>',
  workReports: 'work.report.>',
  workerOffline: 'workers.events.worker-went-offline.>',
  dispatcher: 'tasks.events.>',
  workflowNodes: 'workflows.events.>',
} as const;

export function taskEventConsumers(options: { assignWaitMaxMs: number }): EventConsumerOptions[] {
  return [
    {
      stream: streamName('allocation'),
      durable: consumerNames.allocationDecided,
      filterSubject: consumedSubjects.allocationDecided,
      concurrency: 32,
      maxHandleMs: options.assignWaitMaxMs + 10_000,
    },
    {
      stream: workStream.name,
      durable: consumerNames.workReports,
      filterSubject: consumedSubjects.workReports,
      batch: true,
      concurrency: 256,
    },
    { stream: streamName('workers'), durable: consumerNames.workerOffline, filterSubject: consumedSubjects.workerOffline, concurrency: 1 },
    {
      stream: streamName('tasks'),
      durable: consumerNames.dispatcher,
      filterSubject: consumedSubjects.dispatcher,
      batch: true,
      concurrency: 256,
    },
    {
      stream: streamName('workflows'),
      durable: consumerNames.workflowNodes,
      filterSubject: consumedSubjects.workflowNodes,
      batch: true,
      concurrency: 256,
    },
  ];
}
