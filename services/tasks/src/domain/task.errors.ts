/*
 * The refusals a task command can meet. Another user's task is NOT_FOUND, never FORBIDDEN, so a
 * caller cannot learn that a task id exists (design: tasks-on-workers.md, "Ownership").
 */
import { DomainError, type TaskStatus } from '@agentyard/contracts';

export function taskNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'no such task');
}

export function taskAlreadyExists(): DomainError {
  return new DomainError('CONFLICT', 'a task with this id already exists');
}

export function idempotencyKeyReused(): DomainError {
  return new DomainError(
    'CONFLICT',
    'this Idempotency-Key was already used for a different task request: send the same request again, or use a new key for a new task',
  );
}

export function idempotentTaskDeleted(): DomainError {
  return new DomainError('CONFLICT', 'the task this Idempotency-Key created has been deleted: use a new key to create another');
}

export function taskAlreadyFinished(status: TaskStatus): DomainError {
  return new DomainError('CONFLICT', 'task already finished', { status });
}

export function taskNotInStatus(action: string, status: TaskStatus, allowed: readonly TaskStatus[]): DomainError {
  return new DomainError('CONFLICT', `cannot ${action} a task that is ${status}; only a ${allowed.join(', ')} task can be`, { status });
}

export function taskBelongsToRun(runId: string, nodeId: string): DomainError {
  return new DomainError(
    'CONFLICT',
    `this task belongs to workflow run ${runId} (node ${nodeId}): retry the node instead (POST /api/v1/runs/${runId}/nodes/${nodeId}/retry)`,
    { runId, nodeId },
  );
}
