/*
 * The workflows service's queries: workflows, runs, their histories, schedules. Lists page by
 * keyset with an opaque cursor (base64url of the last row's sort key and id), checked strictly
 * on the way back in — a crafted cursor is a 400, never a database error. Another user's
 * workflow or run is NOT_FOUND, exactly like a random id.
 */
import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import {
  DomainError,
  type Envelope,
  type ListRunsQuery,
  type ListWorkflowsQuery,
  type RunPage,
  type RunView,
  type ScheduleView,
  type WorkflowDefinition,
  type WorkflowPage,
  type WorkflowView,
} from '@agentyard/contracts';
import { ReadModelRepository, type Page } from '../infrastructure/read-model.repository';
import { RunCommandRunner, WorkflowCommandRunner } from './command-runners';
import { runSummaryOf, runViewOf, scheduleViewOf, workflowSummaryOf, workflowViewOf } from './read-models.projection';
import { rowOfState } from './workflows.handler';

const cursorSchema = z.object({ at: z.iso.datetime({ offset: true }), id: z.string().min(1).max(64) }).strict();

/** The opaque cursor of a row. */
export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify({ at, id })).toString('base64url');
}

/** Reads a cursor this API returned; anything else is a 400 naming the field. */
export function decodeCursor(cursor: string | undefined): Page['after'] {
  if (cursor === undefined || cursor === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const checked = cursorSchema.safeParse(parsed);
  const year = checked.success ? new Date(checked.data.at).getUTCFullYear() : NaN;
  if (!checked.success || !(year >= 1970 && year <= 9999)) {
    throw new DomainError('VALIDATION_FAILED', 'cursor: not a cursor this API returned; start again without one', [
      { field: 'cursor', message: 'not a cursor this API returned' },
    ]);
  }
  return checked.data;
}

const notFound = (what: string) => new DomainError('NOT_FOUND', `no such ${what}`);

@Injectable()
export class WorkflowQueries {
  constructor(
    private readonly views: ReadModelRepository,
    private readonly workflows: WorkflowCommandRunner,
    private readonly runs: RunCommandRunner,
  ) {}

  async listWorkflows(userId: string, query: ListWorkflowsQuery): Promise<WorkflowPage> {
    const rows = await this.views.listWorkflows(userId, query.q, { limit: query.limit + 1, after: decodeCursor(query.cursor) });
    const page = rows.slice(0, query.limit);
    const ids = page.map((r) => r.id);
    const [schedules, stats] = await Promise.all([this.views.schedulesOf(ids), this.views.runStats(ids)]);
    const last = page.at(-1);
    return {
      items: page.map((r) => workflowSummaryOf(r, schedules.get(r.id) ?? [], stats.get(r.id)!.lastRun, stats.get(r.id)!.activeRuns)),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }

  /** The workflow, from its stream when the read model has not seen it yet (saved a moment ago). */
  async getWorkflow(userId: string, workflowId: string): Promise<WorkflowView> {
    let row = await this.views.workflowOf(userId, workflowId);
    if (!row) {
      const { state } = await this.workflows.load(workflowId);
      if (!state.exists || state.deleted || state.ownerId !== userId) throw notFound('workflow');
      row = rowOfState(state);
    }
    const [schedules, stats] = await Promise.all([this.views.schedulesOf([row.id]), this.views.runStats([row.id])]);
    return workflowViewOf(row, schedules.get(row.id) ?? [], stats.get(row.id)!.lastRun, stats.get(row.id)!.activeRuns);
  }

  async workflowVersion(userId: string, workflowId: string, version: number): Promise<{ version: number; definition: WorkflowDefinition }> {
    await this.ownWorkflow(userId, workflowId);
    return { version, definition: await this.workflows.definitionAt(workflowId, version) };
  }

  /** The workflow's events in order (versions, schedules and their fires): its audit trail. */
  async workflowHistory(userId: string, workflowId: string): Promise<{ items: Envelope[] }> {
    await this.ownWorkflow(userId, workflowId);
    return { items: (await this.workflows.load(workflowId)).events };
  }

  async schedules(userId: string, workflowId: string): Promise<{ items: ScheduleView[] }> {
    await this.ownWorkflow(userId, workflowId);
    return { items: ((await this.views.schedulesOf([workflowId])).get(workflowId) ?? []).map(scheduleViewOf) };
  }

  async listRuns(userId: string, workflowId: string | undefined, query: ListRunsQuery): Promise<RunPage> {
    if (workflowId !== undefined) await this.ownWorkflow(userId, workflowId);
    const rows = await this.views.listRuns(userId, { workflowId, status: query.status }, { limit: query.limit + 1, after: decodeCursor(query.cursor) });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(runSummaryOf), nextCursor: rows.length > query.limit && last ? encodeCursor(last.startedAt, last.id) : null };
  }

  /** The run, from its stream when the read model has not seen it yet (a run started a moment ago). */
  async getRun(userId: string, runId: string): Promise<RunView> {
    const row = await this.views.runOf(userId, runId);
    if (row) return runViewOf(row.state);
    const { state } = await this.runs.load(runId);
    if (!state.exists || state.ownerId !== userId) throw notFound('run');
    return runViewOf(state);
  }

  /** The run's events in order: every decision it made, for auditors. */
  async runHistory(userId: string, runId: string): Promise<{ items: Envelope[] }> {
    const { state, events } = await this.runs.load(runId);
    if (!state.exists || state.ownerId !== userId) throw notFound('run');
    return { items: events };
  }

  private async ownWorkflow(userId: string, workflowId: string): Promise<void> {
    const { state } = await this.workflows.load(workflowId);
    if (!state.exists || state.deleted || state.ownerId !== userId) throw notFound('workflow');
  }
}
