/*
 * The Task aggregate: its state as folded from the stream `task-<taskId>`, and the TaskView a
 * caller sees. Pure — no NestJS, kysely or NATS. The events are the contracts' (taskEvents).
 *
 * Invariant: `attempt` is the attempt the current (or next) assignment carries. It only ever
 * grows, and only through TaskQueued, so a report echoing an older attempt is recognisably
 * stale (fencing, see task.decide.ts). It comes from the event store, never from JetStream.
 */
import {
  terminalStatuses,
  type taskEvents,
  type EventDataOf,
  type EventOf,
  type EventTypeOf,
  type TaskRequirements,
  type TaskResult,
  type TaskStatus,
  type TaskView,
  type TaskWorkflowRef,
  type ToolName,
} from '@agentyard/contracts';

/** A task event as evolve and the projections see it: parsed by `taskEvents`, narrowed by `type`. */
export type TaskEvent = EventOf<typeof taskEvents>;
export type TaskEventType = EventTypeOf<typeof taskEvents>;
/** Event type → payload (newest version). */
export type TaskEventData = { [T in TaskEventType]: EventDataOf<typeof taskEvents, T> };

export interface TaskState {
  /** False until TaskCreated: every other field is a placeholder then. */
  exists: boolean;
  id: string;
  ownerId: string;
  description: string;
  tool: ToolName;
  input: Record<string, unknown>;
  priority: number;
  timeoutSeconds: number;
  maxAttempts: number;
  queueTimeoutSeconds: number;
  heartbeatTimeoutSeconds: number;
  requirements: TaskRequirements;
  status: TaskStatus;
  attempt: number;
  workerId: string | null;
  /** When the current attempt was assigned to `workerId`. */
  assignedAt: string | null;
  leaseExpiresAt: string | null;
  /** When the task last entered the queue (the queue timeout counts from here). */
  queuedAt: string | null;
  /** Backoff after a requeue: no assignment before this instant. */
  notBefore: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  result: TaskResult | null;
  progress: number | null;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
  /** Stream version of the last event folded in. */
  version: number;
  /** Stale reports already recorded as `<report>:<attempt>:<workerId>`, so a redelivery is recorded once. */
  rejectedReports: string[];
  /** The workflow run and node that created the task, if any. */
  workflow: TaskWorkflowRef | null;
  /** Stalls the watchdog flagged over the task's life (TaskStalled). */
  stalls: number;
  /** The last stall recorded (attempt, the worker's `at`): a repeated or older report of it decides nothing. */
  lastStall: { attempt: number; at: string } | null;
  /** When the current attempt was last flagged stalled (the worker's clock); null before that and for each new attempt. */
  stalledAt: string | null;
  /** Times a stall restarted the task (TaskRequeued `stalled`), bounded by MAX_STALL_RESTARTS. */
  stallRestarts: number;
  /** The client's Idempotency-Key that created the task and a hash of that request; null without one. */
  idempotency: { key: string; requestHash: string } | null;
}

export const taskStreamId = (taskId: string): string => `task-${taskId}`;

export function isFinished(status: TaskStatus): boolean {
  return terminalStatuses.includes(status);
}

export function initialState(): TaskState {
  return {
    exists: false,
    id: '',
    ownerId: '',
    description: '',
    tool: 'shell',
    input: {},
    priority: 0,
    timeoutSeconds: 0,
    maxAttempts: 0,
    queueTimeoutSeconds: 0,
    heartbeatTimeoutSeconds: 0,
    requirements: {},
    status: 'queued',
    attempt: 0,
    workerId: null,
    assignedAt: null,
    leaseExpiresAt: null,
    queuedAt: null,
    notBefore: null,
    startedAt: null,
    finishedAt: null,
    result: null,
    progress: null,
    deleted: false,
    createdAt: '',
    updatedAt: '',
    version: 0,
    rejectedReports: [],
    workflow: null,
    stalls: 0,
    lastStall: null,
    stalledAt: null,
    stallRestarts: 0,
    idempotency: null,
  };
}

export const rejectedReportKey = (report: 'started' | 'result' | 'stalled', attempt: number, workerId: string): string => `${report}:${attempt}:${workerId}`;

/** Folds one event into the state (fold skips types taskEvents does not hold: forward compatibility). */
export function evolve(state: TaskState, event: TaskEvent): TaskState {
  const next = applyEvent(state, event);
  return next === state ? state : { ...next, version: event.streamVersion, updatedAt: event.occurredAt };
}

function applyEvent(s: TaskState, event: TaskEvent): TaskState {
  const at = event.occurredAt;
  switch (event.type) {
    case 'TaskCreated': {
      const d = event.data;
      return {
        ...s,
        exists: true,
        id: d.taskId,
        ownerId: d.ownerId,
        description: d.description,
        tool: d.tool,
        input: d.input,
        priority: d.priority,
        timeoutSeconds: d.timeoutSeconds,
        maxAttempts: d.maxAttempts,
        queueTimeoutSeconds: d.queueTimeoutSeconds,
        heartbeatTimeoutSeconds: d.heartbeatTimeoutSeconds,
        requirements: d.requirements,
        workflow: d.workflow ?? null,
        idempotency: d.idempotency ?? null,
        createdAt: at,
      };
    }
    case 'TaskQueued': {
      const d = event.data;
      return {
        ...s,
        status: 'queued',
        attempt: d.attempt,
        // A retry may always run once more: the budget rises to at least this attempt.
        maxAttempts: d.reason === 'retried' ? Math.max(s.maxAttempts, d.attempt) : s.maxAttempts,
        workerId: null,
        assignedAt: null,
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
      return { ...s, description: d.description ?? s.description, priority: d.priority ?? s.priority };
    }
    case 'TaskAssigned': {
      const d = event.data;
      return { ...s, status: 'assigned', workerId: d.workerId, assignedAt: at, leaseExpiresAt: d.leaseExpiresAt, notBefore: null };
    }
    case 'TaskStarted': {
      const d = event.data;
      return { ...s, status: 'running', startedAt: d.startedAt, leaseExpiresAt: null };
    }
    case 'TaskRequeued':
      // The TaskQueued that always follows carries the new attempt; this one is the "why".
      return { ...s, leaseExpiresAt: null, stallRestarts: s.stallRestarts + (event.data.reason === 'stalled' ? 1 : 0) };
    case 'TaskStalled': {
      const d = event.data;
      return { ...s, stalls: s.stalls + 1, lastStall: { attempt: d.attempt, at: d.at }, stalledAt: d.at };
    }
    case 'TaskSucceeded': {
      const d = event.data;
      return { ...s, status: 'succeeded', result: d.result, progress: 100, finishedAt: at, leaseExpiresAt: null };
    }
    case 'TaskFailed': {
      const d = event.data;
      return { ...s, status: d.kind ?? 'failed', result: d.result, finishedAt: at, leaseExpiresAt: null };
    }
    case 'TaskTimedOut':
      return { ...s, status: 'timed_out', finishedAt: at, leaseExpiresAt: null };
    case 'TaskCancelled':
      return { ...s, status: 'cancelled', finishedAt: at, leaseExpiresAt: null };
    case 'TaskReportRejected': {
      const d = event.data;
      return { ...s, rejectedReports: [...s.rejectedReports, rejectedReportKey(d.report, d.attempt, d.workerId)] };
    }
    case 'TaskDeleted':
      return { ...s, deleted: true };
    default:
      return s;
  }
}

/** The public shape of a task (contracts' TaskView). */
export function toTaskView(s: TaskState): TaskView {
  return {
    id: s.id,
    ownerId: s.ownerId,
    description: s.description,
    tool: s.tool,
    input: s.input,
    priority: s.priority,
    status: s.status,
    attempt: s.attempt,
    maxAttempts: s.maxAttempts,
    timeoutSeconds: s.timeoutSeconds,
    requirements: s.requirements,
    workerId: s.workerId,
    progress: s.progress,
    result: s.result,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    version: s.version,
    workflow: s.workflow,
    stalls: s.stalls,
    stalledAt: s.stalledAt,
  };
}
