/*
 * Who may see what, for the WebSocket (brief §10: no object-level leaks). Built from the event
 * feed: TaskCreated gives a task's owner, WorkerRegistered/WorkerRoleGranted a worker's users,
 * TaskAssigned a task's current attempt and the worker running it, and the events that end an
 * attempt (requeued, finished, cancelled, deleted) or queue the next one say that nobody runs it.
 * Live output is forwarded only from a worker KNOWN to run the task's current attempt: for a
 * chunk the events cannot vouch for (this gateway started following later, or the chunk beat
 * TaskAssigned to it) it asks the tasks service (GetTask, as the owner; at most once a second
 * per task) instead of trusting the chunk. For ids seen before this gateway started, it asks the owning service with the user as
 * actor — a 404 means "not yours" — and caches the answer. Maps are bounded (oldest dropped
 * first), and concurrent questions about one task share one request.
 * Tested in test/edge-security.e2e.spec.ts ("live output").
 */
import { DomainError, rpcCatalog, type Envelope, type TaskView } from '@agentyard/contracts';
import type { NatsRpcClient } from '@agentyard/messaging';
import { setBounded } from '@agentyard/service-kit';

const LIMIT = 200_000;

/** Who runs a task's current attempt; `running: false` once nobody does (queued, finished). */
export interface TaskRun {
  attempt: number;
  workerId: string | null;
  running: boolean;
  /** Queued: attempt `attempt` may be assigned at any moment (so this gateway may be behind). */
  awaitingAssignment: boolean;
}

/** Events after which no worker runs the task (TaskQueued: until attempt `attempt` is assigned). */
const attemptEnded = new Set(['TaskRequeued', 'TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskCancelled', 'TaskDeleted']);

/** A task whose run was asked about this recently is not asked about again (a flood of forged chunks costs one request a second). */
const ASK_AGAIN_AFTER_MS = 1_000;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  setBounded(map, key, value, LIMIT);
}

export class OwnershipIndex {
  private readonly taskOwner = new Map<string, string>();
  private readonly taskRun = new Map<string, TaskRun>();
  /** GetTask requests under way, by user and task: a burst of chunks for one task asks once. */
  private readonly fetching = new Map<string, Promise<TaskView | undefined>>();
  /** When each task's run was last asked about (for chunks the events could not vouch for). */
  private readonly runAskedAt = new Map<string, number>();
  private readonly workerUsers = new Map<string, Set<string>>();
  /** Run or workflow id → owner (from RunStarted / WorkflowCreated). */
  private readonly workflowOwner = new Map<string, string>();
  /** `${userId}:${kind}:${id}` → verdict from asking the owning service. */
  private readonly asked = new Map<string, boolean>();

  constructor(private readonly rpc: NatsRpcClient) {}

  /** Learns from one event (call for every event before deciding who receives it). */
  observe(event: Envelope): void {
    const d = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'TaskCreated':
        remember(this.taskOwner, String(d.taskId), String(d.ownerId));
        break;
      case 'TaskAssigned':
        remember(this.taskRun, String(d.taskId), { attempt: Number(d.attempt), workerId: String(d.workerId), running: true, awaitingAssignment: false });
        break;
      case 'TaskQueued':
        remember(this.taskRun, String(d.taskId), { attempt: Number(d.attempt), workerId: null, running: false, awaitingAssignment: true });
        break;
      case 'RunStarted':
        remember(this.workflowOwner, String(d.runId), String(d.ownerId));
        break;
      case 'WorkflowCreated':
        remember(this.workflowOwner, String(d.workflowId), String(d.ownerId));
        break;
      case 'WorkerRegistered':
        remember(this.workerUsers, String(d.workerId), new Set([String(d.ownerId)]));
        break;
      case 'WorkerRoleGranted': {
        // Only added to a worker whose users we know; otherwise a partial set (just this user)
        // would hide the worker from its owner. An earlier "no" for this user is stale now.
        this.workerUsers.get(String(d.workerId))?.add(String(d.userId));
        this.asked.delete(`${String(d.userId)}:worker:${String(d.workerId)}`);
        break;
      }
      default:
        if (attemptEnded.has(event.type)) {
          const run = this.taskRun.get(String(d.taskId));
          const attempt = Number(d.attempt ?? d.fromAttempt ?? run?.attempt ?? 0);
          remember(this.taskRun, String(d.taskId), { attempt, workerId: run?.workerId ?? null, running: false, awaitingAssignment: false });
        }
        break;
    }
  }

  /** Drops everything learned or asked (the feed stopped: it may all be stale when it restarts). */
  forget(): void {
    this.taskOwner.clear();
    this.taskRun.clear();
    this.fetching.clear();
    this.runAskedAt.clear();
    this.workerUsers.clear();
    this.workflowOwner.clear();
    this.asked.clear();
  }

  /** The current attempt of a task and whether a worker runs it, when known. */
  runOf(taskId: string): TaskRun | undefined {
    return this.taskRun.get(taskId);
  }

  /**
   * Whether `workerId` runs attempt `attempt` of the task right now. When the events have not
   * told this gateway, it asks the tasks service as `ownerId` (who must be the task's owner);
   * unknown or unreachable is a no.
   */
  async runsCurrentAttempt(ownerId: string, taskId: string, attempt: number, workerId: string): Promise<boolean> {
    const known = this.taskRun.get(taskId);
    // The events vouch for a chunk when they know its attempt (running, or over). A chunk for an
    // attempt they have not seen assigned yet may be newer than they are: ask, at most once a second.
    const mayBeBehind = known === undefined || (known.awaitingAssignment ? attempt >= known.attempt : attempt > known.attempt);
    if (mayBeBehind && Date.now() - (this.runAskedAt.get(taskId) ?? 0) >= ASK_AGAIN_AFTER_MS) {
      remember(this.runAskedAt, taskId, Date.now());
      await this.fetchTask(ownerId, taskId).catch(() => undefined);
    }
    const run = this.taskRun.get(taskId);
    return run !== undefined && run.running && run.attempt === attempt && run.workerId === workerId;
  }

  async mayUserSeeTask(userId: string, taskId: string): Promise<boolean> {
    const owner = this.taskOwner.get(taskId);
    if (owner !== undefined) return owner === userId;
    return this.ask(userId, 'task', taskId, () => this.fetchTask(userId, taskId));
  }

  /**
   * GetTask as `userId` (throws NOT_FOUND when it is not theirs). What it says about the owner
   * and the current attempt is learnt, unless the events already told more: a later attempt, or
   * this attempt running or over (the answer may have been read before that event).
   */
  private fetchTask(userId: string, taskId: string): Promise<TaskView | undefined> {
    const key = `${userId}:${taskId}`;
    const pending = this.fetching.get(key);
    if (pending) return pending;
    const request = this.rpc
      .call(rpcCatalog.tasks.get, { actor: { userId }, taskId }, { timeoutMs: 2_000 })
      .then((view) => {
        if (!this.taskOwner.has(taskId)) remember(this.taskOwner, taskId, view.ownerId);
        const known = this.taskRun.get(taskId);
        if (known === undefined || view.attempt > known.attempt || (view.attempt === known.attempt && known.awaitingAssignment)) {
          const running = view.status === 'assigned' || view.status === 'running';
          remember(this.taskRun, taskId, { attempt: view.attempt, workerId: view.workerId, running, awaitingAssignment: view.status === 'queued' });
        }
        return view;
      })
      .finally(() => this.fetching.delete(key));
    this.fetching.set(key, request);
    return request;
  }

  async mayUserSeeWorker(userId: string, workerId: string): Promise<boolean> {
    const users = this.workerUsers.get(workerId);
    if (users !== undefined) return users.has(userId);
    return this.ask(userId, 'worker', workerId, () => this.rpc.call(rpcCatalog.workers.get, { actor: { userId }, workerId }, { timeoutMs: 2_000 }));
  }

  /** A run or workflow: its owner only (RunStarted / WorkflowCreated, else the workflows service). */
  private async mayUserSeeWorkflowThing(userId: string, kind: 'run' | 'workflow', id: string): Promise<boolean> {
    const owner = this.workflowOwner.get(id);
    if (owner !== undefined) return owner === userId;
    return this.ask(userId, kind, id, () =>
      kind === 'run'
        ? this.rpc.call(rpcCatalog.workflows.getRun, { actor: { userId }, runId: id }, { timeoutMs: 2_000 })
        : this.rpc.call(rpcCatalog.workflows.get, { actor: { userId }, workflowId: id }, { timeoutMs: 2_000 }),
    );
  }

  /** Whether `userId` may receive `event`. */
  async mayReceive(userId: string, event: Envelope): Promise<boolean> {
    const d = event.data as Record<string, unknown>;
    if (event.streamId.startsWith('task-') || event.streamId.startsWith('allocation-')) return this.mayUserSeeTask(userId, String(d.taskId));
    if (event.streamId.startsWith('worker-')) return this.mayUserSeeWorker(userId, String(d.workerId));
    if (event.streamId.startsWith('run-')) return this.mayUserSeeWorkflowThing(userId, 'run', event.streamId.slice(4));
    if (event.streamId.startsWith('workflow-')) return this.mayUserSeeWorkflowThing(userId, 'workflow', event.streamId.slice(9));
    // Auth events (stream user-<id>) and anything else: only the user the event is about.
    return event.metadata.userId === userId;
  }

  private async ask(userId: string, kind: string, id: string, call: () => Promise<unknown>): Promise<boolean> {
    const key = `${userId}:${kind}:${id}`;
    const cached = this.asked.get(key);
    if (cached !== undefined) return cached;
    let verdict: boolean;
    try {
      await call();
      verdict = true;
    } catch (e) {
      // Not found (or forbidden) is an answer worth caching; an unreachable service is not.
      if (!(e instanceof DomainError) || (e.code !== 'NOT_FOUND' && e.code !== 'FORBIDDEN')) return false;
      verdict = false;
    }
    remember(this.asked, key, verdict);
    return verdict;
  }
}
