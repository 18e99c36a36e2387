/*
 * The durable JetStream consumer of workflows (one declaration; consumer-declaration.ts in
 * messaging). The tasks relay puts a workflow task's run id at the end of the subject
 * (`tasks.events.<event>.<taskId>.<runId>`), so this filter receives only workflow tasks' events;
 * of those the runs act on TaskStarted and the terminal events, and the rest are acked unread.
 * The durable name never changes: a deployment keeps its position under it.
 */
import { taskEvents } from '@agentyard/contracts';
import { contextStream, defineConsumer, eventFilter } from '@agentyard/messaging';

export const taskEventsConsumer = defineConsumer({
  stream: contextStream('tasks'),
  durable: 'workflows-task-events',
  // Five tokens: only events that carry a run id (workflow tasks).
  filterSubject: eventFilter('tasks', { keys: 2 }),
  events: taskEvents,
  actsOn: ['TaskStarted', 'TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskCancelled'],
  batch: true,
  concurrency: 256,
});

/** The consumers NatsJetStreamServer provisions and runs for TaskEventsConsumer. */
export const workflowEventConsumers = [taskEventsConsumer];
