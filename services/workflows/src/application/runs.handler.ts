/*
 * What moves a run: its owner's commands (pause, resume, cancel, retry a node, decide an
 * approval, pick a winner), the results of its nodes' tasks (from the tasks service's events),
 * and time (Tick). Each person's command replies with the run as folded right after it.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata, RunView } from '@agentyard/contracts';
import type { Actor, RunCommand, TaskOutcome } from '../domain/run.decide';
import { READ_MODEL_SYNC, RunCommandRunner, type ReadModelSync } from './command-runners';
import { runViewOf } from './read-models.projection';

/** A task's terminal event, as the run needs it. */
export interface TaskResultFact {
  runId: string;
  taskId: string;
  outcome: TaskOutcome;
  exitCode: number | null;
  output: unknown;
  text: string;
  error: string | null;
  durationMs: number | null;
}

@Injectable()
export class RunsHandler {
  constructor(
    private readonly runs: RunCommandRunner,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
  ) {}

  pause(actor: Actor, runId: string, metadata: CorrelationMetadata): Promise<RunView> {
    return this.person(runId, { kind: 'PauseRun', actor, now: new Date() }, metadata);
  }

  resume(actor: Actor, runId: string, metadata: CorrelationMetadata): Promise<RunView> {
    return this.person(runId, { kind: 'ResumeRun', actor, now: new Date() }, metadata);
  }

  cancel(actor: Actor, runId: string, metadata: CorrelationMetadata): Promise<RunView> {
    return this.person(runId, { kind: 'CancelRun', actor, now: new Date() }, metadata);
  }

  retryNode(actor: Actor, runId: string, nodeId: string, metadata: CorrelationMetadata): Promise<RunView> {
    return this.person(runId, { kind: 'RetryNode', actor, nodeId, now: new Date() }, metadata);
  }

  decideApproval(
    actor: Actor,
    runId: string,
    nodeId: string,
    decision: 'approve' | 'reject',
    comment: string | undefined,
    metadata: CorrelationMetadata,
  ): Promise<RunView> {
    return this.person(runId, { kind: 'DecideApproval', actor, nodeId, decision, ...(comment !== undefined ? { comment } : {}), now: new Date() }, metadata);
  }

  pickWinner(actor: Actor, runId: string, nodeId: string, winner: string, metadata: CorrelationMetadata): Promise<RunView> {
    return this.person(runId, { kind: 'PickWinner', actor, nodeId, winner, now: new Date() }, metadata);
  }

  /** A node's task started on a worker. */
  async taskStarted(fact: { runId: string; taskId: string; workerId: string; attempt: number }, metadata: CorrelationMetadata): Promise<void> {
    await this.runs.run(
      fact.runId,
      { kind: 'RecordTaskStarted', taskId: fact.taskId, workerId: fact.workerId, attempt: fact.attempt, now: new Date() },
      metadata,
    );
  }

  /** A node's task ended: the run records it and advances. */
  async taskFinished(fact: TaskResultFact, metadata: CorrelationMetadata): Promise<void> {
    await this.runs.run(
      fact.runId,
      {
        kind: 'RecordTaskFinished',
        taskId: fact.taskId,
        outcome: fact.outcome,
        exitCode: fact.exitCode,
        output: fact.output,
        text: fact.text,
        error: fact.error,
        durationMs: fact.durationMs,
        now: new Date(),
      },
      metadata,
    );
  }

  /** Applies what time decides (approval defaults, the run's time limit). */
  async tick(runId: string, metadata: CorrelationMetadata): Promise<void> {
    await this.runs.run(runId, { kind: 'Tick', now: new Date() }, metadata);
  }

  private async person(runId: string, command: RunCommand, metadata: CorrelationMetadata): Promise<RunView> {
    const { state } = await this.runs.run(runId, command, metadata);
    // Read-your-writes: a client that retries a node and then reads the run must not see it
    // still failed (the read model is projected asynchronously).
    await this.sync.catchUp();
    return runViewOf(state);
  }
}
