/*
 * The read models of the workflows service, as pure `evolve(row | null, event)` functions over
 * the service's own events. A row carries the state the domain folds (`evolveWorkflow`, the run's
 * `evolve`), so a view can never disagree with what the deciders know, plus the columns queries
 * filter on. Applying an event twice changes nothing: a row remembers the stream version it has
 * seen. A rebuilt model equals the live one (services/gateway/test/workflows.e2e.spec.ts, "Read models").
 */
import type { RunNodeView, RunSummary, RunView, ScheduleView, WorkflowSummary, WorkflowView } from '@agentyard/contracts';
import { evolve as evolveRun, initialState as initialRunState, type RunEnvelope, type RunState } from '../domain/run';
import { nextDeadline } from '../domain/run.decide';
import { nextFire } from '../domain/schedule';
import { evolveWorkflow, initialWorkflowState, type WorkflowEnvelope, type WorkflowState } from '../domain/workflow.decide';

/** Checkpoint name of the projection (in the event store's checkpoints table). */
export const READ_MODELS_PROJECTION = 'projection:workflows';

export interface WorkflowRow {
  id: string;
  ownerId: string;
  name: string;
  description: string | null;
  kind: string;
  version: number;
  paused: boolean;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
  streamVersion: number;
  state: WorkflowState;
}

export interface ScheduleRow {
  scheduleId: string;
  workflowId: string;
  ownerId: string;
  cron: string;
  timezone: string;
  overlap: 'skip' | 'queue' | 'allow';
  missed: 'skip' | 'run-once';
  input: Record<string, unknown>;
  createdAt: string;
  lastFireAt: string | null;
  nextFireAt: string | null;
  queued: { fireAt: string; runId: string } | null;
  paused: boolean;
}

export interface RunRow {
  id: string;
  workflowId: string;
  workflowVersion: number;
  ownerId: string;
  name: string;
  kind: string;
  status: string;
  scheduleId: string | null;
  startedAt: string;
  finishedAt: string | null;
  updatedAt: string;
  error: string | null;
  nextDeadline: string | null;
  version: number;
  state: RunState;
}

/** The workflow row after `event` (a `workflow-<id>` event); null before WorkflowCreated. */
export function evolveWorkflowRow(row: WorkflowRow | null, event: WorkflowEnvelope): WorkflowRow | null {
  if (row === null && event.type !== 'WorkflowCreated') return null;
  if (row !== null && event.streamVersion <= row.streamVersion) return row;
  const state = evolveWorkflow(row?.state ?? initialWorkflowState(), event);
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

/** The schedule rows a workflow's state implies (none once it is deleted). */
export function scheduleRowsOf(row: WorkflowRow): ScheduleRow[] {
  if (row.deleted) return [];
  return Object.entries(row.state.schedules).map(([scheduleId, s]) => ({
    scheduleId,
    workflowId: row.id,
    ownerId: row.ownerId,
    cron: s.cron,
    timezone: s.timezone,
    overlap: s.overlap,
    missed: s.missed,
    input: s.input,
    createdAt: s.createdAt,
    lastFireAt: s.lastFireAt,
    nextFireAt: nextFire(s, s.lastFireAt ?? s.createdAt),
    queued: s.queued,
    paused: row.paused,
  }));
}

/** The run row after `event` (a `run-<id>` event); null before RunStarted. */
export function evolveRunRow(row: RunRow | null, event: RunEnvelope): RunRow | null {
  if (row === null && event.type !== 'RunStarted') return null;
  if (row !== null && event.streamVersion <= row.version) return row;
  const state = evolveRun(row?.state ?? initialRunState(), event);
  return {
    id: state.runId,
    workflowId: state.workflowId,
    workflowVersion: state.workflowVersion,
    ownerId: state.ownerId,
    name: state.name,
    kind: state.kind,
    status: state.status,
    scheduleId: state.trigger?.kind === 'schedule' ? state.trigger.scheduleId : null,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    updatedAt: state.updatedAt,
    error: state.error,
    nextDeadline: nextDeadline(state),
    version: state.version,
    state,
  };
}

// --- API views ------------------------------------------------------------------------------

export function scheduleViewOf(s: ScheduleRow): ScheduleView {
  return {
    id: s.scheduleId,
    workflowId: s.workflowId,
    cron: s.cron,
    timezone: s.timezone,
    overlap: s.overlap,
    missed: s.missed,
    input: s.input,
    lastFireAt: s.lastFireAt,
    nextFireAt: s.paused ? null : s.nextFireAt,
    createdAt: s.createdAt,
  };
}

export function runSummaryOf(row: RunRow): RunSummary {
  const s = row.state;
  return {
    id: row.id,
    workflowId: row.workflowId,
    workflowVersion: row.workflowVersion,
    name: row.name,
    kind: s.kind,
    status: s.status,
    trigger: s.trigger ?? { kind: 'manual', userId: row.ownerId },
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    updatedAt: row.updatedAt,
    error: row.error,
  };
}

export function runViewOf(state: RunState): RunView {
  const nodes: Record<string, RunNodeView> = {};
  for (const [id, n] of Object.entries(state.nodes)) {
    nodes[id] = {
      status: n.status,
      iteration: n.iteration,
      generation: n.generation,
      taskId: n.taskId,
      workerId: n.workerId,
      exitCode: n.exitCode,
      ...(n.output !== null && n.output !== undefined ? { output: n.output } : {}),
      text: n.text,
      reason: n.reason,
      startedAt: n.startedAt,
      finishedAt: n.finishedAt,
      winner: n.winner,
      deadline: n.deadline,
      history: n.history,
    };
  }
  return {
    id: state.runId,
    workflowId: state.workflowId,
    workflowVersion: state.workflowVersion,
    name: state.name,
    kind: state.kind,
    status: state.status,
    trigger: state.trigger ?? { kind: 'manual', userId: state.ownerId },
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    updatedAt: state.updatedAt,
    error: state.error,
    ownerId: state.ownerId,
    input: state.input,
    deadline: state.deadline,
    graph: state.graph,
    nodes,
    version: state.version,
  };
}

export function workflowSummaryOf(row: WorkflowRow, schedules: ScheduleRow[], lastRun: RunRow | null, activeRuns: number): WorkflowSummary {
  return {
    id: row.id,
    ownerId: row.ownerId,
    name: row.name,
    description: row.description,
    kind: row.kind as WorkflowSummary['kind'],
    version: row.version,
    paused: row.paused,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastRun: lastRun ? { id: lastRun.id, status: lastRun.state.status, startedAt: lastRun.startedAt, finishedAt: lastRun.finishedAt } : null,
    activeRuns,
    schedules: schedules.map(scheduleViewOf),
  };
}

export function workflowViewOf(row: WorkflowRow, schedules: ScheduleRow[], lastRun: RunRow | null, activeRuns: number): WorkflowView {
  return { ...workflowSummaryOf(row, schedules, lastRun, activeRuns), definition: row.state.definition! };
}
