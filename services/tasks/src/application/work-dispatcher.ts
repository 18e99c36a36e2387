/*
 * The dispatcher turns task events into work orders for agents, on `work.assign.<workerId>`:
 *  - TaskAssigned → Assignment (tool, input and timeouts from the task's folded state);
 *  - TaskCancelled with a worker → Cancellation, and likewise for a run timeout we decided and
 *    for a requeue that took the task from a live-or-lost worker: whatever still runs that
 *    attempt should stop (its reports are fenced off anyway).
 * Invariant: the order's msg id is the event's id, so a redelivered event is deduplicated by
 * the WORK stream. The assign handler sends the Assignment at once from the state it just
 * appended (`dispatchAssigned`, the fast path: no relay and consumer hop before the agent hears
 * of it); the TaskAssigned event arriving here later then only confirms it — from memory when
 * this process sent it, else by sending again under the same msg id (a no-op on the stream). An Assignment is sent only while the task is still assigned (or running) at
 * that attempt on that worker: a dispatcher catching up after an outage sends no stale work.
 * Tested in test/tasks.int.spec.ts (decisions, cancel, worker offline, timeouts, restart).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Envelope, WorkOrder } from '@agentyard/contracts';
import { dataOf, type TaskState } from '../domain/task';
import { TaskCommandRunner } from './task-command.runner';

export const WORK_ORDERS = Symbol('WORK_ORDERS');

/** Where work orders go (the WORK stream in production). */
export interface WorkOrderSink {
  publish(workerId: string, order: WorkOrder, msgId: string): Promise<void>;
}

export type DispatchOutcome = 'assignment' | 'cancellation' | 'stale' | 'none';

/** TaskAssigned ids whose Assignment this process sent on the fast path (bounded, oldest dropped). */
const REMEMBERED = 10_000;

@Injectable()
export class WorkDispatcher {
  private readonly sent = new Set<string>();

  constructor(
    private readonly commands: TaskCommandRunner,
    @Inject(WORK_ORDERS) private readonly orders: WorkOrderSink,
  ) {}

  async onTaskEvent(event: Envelope): Promise<DispatchOutcome> {
    switch (event.type) {
      case 'TaskAssigned': {
        if (this.sent.has(event.id)) return 'assignment';
        const { state } = await this.commands.load(dataOf(event, 'TaskAssigned').taskId);
        return this.dispatchAssigned(event, state);
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

  /** Sends the Assignment of a TaskAssigned `event` if `state` (the task's, at or after it) still holds it. */
  async dispatchAssigned(event: Envelope, state: TaskState): Promise<DispatchOutcome> {
    const d = dataOf(event, 'TaskAssigned');
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
    this.sent.add(event.id);
    if (this.sent.size > REMEMBERED) this.sent.delete(this.sent.values().next().value!);
    return 'assignment';
  }

  private async cancel(workerId: string, taskId: string, attempt: number, msgId: string): Promise<DispatchOutcome> {
    await this.orders.publish(workerId, { kind: 'cancel', taskId, attempt }, msgId);
    return 'cancellation';
  }
}
