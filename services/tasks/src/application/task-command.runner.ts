/*
 * The one way a task's state changes: load its stream, fold, decide, append at the version read
 * (handleCommand retries on VersionConflict, deciding again on fresh state). Handlers reply from
 * the folded state it returns, so a caller sees its own write even while task_view lags.
 * A task's commands come in a burst (create, assign, started, finished within seconds), so the
 * states of recent tasks are cached: most commands append without reading the stream first
 * (StateCache: a stale entry costs a reload, never a wrong decision). A new task's stream is
 * not read at all — its id was just made up.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata, Envelope } from '@agentyard/contracts';
import { fold, handleCommand, StateCache, type HandleCommandResult } from '@agentyard/event-sourcing';
import type { EventStore } from '@agentyard/event-store';
import { taskStreamId, type TaskEvent, type TaskState } from '../domain/task';
import { taskDecider, type TaskCommand } from '../domain/task.decide';

export const TASK_EVENT_STORE = Symbol('TASK_EVENT_STORE');
export const TASK_VIEW_SYNC = Symbol('TASK_VIEW_SYNC');

/** What handlers may ask of the task_view projection. */
export interface TaskViewSync {
  /** Project new events now instead of after the idle wait. */
  nudge(): void;
  /** Resolves once every event committed before the call is projected. */
  catchUp(): Promise<void>;
}

/** Called with the events a command stored and the state they fold to; must not throw. */
export type AfterAppend = (events: TaskEvent[], state: TaskState) => Promise<void>;

@Injectable()
export class TaskCommandRunner {
  private readonly cache = new StateCache<TaskState>(5_000);
  private readonly afterAppendHooks: AfterAppend[] = [];

  constructor(
    @Inject(TASK_EVENT_STORE) private readonly store: EventStore,
    @Inject(TASK_VIEW_SYNC) private readonly view: TaskViewSync,
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
      assumeNew: command.kind === 'CreateTask',
    });
    if (result.events.length > 0) {
      this.view.nudge();
      for (const hook of this.afterAppendHooks) await hook(result.events, result.state);
    }
    return result;
  }

  /** Runs `hook` after every command that stored events (the dispatcher's fast path). */
  afterAppend(hook: AfterAppend): void {
    this.afterAppendHooks.push(hook);
  }

  /** The task's events and the state they fold to (an absent task folds to `exists: false`). */
  async load(taskId: string): Promise<{ state: TaskState; events: Envelope[] }> {
    const events = await this.store.readStream(taskStreamId(taskId));
    return { state: fold(taskDecider, events), events };
  }
}
