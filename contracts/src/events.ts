/*
 * Which event registries travel on which context's stream, and which streams the gateway
 * forwards to users' WebSockets. One list, read by the gateway (what it follows) and by the
 * security suite (which kinds it must prove reach only their owner), so a new context or event
 * kind is covered without anyone remembering to add it.
 */
import type { EventRegistry } from './common/versioning';
import type { Context } from './common/subjects';
import { allocationEvents } from './allocation/allocation.schemas';
import { authEvents } from './auth/auth.messages';
import { secretEvents } from './secrets/secrets';
import { taskEvents } from './tasks/task.schemas';
import { workerEvents } from './workers/worker.schemas';
import { runEvents, workflowEvents } from './workflows/workflow-run.schemas';

/** The registries of the events each context's service publishes on its stream. */
export const eventRegistriesByContext: Readonly<Record<Context, readonly EventRegistry[]>> = {
  auth: [authEvents, secretEvents],
  tasks: [taskEvents],
  workers: [workerEvents],
  workflows: [workflowEvents, runEvents],
  allocation: [allocationEvents],
};

/** Contexts whose events the gateway forwards, each to the users allowed to see it. */
export const liveContexts: readonly Context[] = ['auth', 'tasks', 'workers', 'allocation', 'workflows'];

/** Every event type the gateway forwards. */
export function liveEventTypes(): string[] {
  return liveContexts.flatMap((c) => eventRegistriesByContext[c].flatMap((r) => r.types()));
}
