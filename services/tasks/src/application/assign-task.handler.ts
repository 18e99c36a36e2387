/*
 * AllocationDecided → AssignTask. The decider ignores a decision that arrives while the task is
 * still in its requeue backoff (notBefore). Allocation waits for notBefore before it decides, and
 * it does not decide a task twice, so an early decision would strand the task until its queue
 * timeout. As a safety net the decision is held here until the backoff ends — at most
 * `assignWaitMaxMs` (20 s by default; the consumer's ack wait covers it) — and then decided on
 * fresh state (the decider said "nothing to do" the first time). Tested in test/tasks.int.spec.ts
 * ("when its worker goes offline").
 *
 * Before assigning, the owner's daily cost limit is checked again (the create-time check let the
 * task in, but spending may have landed while it queued): over it, the task fails with the reason
 * instead of being dispatched (user-limits.ts `dispatchRefusal`).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata } from '@agentyard/contracts';
import { dispatchRefusal } from '../domain/user-limits';
import { UsageRepository } from '../infrastructure/usage.repository';
import { TaskCommandRunner } from './task-command.runner';
import { TASKS_SETTINGS, type TasksSettings } from './tasks.settings';

export interface AllocationDecision {
  allocationId: string;
  taskId: string;
  attempt: number;
  workerId: string;
}

@Injectable()
export class AssignTaskHandler {
  constructor(
    private readonly commands: TaskCommandRunner,
    private readonly usage: UsageRepository,
    @Inject(TASKS_SETTINGS) private readonly settings: TasksSettings,
  ) {}

  /** Assigns the task to the decided worker when it is still queued at that attempt; otherwise does nothing. */
  async execute(decision: AllocationDecision, metadata: CorrelationMetadata): Promise<void> {
    if (await this.refused(decision, metadata)) return;
    const assign = () =>
      this.commands.run(
        decision.taskId,
        {
          kind: 'AssignTask',
          allocationId: decision.allocationId,
          attempt: decision.attempt,
          workerId: decision.workerId,
          leaseMs: this.settings.leaseMs,
          now: new Date(),
        },
        metadata,
      );
    const { events, state } = await assign();
    if (events.length === 0 && state.exists && state.status === 'queued' && state.attempt === decision.attempt && state.notBefore !== null) {
      const wait = Date.parse(state.notBefore) - Date.now();
      if (wait > 0 && wait <= this.settings.assignWaitMaxMs) {
        // A timer may fire a millisecond early by Date.now(): the margin keeps the retry past notBefore.
        await new Promise((r) => setTimeout(r, wait + 5));
        await assign();
      }
    }
  }

  /** Fails the task instead of assigning it when its owner is over the daily cost limit; true when it did. */
  private async refused(decision: AllocationDecision, metadata: CorrelationMetadata): Promise<boolean> {
    const limits = this.settings.userLimits;
    if (limits.dailyCostUsd === null) return false;
    const { state } = await this.commands.load(decision.taskId);
    if (!state.exists || state.status !== 'queued' || state.attempt !== decision.attempt) return false;
    const now = new Date();
    const reason = dispatchRefusal(limits, await this.usage.costOn(state.ownerId, now.toISOString().slice(0, 10)), now);
    if (reason === null) return false;
    await this.commands.run(decision.taskId, { kind: 'RefuseQueuedTask', attempt: decision.attempt, reason, now }, metadata);
    return true;
  }
}
