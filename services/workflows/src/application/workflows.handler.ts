/*
 * A user's commands on workflows: save (create, new version), delete, pause and resume (the
 * workflow's schedules and every active run), schedules, execute (start a run pinned to a
 * version), and templates. Each reply is the view folded right after the change, so a caller
 * sees its own write even while the read models lag.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  DomainError,
  newId,
  type AddScheduleBody,
  type CorrelationMetadata,
  type ExecuteWorkflowBody,
  type RunTrigger,
  type RunView,
  type ValidationReport,
  type WorkflowDefinition,
  type WorkflowView,
} from '@agentyard/contracts';
import { compileDefinition, validateDefinition } from '../domain/compile';
import type { Actor } from '../domain/run.decide';
import type { WorkflowState } from '../domain/workflow.decide';
import { ReadModelRepository } from '../infrastructure/read-model.repository';
import { READ_MODEL_SYNC, RunCommandRunner, WorkflowCommandRunner, type ReadModelSync } from './command-runners';
import { runViewOf, scheduleRowsOf, workflowViewOf, type WorkflowRow } from './read-models.projection';

const notFound = () => new DomainError('NOT_FOUND', 'no such workflow');

/** The view of a workflow from its folded state (schedules included; run stats from the read model). */
export function rowOfState(state: WorkflowState): WorkflowRow {
  const d = state.definition!;
  return {
    id: state.workflowId,
    ownerId: state.ownerId,
    name: d.name,
    description: d.description ?? null,
    kind: d.kind,
    version: state.version,
    paused: state.paused,
    deleted: state.deleted,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    streamVersion: state.streamVersion,
    state,
  };
}

@Injectable()
export class WorkflowsHandler {
  constructor(
    private readonly workflows: WorkflowCommandRunner,
    private readonly runs: RunCommandRunner,
    private readonly views: ReadModelRepository,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
  ) {}

  async create(actor: Actor, definition: WorkflowDefinition, metadata: CorrelationMetadata): Promise<WorkflowView> {
    const workflowId = newId();
    const { state } = await this.workflows.run(workflowId, { kind: 'CreateWorkflow', workflowId, actor, definition, now: new Date() }, metadata);
    return this.viewOf(state);
  }

  async update(actor: Actor, workflowId: string, definition: WorkflowDefinition, metadata: CorrelationMetadata): Promise<WorkflowView> {
    const { state } = await this.workflows.run(workflowId, { kind: 'SaveVersion', actor, definition, now: new Date() }, metadata);
    return this.viewOf(state);
  }

  async delete(actor: Actor, workflowId: string, metadata: CorrelationMetadata): Promise<{ workflowId: string; deleted: true }> {
    await this.sync.catchUp();
    const activeRuns = (await this.views.activeRunIds(workflowId)).length;
    await this.workflows.run(workflowId, { kind: 'DeleteWorkflow', actor, activeRuns, now: new Date() }, metadata);
    return { workflowId, deleted: true };
  }

  /** Pauses the schedules and every active run (running nodes finish; nothing new starts). */
  async pause(actor: Actor, workflowId: string, metadata: CorrelationMetadata): Promise<WorkflowView> {
    const { state } = await this.workflows.run(workflowId, { kind: 'PauseWorkflow', actor, now: new Date() }, metadata);
    await this.forActiveRuns(workflowId, (runId) => this.runs.run(runId, { kind: 'PauseRun', actor, now: new Date() }, metadata));
    return this.viewOf(state);
  }

  async resume(actor: Actor, workflowId: string, metadata: CorrelationMetadata): Promise<WorkflowView> {
    const { state } = await this.workflows.run(workflowId, { kind: 'ResumeWorkflow', actor, now: new Date() }, metadata);
    await this.forActiveRuns(workflowId, (runId) => this.runs.run(runId, { kind: 'ResumeRun', actor, now: new Date() }, metadata));
    return this.viewOf(state);
  }

  async addSchedule(actor: Actor, workflowId: string, schedule: AddScheduleBody, metadata: CorrelationMetadata): Promise<WorkflowView> {
    const { state } = await this.workflows.run(workflowId, { kind: 'AddSchedule', actor, scheduleId: newId(), schedule, now: new Date() }, metadata);
    return this.viewOf(state);
  }

  async removeSchedule(actor: Actor, workflowId: string, scheduleId: string, metadata: CorrelationMetadata): Promise<WorkflowView> {
    const { state } = await this.workflows.run(workflowId, { kind: 'RemoveSchedule', actor, scheduleId, now: new Date() }, metadata);
    return this.viewOf(state);
  }

  /** Starts a run of the latest version (or `body.version`). */
  async execute(actor: Actor, workflowId: string, body: ExecuteWorkflowBody, metadata: CorrelationMetadata, trigger?: RunTrigger): Promise<RunView> {
    const { state } = await this.workflows.load(workflowId);
    if (!state.exists || state.deleted || state.ownerId !== actor.userId) throw notFound();
    if (state.paused) throw new DomainError('CONFLICT', 'the workflow is paused: resume it to start runs');
    const version = body.version ?? state.version;
    const definition = version === state.version ? state.definition! : await this.workflows.definitionAt(workflowId, version);
    const runId = newId();
    const run = await this.runs.run(
      runId,
      {
        kind: 'StartRun',
        runId,
        workflow: {
          id: workflowId,
          version,
          name: definition.name,
          kind: definition.kind,
          ownerId: state.ownerId,
          parameters: definition.parameters,
          settings: definition.settings,
        },
        graph: compileDefinition(definition),
        input: body.input,
        trigger: trigger ?? { kind: 'manual', userId: actor.userId },
        now: new Date(),
      },
      metadata,
      { assumeNew: true },
    );
    // Read-your-writes: the client reads the run it just started right after this answer.
    await this.sync.catchUp();
    return runViewOf(run.state);
  }

  /** The compiler's verdict on a definition, without saving it (the editor's check). */
  validate(definition: WorkflowDefinition): ValidationReport {
    const { graph, issues } = validateDefinition(definition);
    return { valid: issues.length === 0, errors: issues, graph };
  }

  private async forActiveRuns(workflowId: string, act: (runId: string) => Promise<unknown>): Promise<void> {
    await this.sync.catchUp();
    for (const runId of await this.views.activeRunIds(workflowId)) {
      // A run that ended meanwhile refuses: nothing to do for it.
      await act(runId).catch((error: unknown) => {
        if (!(error instanceof DomainError) || error.code !== 'CONFLICT') throw error;
      });
    }
  }

  private async viewOf(state: WorkflowState): Promise<WorkflowView> {
    // Read-your-writes for the list the client shows next (and the run stats read below).
    await this.sync.catchUp();
    const row = rowOfState(state);
    const stats = (await this.views.runStats([row.id])).get(row.id)!;
    return workflowViewOf(row, scheduleRowsOf(row), stats.lastRun, stats.activeRuns);
  }
}
