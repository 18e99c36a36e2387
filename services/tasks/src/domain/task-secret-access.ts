/*
 * What a worker may do with a task's current attempt: receive its secret values, upload its log
 * and artifacts. Only the worker holding the task's current attempt, while that attempt is live
 * (assigned or running). Pure — the same fence as work reports (task.decide.ts): attempts come
 * from the task's stream, so a worker that lost the task (requeued to another, cancelled,
 * finished) or a stale attempt is refused. Tested in task-secret-access.unit.spec.ts and end to
 * end in services/gateway/test/secrets.e2e.spec.ts and artifacts.e2e.spec.ts.
 */
import { secretRefsOf } from '@agentyard/contracts';
import type { TaskState } from './task';

export type AttemptAccess = { granted: true; ownerId: string } | { granted: false; code: 'NOT_FOUND' | 'FORBIDDEN'; reason: string };

export type SecretAccess = { granted: true; ownerId: string; names: string[] } | { granted: false; code: 'NOT_FOUND' | 'FORBIDDEN'; reason: string };

/** Whether `workerId`, claiming `attempt`, holds the task's current live attempt; `onlyLive` ends the refusal of a finished one. */
export function liveAttemptAccess(state: TaskState, workerId: string, attempt: number, onlyLive: string): AttemptAccess {
  if (!state.exists || state.deleted) return { granted: false, code: 'NOT_FOUND', reason: 'no such task' };
  if (state.workerId !== workerId) return { granted: false, code: 'FORBIDDEN', reason: 'this worker does not hold the task' };
  if (attempt !== state.attempt) {
    return { granted: false, code: 'FORBIDDEN', reason: `attempt ${attempt} is not the task's current attempt ${state.attempt}` };
  }
  if (state.status !== 'assigned' && state.status !== 'running') {
    return { granted: false, code: 'FORBIDDEN', reason: `the task is ${state.status}; ${onlyLive}` };
  }
  return { granted: true, ownerId: state.ownerId };
}

/** Whether `workerId`, claiming `attempt`, may have the secrets the task's env references. */
export function secretAccess(state: TaskState, workerId: string, attempt: number): SecretAccess {
  const access = liveAttemptAccess(state, workerId, attempt, 'its secrets are given only to a live attempt');
  return access.granted ? { ...access, names: secretRefsOf(state.input) } : access;
}

/**
 * Whether `workerId` may store a log or artifact for `attempt`. Its uploads must be committed
 * before the attempt's `finished` report: once the task has finished, the attempt is no longer live.
 */
export function artifactUploadAccess(state: TaskState, workerId: string, attempt: number): AttemptAccess {
  return liveAttemptAccess(state, workerId, attempt, 'logs and artifacts are stored only for a live attempt (upload them before reporting it finished)');
}
