/*
 * The AFTER_APPEND step that hints allocation of an append that queued a task (a create, a retry,
 * a requeue): allocation can place the task before the relay and JetStream bring these events
 * (messaging's event-hints.ts). Fire-and-forget: the events still travel the durable way, and
 * allocation applies them in stream order whichever comes first.
 */
import { hintSubjects } from '@agentyard/contracts';
import type { EventHints } from '@agentyard/messaging';
import type { AfterAppend } from '../application/task-command.runner';

export function hintQueued(hints: EventHints): AfterAppend {
  return async (events, state) => {
    if (events.some((event) => event.type === 'TaskQueued')) hints.send(hintSubjects.taskQueued(state.id), events);
  };
}
