/*
 * Allocation's view of each task, projected from the tasks service's events (TASKS stream):
 * who owns it, what it needs, and where it stands for allocation — waiting to be placed
 * (`pending`), placed on a worker (`decided` by us, `assigned`, `running`), or out of the way.
 *
 * Pure `evolve(row | null, event)`; the repository applies events of one task strictly in stream
 * order (see TaskRepository.applyInOrder), so a redelivered event changes nothing and a gap waits.
 */
import { uuidSource, type Envelope, type TaskRequirements, type ToolName } from '@agentyard/contracts';

export const taskStatuses = ['created', 'pending', 'decided', 'assigned', 'running', 'waiting', 'finished', 'deleted'] as const;
/**
 * created: known, not yet queued · pending: queued, awaiting a decision · decided: allocation chose
 * a worker, TaskAssigned not seen yet · assigned / running: per the tasks service · waiting:
 * requeued, its next TaskQueued not seen yet · finished: terminal · deleted: hidden from queries.
 */
export type TaskStatus = (typeof taskStatuses)[number];

export interface TaskState {
  taskId: string;
  /** Last applied version of stream `task-<taskId>`. */
  version: number;
  ownerId: string | null;
  tool: ToolName | null;
  requirements: TaskRequirements;
  model: string | null;
  priority: number;
  createdAt: string | null;
  status: TaskStatus;
  attempt: number;
  notBefore: string | null;
  /** Id of the TaskQueued event of the current attempt (causation of our decision). */
  queuedEventId: string | null;
  correlationId: string | null;
  /** Worker the current attempt is placed on (decided / assigned / running), else null. */
  workerId: string | null;
  boundAt: string | null;
  /** Latest worker the task was placed on and when, kept after it finishes (affinity). */
  lastWorkerId: string | null;
  lastBoundAt: string | null;
  /**
   * attempt → the worker that ran it and whether it pushed its workspace branch: where
   * `agentyard/<taskId>-<attempt>` lives (a worker's mirror only, unless pushed). Bounded by the
   * task's maxAttempts.
   */
  attempts: Record<string, AttemptPlacement>;
  /** The earlier attempt whose workspace branch this task's `input.workspace.ref` names, if any. */
  continues: BranchRef | null;
}

export interface AttemptPlacement {
  workerId: string;
  /** Its result said `workspace.pushed`: the branch is on the remote too. */
  pushed: boolean;
}

/** A task attempt's workspace branch, `agentyard/<taskId>-<attempt>`. */
export interface BranchRef {
  taskId: string;
  attempt: number;
  /**
   * The follow-up resumes that attempt's tool session (`input.resumeSession`): the session is kept
   * with the attempt's worktree, on the worker that ran it and nowhere else, pushed or not.
   */
  session?: boolean;
}

/** The branch the agent gives an attempt (worker/src/workspace): ids are UUIDs, attempts small positive integers. */
const attemptBranchPattern = new RegExp(`^agentyard/(${uuidSource})-([1-9][0-9]{0,5})$`);

/** The attempt a workspace ref names when it is exactly an agent's branch; anything else is a plain ref. */
export function parseAttemptBranch(ref: unknown): BranchRef | null {
  if (typeof ref !== 'string') return null;
  const m = attemptBranchPattern.exec(ref);
  return m ? { taskId: m[1]!, attempt: Number(m[2]) } : null;
}

/** `agentyard/<taskId>-<attempt>`, as the agent names it. */
export function attemptBranch(ref: BranchRef): string {
  return `agentyard/${ref.taskId}-${ref.attempt}`;
}

function blank(taskId: string): TaskState {
  return {
    taskId,
    version: 0,
    ownerId: null,
    tool: null,
    requirements: {},
    model: null,
    priority: 50,
    createdAt: null,
    status: 'created',
    attempt: 0,
    notBefore: null,
    queuedEventId: null,
    correlationId: null,
    workerId: null,
    boundAt: null,
    lastWorkerId: null,
    lastBoundAt: null,
    attempts: {},
    continues: null,
  };
}

const unbound = { workerId: null, boundAt: null } as const;

/** Applies one task event (already validated against its contract schema). */
export function evolveTask(row: TaskState | null, event: Envelope): TaskState {
  const data = event.data;
  const current = row ?? blank(String(data.taskId ?? event.streamId.replace(/^task-/, '')));
  const s: TaskState = { ...current, version: event.streamVersion };
  switch (event.type) {
    case 'TaskCreated': {
      const input = (data.input ?? {}) as Record<string, unknown>;
      const workspace = (input.workspace ?? null) as Record<string, unknown> | null;
      const branch = workspace && typeof workspace === 'object' ? parseAttemptBranch(workspace.ref) : null;
      const resumes = typeof input.resumeSession === 'string' && input.resumeSession !== '';
      return {
        ...s,
        ownerId: String(data.ownerId),
        tool: data.tool as ToolName,
        requirements: (data.requirements ?? {}) as TaskRequirements,
        model: typeof input.model === 'string' && input.model !== '' ? input.model : null,
        priority: Number(data.priority),
        createdAt: event.occurredAt,
        continues: branch && resumes ? { ...branch, session: true } : branch,
      };
    }
    case 'TaskQueued':
      return {
        ...s,
        ...unbound,
        status: 'pending',
        attempt: Number(data.attempt),
        notBefore: typeof data.notBefore === 'string' ? data.notBefore : null,
        queuedEventId: event.id,
        correlationId: event.metadata.correlationId,
      };
    case 'TaskUpdated':
      return typeof data.priority === 'number' ? { ...s, priority: data.priority } : s;
    case 'TaskAssigned':
    case 'TaskStarted': {
      const at = event.type === 'TaskStarted' && typeof data.startedAt === 'string' ? data.startedAt : event.occurredAt;
      const workerId = String(data.workerId);
      const attempt = Number(data.attempt);
      return {
        ...s,
        status: event.type === 'TaskAssigned' ? 'assigned' : 'running',
        attempt,
        attempts: { ...s.attempts, [attempt]: { workerId, pushed: s.attempts[attempt]?.pushed ?? false } },
        workerId,
        boundAt: at,
        lastWorkerId: workerId,
        lastBoundAt: at,
      };
    }
    case 'TaskRequeued':
      return { ...s, ...unbound, status: 'waiting' };
    case 'TaskSucceeded':
    case 'TaskFailed': {
      const attempt = Number(data.attempt);
      const ran = s.attempts[attempt];
      const workerId = typeof data.workerId === 'string' ? data.workerId : ran?.workerId;
      const result = (data.result ?? null) as { workspace?: { pushed?: unknown } } | null;
      const attempts = workerId ? { ...s.attempts, [attempt]: { workerId, pushed: result?.workspace?.pushed === true } } : s.attempts;
      return { ...s, ...unbound, status: 'finished', attempts };
    }
    case 'TaskTimedOut':
    case 'TaskCancelled':
      return { ...s, ...unbound, status: 'finished' };
    case 'TaskDeleted':
      return { ...s, ...unbound, status: 'deleted' };
    default:
      return s;
  }
}

/**
 * True when a task event cannot change the picture of the workers an allocation pass decides
 * against (allocation-loop.ts reuses it between passes): a task created, or entering the queue
 * with no time to wait for. Anything else — a task placed, started, finished, requeued, waiting
 * for a time (the pass schedules a wake-up), or an event type unknown here — may.
 */
export function leavesWorkersPictureAlone(event: Envelope): boolean {
  return (
    event.type === 'TaskCreated' ||
    event.type === 'TaskReportRejected' ||
    event.type === 'TaskStalled' ||
    (event.type === 'TaskQueued' && event.data.notBefore == null)
  );
}
