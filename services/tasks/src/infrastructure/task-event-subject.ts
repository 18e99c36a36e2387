/*
 * The subject the relay publishes a task event on: `tasks.events.<event>.<taskId>`, and for the
 * started and terminal events of a task a workflow run created (their data names the run),
 * `tasks.events.<event>.<taskId>.<runId>`. So the workflows service consumes
 * `tasks.events.*.*.*` and receives only its own tasks' events, while every consumer of
 * `tasks.events.>` (allocation, the dispatcher, the gateway) sees both shapes alike.
 */
import { eventSubject, type Envelope } from '@agentyard/contracts';
import { taskIdOf } from './task-view.runner';

/** Subject of a task event on the TASKS stream. */
export function taskEventSubject(event: Envelope): string {
  const runId = event.data.runId;
  return typeof runId === 'string' ? eventSubject('tasks', event.type, taskIdOf(event), runId) : eventSubject('tasks', event.type, taskIdOf(event));
}
