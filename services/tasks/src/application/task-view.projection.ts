/*
 * The `task_view` read model: one row per task, a pure `evolve(row | null, event)` over the
 * tasks service's own events. The runner (infrastructure/task-view.runner.ts) applies it in one
 * transaction with its checkpoint.
 *
 * Invariant: applying an event twice changes nothing. A row remembers the stream version it has
 * seen, and an event at or below it is skipped. So a batch replayed after a crash, or a
 * `replay` racing the live runner, cannot apply a transition twice. A rebuilt model equals the
 * live one (test/tasks.int.spec.ts, "replay"); the row agrees with the decider's fold of the
 * same events (task-view.projection.unit.spec.ts).
 */
import type { TaskRequirements, TaskResult, TaskStatus, TaskView, TaskWorkflowRef, ToolName } from '@agentyard/contracts';
import type { TaskEvent } from '../domain/task';

/** Checkpoint name of the projection (in the event store's checkpoints table). */
export const TASK_VIEW_PROJECTION = 'projection:task_view';

export interface TaskViewRow {
  id: string;
  ownerId: string;
  description: string;
  tool: ToolName;
  input: Record<string, unknown>;
  priority: number;
  status: TaskStatus;
  attempt: number;
  maxAttempts: number;
  timeoutSeconds: number;
  queueTimeoutSeconds: number;
  heartbeatTimeoutSeconds: number;
  requirements: TaskRequirements;
  workerId: string | null;
  progress: number | null;
  result: TaskResult | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  version: number;
  leaseExpiresAt: string | null;
  queuedAt: string | null;
  notBefore: string | null;
  deleted: boolean;
  workflow: TaskWorkflowRef | null;
  stalls: number;
  stalledAt: string | null;
}

/** The row after `event`; null while there is no task (an event before TaskCreated is ignored). */
export function evolveTaskView(row: TaskViewRow | null, event: TaskEvent): TaskViewRow | null {
  if (row === null) return event.type === 'TaskCreated' ? created(event) : null;
  if (event.streamVersion <= row.version) return row;
  const next = change(row, event);
  return next === row ? row : { ...next, version: event.streamVersion, updatedAt: event.occurredAt };
}

function created(event: Extract<TaskEvent, { type: 'TaskCreated' }>): TaskViewRow {
  const d = event.data;
  return {
    id: d.taskId,
    ownerId: d.ownerId,
    description: d.description,
    tool: d.tool,
    input: d.input,
    priority: d.priority,
    status: 'queued',
    attempt: 0,
    maxAttempts: d.maxAttempts,
    timeoutSeconds: d.timeoutSeconds,
    queueTimeoutSeconds: d.queueTimeoutSeconds,
    heartbeatTimeoutSeconds: d.heartbeatTimeoutSeconds,
    requirements: d.requirements,
    workerId: null,
    progress: null,
    result: null,
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
    startedAt: null,
    finishedAt: null,
    version: event.streamVersion,
    leaseExpiresAt: null,
    queuedAt: null,
    notBefore: null,
    deleted: false,
    workflow: d.workflow ?? null,
    stalls: 0,
    stalledAt: null,
  };
}

function change(row: TaskViewRow, event: TaskEvent): TaskViewRow {
  const at = event.occurredAt;
  switch (event.type) {
    case 'TaskQueued': {
      const d = event.data;
      return {
        ...row,
        status: 'queued',
        attempt: d.attempt,
        // Same rule as the decider's evolve: a retry may always run once more.
        maxAttempts: d.reason === 'retried' ? Math.max(row.maxAttempts, d.attempt) : row.maxAttempts,
        workerId: null,
        leaseExpiresAt: null,
        queuedAt: at,
        notBefore: d.notBefore ?? null,
        startedAt: null,
        finishedAt: null,
        result: null,
        progress: null,
        stalledAt: null,
      };
    }
    case 'TaskUpdated': {
      const d = event.data;
      return { ...row, description: d.description ?? row.description, priority: d.priority ?? row.priority };
    }
    case 'TaskAssigned': {
      const d = event.data;
      return { ...row, status: 'assigned', workerId: d.workerId, leaseExpiresAt: d.leaseExpiresAt, notBefore: null };
    }
    case 'TaskStarted':
      return { ...row, status: 'running', startedAt: event.data.startedAt, leaseExpiresAt: null };
    case 'TaskRequeued':
      return { ...row, leaseExpiresAt: null };
    case 'TaskSucceeded':
      return { ...row, status: 'succeeded', result: event.data.result, progress: 100, finishedAt: at, leaseExpiresAt: null };
    case 'TaskFailed': {
      const d = event.data;
      return { ...row, status: d.kind ?? 'failed', result: d.result, finishedAt: at, leaseExpiresAt: null };
    }
    case 'TaskTimedOut':
      return { ...row, status: 'timed_out', finishedAt: at, leaseExpiresAt: null };
    case 'TaskCancelled':
      return { ...row, status: 'cancelled', finishedAt: at, leaseExpiresAt: null };
    case 'TaskStalled': {
      const d = event.data;
      return { ...row, stalls: row.stalls + 1, stalledAt: d.at };
    }
    case 'TaskReportRejected':
      // Audit only: the task does not change, but the row has seen this stream version.
      return { ...row };
    case 'TaskDeleted':
      return { ...row, deleted: true };
    default:
      return row;
  }
}

/** The public TaskView of a row. */
export function taskViewOf(row: TaskViewRow): TaskView {
  return {
    id: row.id,
    ownerId: row.ownerId,
    description: row.description,
    tool: row.tool,
    input: row.input,
    priority: row.priority,
    status: row.status,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    timeoutSeconds: row.timeoutSeconds,
    requirements: row.requirements,
    workerId: row.workerId,
    progress: row.progress,
    result: row.result,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    version: row.version,
    workflow: row.workflow,
    stalls: row.stalls,
    stalledAt: row.stalledAt,
  };
}

/** Counts toward the per-user limit of unfinished tasks: queued, assigned or running, and not deleted. */
export function isActive(row: TaskViewRow | null): boolean {
  return row !== null && !row.deleted && (row.status === 'queued' || row.status === 'assigned' || row.status === 'running');
}

/**
 * How a batch changed each owner's count of unfinished tasks, from each task's row before the
 * batch and after it (owners whose count did not change are left out, sorted by owner so two
 * writers lock their rows in one order).
 */
export function activeDeltas(changes: Iterable<{ before: TaskViewRow | null; after: TaskViewRow }>): { ownerId: string; delta: number }[] {
  const byOwner = new Map<string, number>();
  for (const { before, after } of changes) {
    const delta = Number(isActive(after)) - Number(isActive(before));
    if (delta !== 0) byOwner.set(after.ownerId, (byOwner.get(after.ownerId) ?? 0) + delta);
  }
  return [...byOwner]
    .filter(([, delta]) => delta !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ownerId, delta]) => ({ ownerId, delta }));
}
