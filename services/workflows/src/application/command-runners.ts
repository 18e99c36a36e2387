/*
 * The one way a workflow's or a run's state changes: load its stream (or take the cached fold),
 * decide, append at the version read (reload and decide again on VersionConflict).
 *
 * Runs are hot: a fan-in of a thousand tasks delivers a thousand results to one stream within
 * seconds. Commands for one run are therefore queued in this process and each turn takes every
 * command queued meanwhile as ONE batch — decided in order, appended together (handleCommands).
 * So results never race each other into version conflicts here, and a burst costs a few appends.
 * Another instance writing the same run still only costs a conflict and a reload.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata, Envelope, WorkflowDefinition } from '@agentyard/contracts';
import { DomainError } from '@agentyard/contracts';
import { fold, handleCommand, handleCommands, StateCache, type HandleCommandResult } from '@agentyard/event-sourcing';
import type { EventStore } from '@agentyard/event-store';
import { runStreamId, type RunState } from '../domain/run';
import { runDecider, type RunCommand } from '../domain/run.decide';
import { workflowDecider, workflowStreamId, type WorkflowCommand, type WorkflowState } from '../domain/workflow.decide';
import { WorkflowMetrics } from './workflow.metrics';

export const WORKFLOWS_EVENT_STORE = Symbol('WORKFLOWS_EVENT_STORE');
export const READ_MODEL_SYNC = Symbol('READ_MODEL_SYNC');

/** What handlers may ask of the read-model projection. */
export interface ReadModelSync {
  /** Project new events now instead of after the idle wait. */
  nudge(): void;
  /** Resolves once every event committed before the call is projected. */
  catchUp(): Promise<void>;
}

@Injectable()
export class WorkflowCommandRunner {
  private readonly cache = new StateCache<WorkflowState>(2_000);

  constructor(
    @Inject(WORKFLOWS_EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_SYNC) private readonly views: ReadModelSync,
  ) {}

  async run(workflowId: string, command: WorkflowCommand, metadata: CorrelationMetadata): Promise<HandleCommandResult<WorkflowState>> {
    const result = await handleCommand({
      store: this.store,
      streamId: workflowStreamId(workflowId),
      decider: workflowDecider,
      command,
      metadata,
      now: () => command.now,
      cache: this.cache,
      assumeNew: command.kind === 'CreateWorkflow',
    });
    if (result.events.length > 0) this.views.nudge();
    return result;
  }

  async load(workflowId: string): Promise<{ state: WorkflowState; events: Envelope[] }> {
    const events = await this.store.readStream(workflowStreamId(workflowId));
    return { state: fold(workflowDecider, events), events };
  }

  /** The definition the workflow had at `version` (every save is kept). */
  async definitionAt(workflowId: string, version: number): Promise<WorkflowDefinition> {
    const { events } = await this.load(workflowId);
    for (const e of events) {
      if (e.type === 'WorkflowCreated' && version === 1) return e.data.definition as WorkflowDefinition;
      if (e.type === 'WorkflowVersionSaved' && e.data.version === version) return e.data.definition as WorkflowDefinition;
    }
    throw new DomainError('NOT_FOUND', `the workflow has no version ${version}`);
  }
}

interface Queued {
  command: RunCommand;
  metadata: CorrelationMetadata;
  /** The caller just made up this run's id: StartRun may skip reading the stream. */
  assumeNew: boolean;
  resolve: (result: HandleCommandResult<RunState>) => void;
  reject: (error: unknown) => void;
}

@Injectable()
export class RunCommandRunner {
  private readonly cache = new StateCache<RunState>(1_000);
  private readonly queues = new Map<string, Queued[]>();

  constructor(
    @Inject(WORKFLOWS_EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_SYNC) private readonly views: ReadModelSync,
    private readonly metrics: WorkflowMetrics,
  ) {}

  /** Decides `command` on the run (queued behind this process's other commands for it). */
  run(runId: string, command: RunCommand, metadata: CorrelationMetadata, options: { assumeNew?: boolean } = {}): Promise<HandleCommandResult<RunState>> {
    return new Promise((resolve, reject) => {
      const item = { command, metadata, assumeNew: options.assumeNew === true, resolve, reject };
      const queue = this.queues.get(runId);
      if (queue) {
        queue.push(item);
        return;
      }
      this.queues.set(runId, [item]);
      // Start on the next microtask: commands handed over in the same turn (a batch of results
      // from the consumer) are then decided and appended together.
      queueMicrotask(() => void this.drain(runId));
    });
  }

  private async drain(runId: string): Promise<void> {
    for (;;) {
      const queue = this.queues.get(runId)!;
      if (queue.length === 0) {
        this.queues.delete(runId);
        return;
      }
      // A start goes on its own (it may skip the load); anything else queued goes together.
      const nextStart = queue.findIndex((q, i) => i > 0 && q.command.kind === 'StartRun');
      const batch = queue[0]!.command.kind === 'StartRun' ? queue.splice(0, 1) : queue.splice(0, nextStart === -1 ? queue.length : nextStart);
      try {
        const outcomes = await handleCommands({
          store: this.store,
          streamId: runStreamId(runId),
          decider: runDecider,
          commands: batch.map((q) => q.command),
          metadata: batch.map((q) => q.metadata),
          now: () => batch.at(-1)!.command.now,
          cache: this.cache,
          assumeNew: batch.length === 1 && batch[0]!.assumeNew,
          observeAppend: (seconds) => this.metrics.runAppend.observe(seconds),
        });
        if (outcomes.some((o) => o.ok && o.events.length > 0)) this.views.nudge();
        outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve({ state: o.state, events: o.events, version: o.version }) : batch[i]!.reject(o.error)));
      } catch (error) {
        for (const q of batch) q.reject(error);
      }
    }
  }

  async load(runId: string): Promise<{ state: RunState; events: Envelope[] }> {
    const events = await this.store.readStream(runStreamId(runId));
    return { state: fold(runDecider, events), events };
  }
}
