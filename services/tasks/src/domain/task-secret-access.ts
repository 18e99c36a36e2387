/*
 * Who may receive a task's secret values: only the worker holding the task's current attempt,
 * while that attempt is live (assigned or running). Pure — the same fence as work reports
 * (task.decide.ts): attempts come from the task's stream, so a worker that lost the task (requeued
 * to another, cancelled, finished) or a stale attempt is refused. Tested in
 * task-secret-access.unit.spec.ts and end to end in services/gateway/test/secrets.e2e.spec.ts.
 */
import { secretRefsOf } from '@agentyard/contracts';
import type { TaskState } from './task';

export type SecretAccess = { granted: true; ownerId: string; names: string[] } | { granted: false; code: 'NOT_FOUND' | 'FORBIDDEN'; reason: string };

/** Whether `workerId`, claiming `attempt`, may have the secrets the task's env references. */
export function secretAccess(state: TaskState, workerId: string, attempt: number): SecretAccess {
  if (!state.exists || state.deleted) return { granted: false, code: 'NOT_FOUND', reason: 'no such task' };
  if (state.workerId !== workerId) return { granted: false, code: 'FORBIDDEN', reason: 'this worker does not hold the task' };
  if (attempt !== state.attempt) {
    return { granted: false, code: 'FORBIDDEN', reason: `attempt ${attempt} is not the task's current attempt ${state.attempt}` };
  }
  if (state.status !== 'assigned' && state.status !== 'running') {
    return { granted: false, code: 'FORBIDDEN', reason: `the task is ${state.status}; its secrets are given only to a live attempt` };
  }
  return { granted: true, ownerId: state.ownerId, names: secretRefsOf(state.input) };
}
