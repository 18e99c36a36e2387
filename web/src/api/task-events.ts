/*
 * Folds a live task event into the task row we already hold, so tables and detail pages change
 * the moment the event arrives. Events older than the row (by stream version) are ignored, so a
 * late frame never moves a task backwards. Pure; tested in task-events.unit.spec.ts.
 */
import type { Envelope, Task, TaskStatus } from './client';

/** Display name of every status; a Record, so a status added to the API fails the type check here. */
export const statusLabels: Record<TaskStatus, string> = {
  queued: 'Queued',
  assigned: 'Assigned',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  timed_out: 'Timed out',
  cancelled: 'Cancelled',
  budget_exceeded: 'Over budget',
};
export const taskStatuses = Object.keys(statusLabels) as TaskStatus[];
export const terminalStatuses: readonly TaskStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded'];
export const activeStatuses: readonly TaskStatus[] = ['queued', 'assigned', 'running'];

export const isTerminal = (s: TaskStatus): boolean => terminalStatuses.includes(s);

/** The task id an event is about, when it is a task or allocation event. */
export function taskIdOf(event: Envelope): string | null {
  const id = event.data.taskId;
  return typeof id === 'string' ? id : null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
/** The workers an allocation decision weighed: those it lists and those it counts (v2 records count the rest). */
const workersWeighed = (d: Record<string, unknown>): number =>
  (Array.isArray(d.candidates) ? d.candidates.length : 0) +
  (Array.isArray(d.others) ? d.others.reduce((sum: number, o: unknown) => sum + (num((o as { count?: unknown }).count) ?? 0), 0) : 0);

/** A task row built from its TaskCreated event, before the list is refetched. */
export function taskFromCreated(event: Envelope): Task | null {
  const d = event.data;
  const id = str(d.taskId);
  if (event.type !== 'TaskCreated' || !id) return null;
  return {
    id,
    ownerId: str(d.ownerId) ?? '',
    description: str(d.description) ?? '',
    tool: (str(d.tool) ?? 'shell') as Task['tool'],
    input: (d.input as Task['input']) ?? {},
    priority: num(d.priority) ?? 50,
    status: 'queued',
    attempt: 0,
    maxAttempts: num(d.maxAttempts) ?? 1,
    timeoutSeconds: num(d.timeoutSeconds) ?? 0,
    requirements: (d.requirements as Task['requirements']) ?? {},
    workerId: null,
    progress: null,
    result: null,
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
    startedAt: null,
    finishedAt: null,
    version: event.streamVersion,
    workflow: (d.workflow as Task['workflow'] | undefined) ?? null,
    stalls: 0,
    stalledAt: null,
  };
}

/** The task after `event`, or the same object when the event does not change it. */
export function applyTaskEvent(task: Task, event: Envelope): Task {
  if (taskIdOf(event) !== task.id || !event.streamId.startsWith('task-')) return task;
  if (event.streamVersion <= task.version) return task;
  const d = event.data;
  const at = event.occurredAt;
  const base = { ...task, version: event.streamVersion, updatedAt: at };
  const finished = (status: TaskStatus, extra: Partial<Task> = {}): Task => ({ ...base, status, finishedAt: at, ...extra });
  switch (event.type) {
    case 'TaskQueued':
      return {
        ...base,
        status: 'queued',
        attempt: num(d.attempt) ?? task.attempt,
        workerId: null,
        progress: null,
        startedAt: null,
        finishedAt: null,
        result: null,
      };
    case 'TaskAssigned':
      return { ...base, status: 'assigned', attempt: num(d.attempt) ?? task.attempt, workerId: str(d.workerId) };
    case 'TaskStarted':
      return { ...base, status: 'running', startedAt: str(d.startedAt) ?? at, workerId: str(d.workerId) ?? task.workerId };
    case 'TaskRequeued':
      return { ...base, status: 'queued', workerId: null, progress: null };
    case 'TaskSucceeded':
      return finished('succeeded', { result: (d.result as Task['result']) ?? task.result, progress: 100 });
    case 'TaskFailed':
      // A TaskFailed of kind budget_exceeded: the worker stopped the tool at one of the task's caps.
      return finished(d.kind === 'budget_exceeded' ? 'budget_exceeded' : 'failed', { result: (d.result as Task['result']) ?? task.result });
    case 'TaskTimedOut':
      return finished('timed_out');
    case 'TaskCancelled':
      return finished('cancelled');
    case 'TaskUpdated':
      return { ...base, description: str(d.description) ?? task.description, priority: num(d.priority) ?? task.priority };
    default:
      return base;
  }
}

/** Words a person reads in the activity feed and the timeline. */
export function describeEvent(event: Envelope): string {
  const d = event.data;
  const attempt = num(d.attempt);
  const worker = str(d.workerId);
  const short = (id: string | null) => (id ? id.slice(0, 8) : '—');
  switch (event.type) {
    case 'TaskCreated':
      return `Task created: ${str(d.description) ?? ''}`;
    case 'TaskQueued':
      return `Queued${attempt ? ` for attempt ${attempt}` : ''}${d.reason && d.reason !== 'created' ? ` (${String(d.reason)})` : ''}`;
    case 'TaskAssigned':
      return `Assigned to worker ${short(worker)} (attempt ${attempt ?? '?'})`;
    case 'TaskStarted':
      return `Started on worker ${short(worker)}`;
    case 'TaskSucceeded':
      return 'Succeeded';
    case 'TaskFailed':
      return d.kind === 'budget_exceeded' ? `Over budget: ${str(d.reason) ?? 'a cap was passed'}` : `Failed: ${str(d.reason) ?? 'unknown reason'}`;
    case 'TaskTimedOut':
      return `Timed out (${str(d.kind) ?? 'run'})`;
    case 'TaskCancelled':
      return 'Cancelled';
    case 'TaskRequeued':
      return `Requeued after attempt ${num(d.fromAttempt) ?? '?'} (${str(d.reason) ?? ''})`;
    case 'TaskUpdated':
      return 'Updated';
    case 'TaskDeleted':
      return 'Deleted';
    case 'TaskReportRejected':
      return `Stale report rejected from attempt ${attempt ?? '?'}`;
    case 'AllocationDecided':
      return `Allocation: worker ${short(worker)} chosen from ${workersWeighed(d)} worker(s)`;
    case 'AllocationDeferred':
      return 'Allocation deferred: no eligible worker yet';
    case 'WorkerRegistered':
      return `Worker registered: ${str(d.name) ?? short(worker)}`;
    case 'WorkerWentOnline':
      return `Worker ${short(worker)} online`;
    case 'WorkerWentOffline':
      return `Worker ${short(worker)} offline (${str(d.reason) ?? ''})`;
    case 'WorkerDrained':
      return `Worker ${short(worker)} drained`;
    case 'WorkerResumed':
      return `Worker ${short(worker)} resumed`;
    default:
      return event.type.replace(/([a-z])([A-Z])/g, '$1 $2');
  }
}
