import { Inject, Injectable } from '@nestjs/common';
import { newId, type CorrelationMetadata, type CreateTaskBody, type TaskView } from '@agentyard/contracts';
import { toTaskView } from '../domain/task';
import { keyedTaskId, requestHashOf } from '../domain/task-idempotency';
import type { Actor } from '../domain/task.decide';
import { refuseOverLimit, refuseOverQueue } from '../domain/user-limits';
import { TaskViewRepository } from '../infrastructure/task-view.repository';
import { UsageRepository } from '../infrastructure/usage.repository';
import { TASK_VIEW_SYNC, TaskCommandRunner, type TaskViewSync } from './task-command.runner';
import { TASKS_SETTINGS, type TasksSettings } from './tasks.settings';

@Injectable()
export class CreateTaskHandler {
  constructor(
    private readonly commands: TaskCommandRunner,
    private readonly tasks: TaskViewRepository,
    private readonly usage: UsageRepository,
    @Inject(TASK_VIEW_SYNC) private readonly view: TaskViewSync,
    @Inject(TASKS_SETTINGS) private readonly settings: TasksSettings,
  ) {}

  /** The platform's queue depth as last counted, and when (performance.now()). */
  private queued: { count: number; at: number; reading?: Promise<number> } = { count: 0, at: -Infinity };

  /**
   * Creates and queues a task; replies with the view folded from the new events (the read model
   * may lag). With an Idempotency-Key the task's id is the key's: a repeat of the same request
   * answers with the task it created (`replayed`), before any limit is checked — the task is
   * already counted — and the same key with another request is refused.
   */
  async execute(
    command: { actor: Actor; task: CreateTaskBody; idempotencyKey?: string },
    metadata: CorrelationMetadata,
  ): Promise<TaskView & { replayed?: boolean }> {
    const now = new Date();
    const { actor, task, idempotencyKey } = command;
    const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, requestHash: requestHashOf(task) };
    const taskId = idempotencyKey === undefined ? newId() : keyedTaskId(actor.userId, idempotencyKey);
    const create = { kind: 'CreateTask', taskId, actor, task, now, ...(idempotency ? { idempotency } : {}) } as const;
    if (idempotency && (await this.commands.load(taskId)).state.exists) {
      // Decided on the stored task: nothing (a repeat) or a refusal (another request, another user's id).
      const { state } = await this.commands.run(taskId, create, metadata);
      return { ...toTaskView(state), replayed: true };
    }
    await Promise.all([this.checkQueue(), this.checkLimits(actor.userId, now)]);
    const { state, events } = await this.commands.run(taskId, create, metadata);
    if (events.length === 0) return { ...toTaskView(state), replayed: true }; // a racing repeat created it meanwhile
    this.queued.count++;
    return toTaskView(state);
  }

  /**
   * The global queue limit. Counting on every create would add a query to the hot path; the count
   * is read at most every queueCountTtlMs (one read shared by the creates that want it meanwhile)
   * and this service's own creates are added to it in between.
   */
  private async checkQueue(): Promise<void> {
    if (this.settings.maxQueued === null) return;
    if (performance.now() - this.queued.at > queueCountTtlMs) {
      // After a catch-up, so the count holds every task this service created before.
      this.queued.reading ??= this.view
        .catchUp()
        .then(() => this.tasks.countQueued())
        .finally(() => (this.queued.reading = undefined));
      const count = await this.queued.reading;
      if (performance.now() - this.queued.at > queueCountTtlMs) this.queued = { count, at: performance.now() };
    }
    const refusal = refuseOverQueue(this.settings.maxQueued, this.queued.count);
    if (refusal) throw refusal;
  }

  private async checkLimits(userId: string, now: Date): Promise<void> {
    const limits = this.settings.userLimits;
    if (limits.maxActiveTasks === null && limits.dailyCostUsd === null) return;
    const day = now.toISOString().slice(0, 10);
    const [activeTasks, costTodayUsd] = await Promise.all([
      limits.maxActiveTasks === null ? 0 : this.activeTasks(userId, limits.maxActiveTasks),
      limits.dailyCostUsd === null ? 0 : this.usage.costOn(userId, day),
    ]);
    const refusal = refuseOverLimit(limits, { activeTasks, costTodayUsd }, now);
    if (refusal) throw refusal;
  }

  /**
   * The user's unfinished tasks as the read model counts them. Far below the limit its lag of a
   * few milliseconds cannot matter; near it, the count waits for the read model to hold every task
   * created before, so a user's own creates in a row see each other (and the common case pays one
   * indexed count, not a catch-up, on every create).
   */
  private async activeTasks(userId: string, max: number): Promise<number> {
    const quick = await this.tasks.countActive(userId);
    if (quick < max - nearLimit) return quick;
    await this.view.catchUp();
    return this.tasks.countActive(userId);
  }
}

/** How close to the unfinished-task limit a count must be exact. */
const nearLimit = 50;
/** How old the platform's queue count may be. */
const queueCountTtlMs = 500;
