/*
 * Who may see what, for the WebSocket (brief §10: no object-level leaks). Built from the event
 * feed: TaskCreated gives a task's owner, WorkerRegistered/WorkerRoleGranted a worker's users,
 * TaskAssigned a task's current attempt and worker (output of older attempts, or sent by another
 * worker than the one running the attempt, is not forwarded). For ids
 * seen before this gateway started, it asks the owning service with the user as actor — a 404
 * means "not yours" — and caches the answer. Maps are bounded (oldest dropped first).
 */
import { DomainError, taskSubjects, workerSubjects, workflowSubjects, type Envelope } from '@agentyard/contracts';
import type { NatsRpcClient } from '@agentyard/messaging';
import { setBounded } from '@agentyard/service-kit';

const LIMIT = 200_000;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  setBounded(map, key, value, LIMIT);
}

export class OwnershipIndex {
  private readonly taskOwner = new Map<string, string>();
  private readonly taskRun = new Map<string, { attempt: number; workerId: string }>();
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
        remember(this.taskRun, String(d.taskId), { attempt: Number(d.attempt), workerId: String(d.workerId) });
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
        break;
    }
  }

  /** Drops everything learned or asked (the feed stopped: it may all be stale when it restarts). */
  forget(): void {
    this.taskOwner.clear();
    this.taskRun.clear();
    this.workerUsers.clear();
    this.workflowOwner.clear();
    this.asked.clear();
  }

  /** The current attempt of a task and the worker it was assigned to, when known. */
  runOf(taskId: string): { attempt: number; workerId: string } | undefined {
    return this.taskRun.get(taskId);
  }

  async mayUserSeeTask(userId: string, taskId: string): Promise<boolean> {
    const owner = this.taskOwner.get(taskId);
    if (owner !== undefined) return owner === userId;
    return this.ask(userId, 'task', taskId, () => this.rpc.request(taskSubjects.get, { actor: { userId }, taskId }, { timeoutMs: 2_000 }));
  }

  async mayUserSeeWorker(userId: string, workerId: string): Promise<boolean> {
    const users = this.workerUsers.get(workerId);
    if (users !== undefined) return users.has(userId);
    return this.ask(userId, 'worker', workerId, () => this.rpc.request(workerSubjects.get, { actor: { userId }, workerId }, { timeoutMs: 2_000 }));
  }

  /** A run or workflow: its owner only (RunStarted / WorkflowCreated, else the workflows service). */
  private async mayUserSeeWorkflowThing(userId: string, kind: 'run' | 'workflow', id: string): Promise<boolean> {
    const owner = this.workflowOwner.get(id);
    if (owner !== undefined) return owner === userId;
    return this.ask(userId, kind, id, () =>
      kind === 'run'
        ? this.rpc.request(workflowSubjects.getRun, { actor: { userId }, runId: id }, { timeoutMs: 2_000 })
        : this.rpc.request(workflowSubjects.get, { actor: { userId }, workflowId: id }, { timeoutMs: 2_000 }),
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
