/*
 * The dispatcher turns task events into work orders for agents, on `work.assign.<workerId>`:
 *  - TaskAssigned → Assignment (tool, input and timeouts from the task's folded state);
 *  - TaskCancelled with a worker → Cancellation, and likewise for a run timeout we decided and
 *    for a requeue that took the task from a live-or-lost worker: whatever still runs that
 *    attempt should stop (its reports are fenced off anyway).
 * Invariant: the order's msg id is the event's id, so a redelivered event is deduplicated by
 * the WORK stream. An Assignment is sent only while the task is still assigned (or running) at
 * that attempt on that worker: a dispatcher catching up after an outage sends no stale work.
 * Tested in test/tasks.int.spec.ts (decisions, cancel, worker offline, timeouts, restart).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Envelope, WorkOrder } from '@agentyard/contracts';
import { dataOf } from '../domain/task';
import { TaskCommandRunner } from './task-command.runner';

export const WORK_ORDERS = Symbol('WORK_ORDERS');

/** Where work orders go (the WORK stream in production). */
export interface WorkOrderSink {
  publish(workerId: string, order: WorkOrder, msgId: string): Promise<void>;
}

export type DispatchOutcome = 'assignment' | 'cancellation' | 'stale' | 'none';

@Injectable()
export class WorkDispatcher {
  constructor(
    private readonly commands: TaskCommandRunner,
    @Inject(WORK_ORDERS) private readonly orders: WorkOrderSink,
  ) {}

  async onTaskEvent(event: Envelope): Promise<DispatchOutcome> {
    switch (event.type) {
      case 'TaskAssigned': {
        const d = dataOf(event, 'TaskAssigned');
        const { state } = await this.commands.load(d.taskId);
        const current = state.attempt === d.attempt && state.workerId === d.workerId && (state.status === 'assigned' || state.status === 'running');
        if (!current) return 'stale';
        await this.orders.publish(
          d.workerId,
          {
            kind: 'assign',
            taskId: d.taskId,
            attempt: d.attempt,
            tool: state.tool,
            input: state.input,
            description: state.description,
            timeoutSeconds: state.timeoutSeconds,
            heartbeatTimeoutSeconds: state.heartbeatTimeoutSeconds,
          },
          event.id,
        );
        return 'assignment';
      }
      case 'TaskCancelled': {
        const d = dataOf(event, 'TaskCancelled');
        // A cancel the agent reported itself needs no order back.
        if (d.workerId === null || d.byUserId === `worker:${d.workerId}`) return 'none';
        return this.cancel(d.workerId, d.taskId, d.attempt, event.id);
      }
      case 'TaskTimedOut': {
        const d = dataOf(event, 'TaskTimedOut');
        return d.kind === 'run' && d.workerId !== null ? this.cancel(d.workerId, d.taskId, d.attempt, event.id) : 'none';
      }
      case 'TaskRequeued': {
        const d = dataOf(event, 'TaskRequeued');
        // A worker that handed the task back is not running it.
        return d.workerId !== null && d.reason !== 'handed-back' ? this.cancel(d.workerId, d.taskId, d.fromAttempt, event.id) : 'none';
      }
      default:
        return 'none';
    }
  }

  private async cancel(workerId: string, taskId: string, attempt: number, msgId: string): Promise<DispatchOutcome> {
    await this.orders.publish(workerId, { kind: 'cancel', taskId, attempt }, msgId);
    return 'cancellation';
  }
}
