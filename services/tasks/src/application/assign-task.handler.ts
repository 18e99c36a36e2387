/*
 * AllocationDecided → AssignTask. The decider ignores a decision that arrives while the task is
 * still in its requeue backoff (notBefore). Allocation waits for notBefore before it decides, and
 * it does not decide a task twice, so an early decision would strand the task until its queue
 * timeout. As a safety net the decision is held here until the backoff ends — at most
 * `assignWaitMaxMs` (20 s by default; the consumer's ack wait covers it) — and then decided on
 * fresh state (the decider said "nothing to do" the first time). Tested in test/tasks.int.spec.ts
 * ("when its worker goes offline").
 * Once TaskAssigned is stored, the Assignment goes to the agent at once (WorkDispatcher's fast
 * path). If that publish fails, the dispatcher sends it when the event comes round on JetStream.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata } from '@agentyard/contracts';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import { TaskCommandRunner } from './task-command.runner';
import { WorkDispatcher } from './work-dispatcher';
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
    private readonly dispatcher: WorkDispatcher,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  /** Assigns the task to the decided worker when it is still queued at that attempt; otherwise does nothing. */
  async execute(decision: AllocationDecision, metadata: CorrelationMetadata): Promise<void> {
    const assign = () =>
      this.commands.run(
        decision.taskId,
        { kind: 'AssignTask', allocationId: decision.allocationId, attempt: decision.attempt, workerId: decision.workerId, leaseMs: this.settings.leaseMs, now: new Date() },
        metadata,
      );
    let result = await assign();
    const { state } = result;
    if (result.events.length === 0 && state.exists && state.status === 'queued' && state.attempt === decision.attempt && state.notBefore !== null) {
      const wait = Date.parse(state.notBefore) - Date.now();
      if (wait > 0 && wait <= this.settings.assignWaitMaxMs) {
        // A timer may fire a millisecond early by Date.now(): the margin keeps the retry past notBefore.
        await new Promise((r) => setTimeout(r, wait + 5));
        result = await assign();
      }
    }
    const assigned = result.events.find((e) => e.type === 'TaskAssigned');
    if (!assigned) return;
    await this.dispatcher.dispatchAssigned(assigned, result.state).catch((error: unknown) => {
      this.logger.warn({ err: error, taskId: decision.taskId }, 'fast assignment publish failed; the dispatcher will send it from the event');
    });
  }
}
