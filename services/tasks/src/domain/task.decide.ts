/*
 * The Task decider: what each command leads to, given the folded state. Pure: time, ids and
 * tunables (lease, grace) arrive in the command. Tested exhaustively in task.decide.unit.spec.ts.
 *
 * Invariants:
 *  - FENCING. A worker report counts only if it echoes the task's current attempt AND comes from
 *    the worker assigned to it. Otherwise it is recorded as TaskReportRejected (once per stale
 *    report) and the state does not change. So a worker that lost its lease, or a worker that
 *    was declared offline and came back, can never overwrite the outcome of a newer attempt.
 *  - IDEMPOTENCE. Commands that come from other services' events (AssignTask, reports, requeue,
 *    timeouts) decide [] when their fact is already applied or no longer applies, so JetStream
 *    redelivery and a scanner racing a real report are harmless. Each carries the attempt it is
 *    about, and is re-decided on fresh state after a version conflict.
 *  - OWNERSHIP. User commands on another user's task, or on a deleted one, fail NOT_FOUND.
 *  - A worker declared lost loses only the tasks it held at that instant: a WorkerWentOffline
 *    handled late does not take back work assigned to the worker after it came back online.
 *  - STALLS. A `stalled` report is fenced like the others and recorded once (TaskStalled). The
 *    action is the task's own policy (`input.watchdog`), never the worker's say; `restart`
 *    requeues the task as a new attempt (the old one is cancelled by the dispatcher) at most
 *    MAX_STALL_RESTARTS times, then fails it.
 */
import type { DecidedEventFor, Decider } from '@agentyard/event-sourcing';
import {
  taskEvents,
  taskLimits,
  watchdogSchema,
  type WatchdogAction,
  type CreateTaskBody,
  type NodeTask,
  type TaskResult,
  type TaskStatus,
  type TaskWorkflowRef,
  type UpdateTaskBody,
} from '@agentyard/contracts';
import { isFinished, rejectedReportKey, type TaskEvent, type TaskEventData, type TaskEventType, type TaskState, initialState, evolve } from './task';

/** An event the task decider emits. */
export type DecidedTaskEvent = DecidedEventFor<TaskEvent>;
import {
  idempotencyKeyReused,
  idempotentTaskDeleted,
  taskAlreadyExists,
  taskAlreadyFinished,
  taskBelongsToRun,
  taskNotFound,
  taskNotInStatus,
} from './task.errors';

export interface Actor {
  userId: string;
}

export type RequeueReason = 'lease-expired' | 'worker-lost' | 'handed-back' | 'heartbeat-silence' | 'stalled';
export type WorkOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'handed_back' | 'budget_exceeded';

export type TaskCommand =
  /**
   * `idempotency`: the client's key and its request's hash (task-idempotency.ts); `taskId` is then
   * the key's. Repeating it with the same request decides nothing (the caller answers with the task).
   */
  | { kind: 'CreateTask'; taskId: string; actor: Actor; task: CreateTaskBody; now: Date; idempotency?: { key: string; requestHash: string } }
  /**
   * From a run's NodeScheduled event. The id is derived from (run, node, iteration, generation),
   * so a redelivered or replayed event finds the task and decides nothing: one task per node run.
   */
  | { kind: 'CreateWorkflowTask'; taskId: string; ownerId: string; task: NodeTask; workflow: TaskWorkflowRef; now: Date }
  /** From a run's NodeCancelled event: cancels the task if it still belongs to that run and is unfinished. */
  | { kind: 'CancelWorkflowTask'; runId: string; now: Date }
  | { kind: 'UpdateTask'; actor: Actor; patch: UpdateTaskBody; now: Date }
  | { kind: 'CancelTask'; actor: Actor; now: Date }
  | { kind: 'RetryTask'; actor: Actor; now: Date }
  | { kind: 'DeleteTask'; actor: Actor; now: Date }
  /** From AllocationDecided. `leaseMs`: how long the worker has to report `started`. */
  | { kind: 'AssignTask'; allocationId: string; attempt: number; workerId: string; leaseMs: number; now: Date }
  | { kind: 'ReportStarted'; attempt: number; workerId: string; now: Date }
  | { kind: 'ReportFinished'; attempt: number; workerId: string; outcome: WorkOutcome; result: TaskResult; now: Date }
  /** The worker's watchdog flagged the attempt: silent for `silentSeconds` as of `at` (the worker's clock). */
  | { kind: 'ReportStalled'; attempt: number; workerId: string; silentSeconds: number; at: string; now: Date }
  /**
   * Takes the task back from `workerId` at `attempt`; a no-op when it has moved on since.
   * `workerLostAt`: when the worker was declared lost; a task assigned to it after that instant
   * stays (the worker was back by then: allocation only picks online workers).
   */
  | { kind: 'RequeueTask'; reason: RequeueReason; attempt: number; workerId: string; workerLostAt?: Date; now: Date }
  /** `queue`: queued too long. `run`: running past timeoutSeconds + graceSeconds. */
  | { kind: 'TimeOutTask'; timeout: 'queue' | 'run'; attempt: number; graceSeconds: number; now: Date }
  /**
   * A queued task that must not be dispatched (its owner reached a per-user limit after it was
   * queued): fails it with `reason` instead of assigning it; a no-op once it moved on.
   */
  | { kind: 'RefuseQueuedTask'; attempt: number; reason: string; now: Date };

/** Restarts a task's stalls may cause; the next stall that asks for one fails the task. */
export const MAX_STALL_RESTARTS = 3;

/** Cap of the requeue backoff (design: min(2^(n-1) s, 60 s)). */
export const MAX_BACKOFF_SECONDS = 60;

/** Seconds to wait before attempt n + 1 after attempt n was taken back. */
export function requeueBackoffSeconds(fromAttempt: number): number {
  return Math.min(2 ** Math.max(0, fromAttempt - 1), MAX_BACKOFF_SECONDS);
}

const userRetryable: readonly TaskStatus[] = ['failed', 'timed_out', 'cancelled', 'budget_exceeded'];
const finished: readonly TaskStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded'];

/** An event with its payload checked against the contracts' schema, so nothing malformed is ever stored. */
function event<T extends TaskEventType>(type: T, data: TaskEventData[T]): DecidedTaskEvent {
  // The cast only pairs the generic T with its payload, which taskEvents has just checked.
  return { type, data: taskEvents.check(type, data) } as DecidedTaskEvent;
}

/** The run id a workflow task's started and terminal events carry (the relay puts it in the subject). */
function runOf(s: TaskState): { runId?: string } {
  return s.workflow ? { runId: s.workflow.runId } : {};
}

const iso = (d: Date): string => d.toISOString();
const plusMs = (d: Date, ms: number): string => new Date(d.getTime() + ms).toISOString();
const reached = (deadline: string | null, now: Date): boolean => deadline !== null && Date.parse(deadline) <= now.getTime();

/** The task as its owner may act on it: absent, someone else's and deleted all look the same. */
function ownTask(state: TaskState, actor: Actor): TaskState {
  if (!state.exists || state.deleted || state.ownerId !== actor.userId) throw taskNotFound();
  return state;
}

export function decide(command: TaskCommand, state: TaskState): DecidedTaskEvent[] {
  switch (command.kind) {
    case 'CreateTask':
      return create(command, state);
    case 'CreateWorkflowTask': {
      if (state.exists) return [];
      const t = command.task;
      return [
        event('TaskCreated', {
          taskId: command.taskId,
          ownerId: command.ownerId,
          description: t.description,
          tool: t.tool,
          input: t.input,
          priority: t.priority,
          timeoutSeconds: t.timeoutSeconds,
          maxAttempts: t.maxAttempts,
          queueTimeoutSeconds: taskLimits.queueTimeoutSeconds.default,
          heartbeatTimeoutSeconds: taskLimits.heartbeatTimeoutSeconds.default,
          requirements: t.requirements,
          workflow: command.workflow,
        }),
        event('TaskQueued', { taskId: command.taskId, attempt: 1, reason: 'created' }),
      ];
    }
    case 'CancelWorkflowTask': {
      const s = state;
      if (!s.exists || s.workflow?.runId !== command.runId || isFinished(s.status)) return [];
      return [event('TaskCancelled', { taskId: s.id, attempt: s.attempt, workerId: s.workerId, byUserId: `run:${command.runId}`, ...runOf(s) })];
    }
    case 'UpdateTask': {
      const s = ownTask(state, command.actor);
      if (s.status !== 'queued') throw taskNotInStatus('update', s.status, ['queued']);
      const patch: TaskEventData['TaskUpdated'] = { taskId: s.id };
      if (command.patch.description !== undefined && command.patch.description !== s.description) patch.description = command.patch.description;
      if (command.patch.priority !== undefined && command.patch.priority !== s.priority) patch.priority = command.patch.priority;
      return Object.keys(patch).length === 1 ? [] : [event('TaskUpdated', patch)];
    }
    case 'CancelTask': {
      const s = ownTask(state, command.actor);
      if (isFinished(s.status)) throw taskAlreadyFinished(s.status);
      return [event('TaskCancelled', { taskId: s.id, attempt: s.attempt, workerId: s.workerId, byUserId: command.actor.userId, ...runOf(s) })];
    }
    case 'RetryTask': {
      const s = ownTask(state, command.actor);
      // A run decides its nodes' tasks: a retry outside it would run work the run no longer waits for.
      if (s.workflow) throw taskBelongsToRun(s.workflow.runId, s.workflow.nodeId);
      if (!userRetryable.includes(s.status)) throw taskNotInStatus('retry', s.status, userRetryable);
      // evolve raises maxAttempts to this attempt when needed: a retry always gets one run.
      return [event('TaskQueued', { taskId: s.id, attempt: s.attempt + 1, reason: 'retried' })];
    }
    case 'DeleteTask': {
      const s = ownTask(state, command.actor);
      if (!isFinished(s.status)) throw taskNotInStatus('delete', s.status, finished);
      return [event('TaskDeleted', { taskId: s.id, byUserId: command.actor.userId })];
    }
    case 'AssignTask': {
      const s = state;
      // A decision for another attempt, a task no longer queued, or one still in its backoff:
      // nothing to do. A repeated decision finds the task assigned already.
      if (!s.exists || s.status !== 'queued' || s.attempt !== command.attempt) return [];
      if (s.notBefore !== null && !reached(s.notBefore, command.now)) return [];
      return [
        event('TaskAssigned', {
          taskId: s.id,
          workerId: command.workerId,
          attempt: command.attempt,
          allocationId: command.allocationId,
          leaseExpiresAt: plusMs(command.now, command.leaseMs),
        }),
      ];
    }
    case 'ReportStarted': {
      const s = state;
      if (!s.exists) return [];
      const stale = fence(s, 'started', command.attempt, command.workerId);
      if (stale) return stale;
      // Running already (a duplicate) or ended meanwhile (cancelled, timed out): nothing to record.
      if (s.status !== 'assigned') return [];
      return [event('TaskStarted', { taskId: s.id, workerId: command.workerId, attempt: command.attempt, startedAt: iso(command.now), ...runOf(s) })];
    }
    case 'ReportFinished':
      return reportFinished(command, state);
    case 'ReportStalled':
      return reportStalled(command, state);
    case 'RequeueTask': {
      const s = state;
      if (!s.exists || s.attempt !== command.attempt || s.workerId !== command.workerId) return [];
      if (command.reason === 'lease-expired') {
        if (s.status !== 'assigned' || !reached(s.leaseExpiresAt, command.now)) return [];
      } else if (s.status !== 'assigned' && s.status !== 'running') return [];
      // A WorkerWentOffline handled late (we were down, or the worker flapped) must not take
      // back work the worker received after it came back.
      if (command.workerLostAt && s.assignedAt !== null && Date.parse(s.assignedAt) > command.workerLostAt.getTime()) return [];
      return requeue(s, command.reason, command.now);
    }
    case 'RefuseQueuedTask': {
      const s = state;
      if (!s.exists || s.deleted || s.status !== 'queued' || s.attempt !== command.attempt) return [];
      return [event('TaskFailed', { taskId: s.id, attempt: s.attempt, workerId: null, result: null, reason: command.reason, ...runOf(s) })];
    }
    case 'TimeOutTask': {
      const s = state;
      if (!s.exists || s.attempt !== command.attempt) return [];
      if (command.timeout === 'queue') {
        if (s.status !== 'queued' || s.queuedAt === null) return [];
        if (!reached(plusMs(new Date(s.queuedAt), s.queueTimeoutSeconds * 1000), command.now)) return [];
        return [event('TaskTimedOut', { taskId: s.id, attempt: s.attempt, kind: 'queue', workerId: null, ...runOf(s) })];
      }
      if (s.status !== 'running' || s.startedAt === null) return [];
      if (!reached(plusMs(new Date(s.startedAt), (s.timeoutSeconds + command.graceSeconds) * 1000), command.now)) return [];
      return [event('TaskTimedOut', { taskId: s.id, attempt: s.attempt, kind: 'run', workerId: s.workerId, ...runOf(s) })];
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled task command ${JSON.stringify(never)}`);
    }
  }
}

function create(command: Extract<TaskCommand, { kind: 'CreateTask' }>, state: TaskState): DecidedTaskEvent[] {
  if (state.exists) return repeatedCreate(command, state);
  const t = command.task;
  return [
    event('TaskCreated', {
      taskId: command.taskId,
      ownerId: command.actor.userId,
      description: t.description,
      tool: t.tool,
      input: t.input,
      priority: t.priority,
      timeoutSeconds: t.timeoutSeconds,
      maxAttempts: t.maxAttempts,
      queueTimeoutSeconds: t.queueTimeoutSeconds,
      heartbeatTimeoutSeconds: t.heartbeatTimeoutSeconds,
      requirements: t.requirements,
      ...(command.idempotency ? { idempotency: command.idempotency } : {}),
    }),
    event('TaskQueued', { taskId: command.taskId, attempt: 1, reason: 'created' }),
  ];
}

/** A create on a task that exists: only the same user's same key with the same request is a repeat. */
function repeatedCreate(command: Extract<TaskCommand, { kind: 'CreateTask' }>, state: TaskState): DecidedTaskEvent[] {
  const key = command.idempotency;
  if (!key || state.ownerId !== command.actor.userId || state.idempotency?.key !== key.key) throw taskAlreadyExists();
  if (state.idempotency.requestHash !== key.requestHash) throw idempotencyKeyReused();
  if (state.deleted) throw idempotentTaskDeleted();
  return [];
}

function reportFinished(command: Extract<TaskCommand, { kind: 'ReportFinished' }>, s: TaskState): DecidedTaskEvent[] {
  if (!s.exists) return [];
  const stale = fence(s, 'result', command.attempt, command.workerId);
  if (stale) return stale;
  // Ended already: a duplicate result, or the worker confirming a cancel or timeout we decided.
  if (s.status !== 'assigned' && s.status !== 'running') return [];
  const base = { taskId: s.id, attempt: s.attempt, workerId: command.workerId, ...runOf(s) };
  const r = command.result;
  switch (command.outcome) {
    case 'succeeded':
      return [event('TaskSucceeded', { ...base, result: r })];
    case 'failed':
      return [event('TaskFailed', { ...base, result: r, reason: r.error ?? (r.exitCode === null ? 'the tool failed' : `exited with code ${r.exitCode}`) })];
    case 'timed_out':
      return [event('TaskTimedOut', { ...base, kind: 'run' })];
    case 'budget_exceeded':
      // A failure of a kind (TaskFailed, so every consumer already treats it as terminal), with its own status.
      return [event('TaskFailed', { ...base, result: r, reason: r.error ?? 'budget_exceeded: the task passed one of its caps', kind: 'budget_exceeded' })];
    case 'cancelled':
      // The agent stopped it on its own (we had not cancelled: that case ended above). No user
      // did; the contracts' field is a user id, so the worker is named instead.
      return [event('TaskCancelled', { ...base, byUserId: `worker:${command.workerId}` })];
    case 'handed_back':
      return requeue(s, 'handed-back', command.now);
    default: {
      const never: never = command.outcome;
      throw new Error(`unhandled outcome ${String(never)}`);
    }
  }
}

function reportStalled(command: Extract<TaskCommand, { kind: 'ReportStalled' }>, s: TaskState): DecidedTaskEvent[] {
  if (!s.exists) return [];
  const stale = fence(s, 'stalled', command.attempt, command.workerId);
  if (stale) return stale;
  if (s.status !== 'assigned' && s.status !== 'running') return [];
  // A redelivered report, or one older than the stall already recorded: nothing new.
  if (s.lastStall?.attempt === command.attempt && Date.parse(command.at) <= Date.parse(s.lastStall.at)) return [];
  const action = watchdogActionOf(s.input);
  const stalled = event('TaskStalled', {
    taskId: s.id,
    attempt: s.attempt,
    workerId: command.workerId,
    silentSeconds: command.silentSeconds,
    action,
    at: command.at,
  });
  if (action !== 'restart') return [stalled];
  if (s.stallRestarts >= MAX_STALL_RESTARTS) {
    const reason = `stalled: no output, CPU or file change for ${command.silentSeconds} s; restarted ${s.stallRestarts} times for stalls already`;
    return [stalled, event('TaskFailed', { taskId: s.id, attempt: s.attempt, workerId: s.workerId, result: null, reason, ...runOf(s) })];
  }
  return [stalled, ...requeue(s, 'stalled', command.now)];
}

/** What the task's own watchdog policy does on a stall; a stall flagged by the worker's default only notifies. */
function watchdogActionOf(input: Record<string, unknown>): WatchdogAction {
  const policy = watchdogSchema.safeParse(input.watchdog);
  return policy.success ? policy.data.action : 'notify';
}

/**
 * The fence: a report for another attempt, or from a worker that does not hold the task, is
 * recorded once for auditors and changes nothing. Returns undefined when the report is current.
 */
function fence(s: TaskState, report: 'started' | 'result' | 'stalled', attempt: number, workerId: string): DecidedTaskEvent[] | undefined {
  let reason: string | undefined;
  if (attempt !== s.attempt) reason = `attempt ${attempt} is not the current attempt ${s.attempt}`;
  else if (s.workerId !== workerId)
    reason = s.workerId === null ? `attempt ${attempt} is not assigned to any worker` : `attempt ${attempt} is assigned to another worker`;
  if (reason === undefined) return undefined;
  if (s.rejectedReports.includes(rejectedReportKey(report, attempt, workerId))) return [];
  return [event('TaskReportRejected', { taskId: s.id, attempt, currentAttempt: s.attempt, workerId, report, reason })];
}

/** Back to the queue with the next attempt and a backoff, or failed when no attempt is left. */
function requeue(s: TaskState, reason: RequeueReason, now: Date): DecidedTaskEvent[] {
  if (s.attempt >= s.maxAttempts) {
    return [
      event('TaskFailed', {
        taskId: s.id,
        attempt: s.attempt,
        workerId: s.workerId,
        result: null,
        reason: `out of attempts: attempt ${s.attempt} of ${s.maxAttempts} ended by ${reason}`,
        ...runOf(s),
      }),
    ];
  }
  return [
    event('TaskRequeued', { taskId: s.id, fromAttempt: s.attempt, reason, workerId: s.workerId }),
    event('TaskQueued', { taskId: s.id, attempt: s.attempt + 1, reason: 'requeued', notBefore: plusMs(now, requeueBackoffSeconds(s.attempt) * 1000) }),
  ];
}

/** The decider as @agentyard/event-sourcing runs it. */
export const taskDecider: Decider<TaskState, TaskCommand, TaskEvent> = { initialState, evolve, decide, events: taskEvents };
