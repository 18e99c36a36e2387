/*
 * The dispatcher turns task events into work orders for agents, on `work.assign.<workerId>`:
 *  - TaskAssigned → Assignment (tool, input and timeouts from the task's folded state);
 *  - TaskCancelled with a worker → Cancellation, and likewise for a run timeout we decided, for
 *    a requeue that took the task from a live-or-lost worker, and for a failure we decided
 *    without the worker's result (out of attempts, out of stall restarts): whatever still runs
 *    that attempt should stop (its reports are fenced off anyway).
 * Two paths, one order per event:
 *  - fast: every command's appended events are dispatched as soon as they are stored, from the
 *    state the command folded (`dispatchAppended`, one of the AFTER_APPEND steps tasks.module.ts
 *    gives TaskCommandRunner) — no relay and consumer hop before the agent hears of it;
 *  - safety net: the events come round on the TASKS stream (`onTaskEvent`); one this process
 *    already sent is skipped from memory, any other is sent again under the same msg id.
 * Invariant: the order's msg id is the event's id, so a repeat is deduplicated by the WORK
 * stream. An Assignment is sent only while the task is still assigned (or running) at that
 * attempt on that worker: a dispatcher catching up after an outage sends no stale work.
 * Tested in test/tasks.int.spec.ts (decisions, cancel, worker offline, timeouts, restart).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { WorkOrder } from '@agentyard/contracts';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import type { EventStore } from '@agentyard/event-store';
import type { TaskEvent, TaskState } from '../domain/task';
import { loadTask, TASK_EVENT_STORE } from './task-command.runner';

export const WORK_ORDERS = Symbol('WORK_ORDERS');

/** Where work orders go (the WORK stream in production). */
export interface WorkOrderSink {
  publish(workerId: string, order: WorkOrder, msgId: string): Promise<void>;
}

export type DispatchOutcome = 'assignment' | 'cancellation' | 'stale' | 'none';

/** The events that can lead to an order (`dispatch`'s cases): the safety net's consumer parses only these. */
export const DISPATCHED_EVENTS = ['TaskAssigned', 'TaskCancelled', 'TaskTimedOut', 'TaskFailed', 'TaskRequeued'] as const;

type DispatchedEvent = Extract<TaskEvent, { type: (typeof DISPATCHED_EVENTS)[number] }>;
const dispatched: ReadonlySet<string> = new Set(DISPATCHED_EVENTS);
const isDispatched = (event: TaskEvent): event is DispatchedEvent => dispatched.has(event.type);
const unhandled = (event: never): DispatchOutcome => {
  throw new Error(`no dispatch case for ${(event as TaskEvent).type}`);
};

/** Ids of events this process dispatched on the fast path (bounded, oldest dropped). */
const REMEMBERED = 10_000;

@Injectable()
export class WorkDispatcher {
  private readonly sent = new Set<string>();

  constructor(
    // The store, not TaskCommandRunner: the runner runs this dispatcher after its appends.
    @Inject(TASK_EVENT_STORE) private readonly store: EventStore,
    @Inject(WORK_ORDERS) private readonly orders: WorkOrderSink,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  /** The safety net: an event from the TASKS stream. */
  async onTaskEvent(event: TaskEvent): Promise<DispatchOutcome> {
    if (this.sent.has(event.id)) return 'none';
    return this.dispatch(event);
  }

  /** The fast path: events a command just stored, with the state it folded them to (an AfterAppend step). */
  async dispatchAppended(events: TaskEvent[], state: TaskState): Promise<void> {
    for (const event of events) {
      try {
        if ((await this.dispatch(event, state)) !== 'none') this.remember(event.id);
      } catch (error) {
        // The event is stored: the safety net sends the order when it comes round.
        this.logger.warn(
          { err: error, taskId: state.id, eventId: event.id, type: event.type },
          'fast work-order publish failed; the dispatcher will send it from the event',
        );
      }
    }
  }

  /** The order `event` leads to, sent; `state` (at or after the event) spares a stream read. */
  private async dispatch(event: TaskEvent, state?: TaskState): Promise<DispatchOutcome> {
    if (!isDispatched(event)) return 'none';
    switch (event.type) {
      case 'TaskAssigned': {
        const current = state ?? (await loadTask(this.store, event.data.taskId)).state;
        return this.assign(event, current);
      }
      case 'TaskCancelled': {
        const d = event.data;
        // A cancel the agent reported itself needs no order back.
        if (d.workerId === null || d.byUserId === `worker:${d.workerId}`) return 'none';
        return this.cancel(d.workerId, d.taskId, d.attempt, event.id);
      }
      case 'TaskTimedOut': {
        const d = event.data;
        return d.kind === 'run' && d.workerId !== null ? this.cancel(d.workerId, d.taskId, d.attempt, event.id) : 'none';
      }
      case 'TaskFailed': {
        const d = event.data;
        // A result means the worker reported the failure: its attempt has ended already.
        return d.result === null && d.workerId !== null ? this.cancel(d.workerId, d.taskId, d.attempt, event.id) : 'none';
      }
      case 'TaskRequeued': {
        const d = event.data;
        // A worker that handed the task back is not running it.
        return d.workerId !== null && d.reason !== 'handed-back' ? this.cancel(d.workerId, d.taskId, d.fromAttempt, event.id) : 'none';
      }
      default:
        // Every DISPATCHED_EVENTS type has its case above (the consumer drops the others unread).
        return unhandled(event);
    }
  }

  /** Sends the Assignment of a TaskAssigned `event` if `state` (the task's, at or after it) still holds it. */
  private async assign(event: Extract<TaskEvent, { type: 'TaskAssigned' }>, state: TaskState): Promise<DispatchOutcome> {
    const d = event.data;
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
        ownerId: state.ownerId,
      },
      event.id,
    );
    return 'assignment';
  }

  private remember(eventId: string): void {
    this.sent.add(eventId);
    if (this.sent.size > REMEMBERED) this.sent.delete(this.sent.values().next().value!);
  }

  private async cancel(workerId: string, taskId: string, attempt: number, msgId: string): Promise<DispatchOutcome> {
    await this.orders.publish(workerId, { kind: 'cancel', taskId, attempt }, msgId);
    return 'cancellation';
  }
}
