/*
 * AllocationDecided → AssignTask. The decider ignores a decision that arrives while the task is
 * still in its requeue backoff (notBefore). Allocation waits for notBefore before it decides, and
 * it does not decide a task twice, so an early decision would strand the task until its queue
 * timeout. As a safety net the decision is held here until the backoff ends — at most
 * `assignWaitMaxMs` (20 s by default; the consumer's ack wait covers it) — and then decided on
 * fresh state (the decider said "nothing to do" the first time). Tested in test/tasks.int.spec.ts
 * ("when its worker goes offline").
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata } from '@agentyard/contracts';
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
    @Inject(TASKS_SETTINGS) private readonly settings: TasksSettings,
  ) {}

  /** Assigns the task to the decided worker when it is still queued at that attempt; otherwise does nothing. */
  async execute(decision: AllocationDecision, metadata: CorrelationMetadata): Promise<void> {
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
}
