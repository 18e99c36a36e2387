/*
 * The one way a task's state changes: load its stream, fold, decide, append at the version read
 * (handleCommand retries on VersionConflict, deciding again on fresh state). Handlers reply from
 * the folded state it returns, so a caller sees its own write even while task_view lags.
 * A task's commands come in a burst (create, assign, started, finished within seconds), so the
 * states of recent tasks are cached: most commands append without reading the stream first
 * (StateCache: a stale entry costs a reload, never a wrong decision). A new task's stream is
 * not read at all — its id was just made up.
 * What happens once a command's events are stored is not up to the runner: it runs the
 * AFTER_APPEND steps it is given, in order, and tasks.module.ts lists them where a reader sees
 * them (nudge the task_view projection, dispatch work orders, delete a deleted task's artifacts).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata, Envelope } from '@agentyard/contracts';
import { fold, handleCommand, StateCache, type HandleCommandResult } from '@agentyard/event-sourcing';
import type { EventStore } from '@agentyard/event-store';
import { taskStreamId, type TaskEvent, type TaskState } from '../domain/task';
import { taskDecider, type TaskCommand } from '../domain/task.decide';

export const TASK_EVENT_STORE = Symbol('TASK_EVENT_STORE');
export const TASK_VIEW_SYNC = Symbol('TASK_VIEW_SYNC');
/** The steps run after every command that stored events, in order (an `AfterAppend[]`). */
export const AFTER_APPEND = Symbol('AFTER_APPEND');

/** What handlers may ask of the task_view projection. */
export interface TaskViewSync {
  /** Project new events now instead of after the idle wait. */
  nudge(): void;
  /** Resolves once every event committed before the call is projected. */
  catchUp(): Promise<void>;
}

/** Called with the events a command stored and the state they fold to; must not throw. */
export type AfterAppend = (events: TaskEvent[], state: TaskState) => Promise<void>;

/** The step that projects new events into task_view now instead of after the idle wait. */
export function nudgeView(view: TaskViewSync): AfterAppend {
  return async () => view.nudge();
}

/** A task's events and the state they fold to (an absent task folds to `exists: false`). */
export async function loadTask(store: EventStore, taskId: string): Promise<{ state: TaskState; events: Envelope[] }> {
  const events = await store.readStream(taskStreamId(taskId));
  return { state: fold(taskDecider, events), events };
}

@Injectable()
export class TaskCommandRunner {
  private readonly cache = new StateCache<TaskState>(5_000);

  constructor(
    @Inject(TASK_EVENT_STORE) private readonly store: EventStore,
    @Inject(AFTER_APPEND) private readonly afterAppend: readonly AfterAppend[],
  ) {}

  /** Decides `command` against the task's stream and appends what it decided. */
  async run(taskId: string, command: TaskCommand, metadata: CorrelationMetadata): Promise<HandleCommandResult<TaskState, TaskEvent>> {
    const result = await handleCommand({
      store: this.store,
      streamId: taskStreamId(taskId),
      decider: taskDecider,
      command,
      metadata,
      // occurredAt and the decision's clock are the same instant.
      now: () => command.now,
      cache: this.cache,
      // A keyed create's id comes from the client's Idempotency-Key: its stream may exist.
      assumeNew: command.kind === 'CreateTask' && command.idempotency === undefined,
    });
    if (result.events.length > 0) for (const step of this.afterAppend) await step(result.events, result.state);
    return result;
  }

  /** The task's events and the state they fold to (an absent task folds to `exists: false`). */
  load(taskId: string): Promise<{ state: TaskState; events: Envelope[] }> {
    return loadTask(this.store, taskId);
  }
}
