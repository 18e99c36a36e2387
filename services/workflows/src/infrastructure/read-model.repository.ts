/*
 * All SQL over the workflows read models: the projection's read-modify-write, the owner's lists
 * with keyset pagination, and the scheduler's questions. Every user-facing query filters by
 * owner here, in one place (another user's workflow or run is simply not found).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { excludedColumns } from '@agentyard/event-sourcing';
import type { RunStatus } from '@agentyard/contracts';
import type { RunState } from '../domain/run';
import type { WorkflowState } from '../domain/workflow.decide';
import type { RunRow, ScheduleRow, WorkflowRow } from '../application/read-models.projection';
import type { RunViewTable, ScheduleViewTable, WorkflowsDatabase, WorkflowViewTable } from './workflows.database';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const active = ['running', 'paused'];

export interface Page {
  limit: number;
  /** Keyset: the sort key and id of the last row of the previous page. */
  after?: { at: string; id: string };
}

export class ReadModelRepository {
  constructor(private readonly db: Kysely<WorkflowsDatabase>) {}

  // --- projection -----------------------------------------------------------------------------

  async findWorkflows(ids: string[], executor: Kysely<WorkflowsDatabase> = this.db): Promise<Map<string, WorkflowRow>> {
    if (ids.length === 0) return new Map();
    const rows = await executor.selectFrom('workflow_view').selectAll().where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, workflowRowOf(r)]));
  }

  async findRuns(ids: string[], executor: Kysely<WorkflowsDatabase> = this.db): Promise<Map<string, RunRow>> {
    if (ids.length === 0) return new Map();
    const rows = await executor.selectFrom('run_view').selectAll().where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, runRowOf(r)]));
  }

  async saveWorkflows(rows: WorkflowRow[], schedules: Map<string, ScheduleRow[]>, executor: Kysely<WorkflowsDatabase> = this.db): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map((r) => ({
      id: r.id,
      owner_id: r.ownerId,
      name: r.name,
      description: r.description,
      kind: r.kind,
      version: r.version,
      paused: r.paused,
      deleted: r.deleted,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      stream_version: r.streamVersion,
      state: JSON.stringify(r.state),
    }));
    await executor
      .insertInto('workflow_view')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(excludedColumns(values[0]!, 'id')))
      .execute();
    // A workflow's schedules are replaced as a whole: they are few, and removal is then implicit.
    await executor
      .deleteFrom('schedule_view')
      .where(
        'workflow_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    const scheduleValues = [...schedules.values()].flat().map((s) => ({
      schedule_id: s.scheduleId,
      workflow_id: s.workflowId,
      owner_id: s.ownerId,
      cron: s.cron,
      timezone: s.timezone,
      overlap: s.overlap,
      missed: s.missed,
      input: JSON.stringify(s.input),
      created_at: s.createdAt,
      last_fire_at: s.lastFireAt,
      next_fire_at: s.nextFireAt,
      queued: s.queued === null ? null : JSON.stringify(s.queued),
      paused: s.paused,
    }));
    if (scheduleValues.length > 0) await executor.insertInto('schedule_view').values(scheduleValues).execute();
  }

  async saveRuns(rows: RunRow[], executor: Kysely<WorkflowsDatabase> = this.db): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map((r) => ({
      id: r.id,
      workflow_id: r.workflowId,
      workflow_version: r.workflowVersion,
      owner_id: r.ownerId,
      name: r.name,
      kind: r.kind,
      status: r.status,
      schedule_id: r.scheduleId,
      started_at: r.startedAt,
      finished_at: r.finishedAt,
      updated_at: r.updatedAt,
      error: r.error,
      next_deadline: r.nextDeadline,
      version: r.version,
      state: JSON.stringify(r.state),
    }));
    await executor
      .insertInto('run_view')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(excludedColumns(values[0]!, 'id')))
      .execute();
  }

  async truncate(executor: Kysely<WorkflowsDatabase> = this.db): Promise<void> {
    await sql`truncate workflow_view, schedule_view, run_view`.execute(executor);
  }

  // --- queries --------------------------------------------------------------------------------

  async workflowOf(ownerId: string, id: string): Promise<WorkflowRow | undefined> {
    const r = await this.db
      .selectFrom('workflow_view')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .where('deleted', '=', false)
      .executeTakeFirst();
    return r ? workflowRowOf(r) : undefined;
  }

  async listWorkflows(ownerId: string, text: string | undefined, page: Page): Promise<WorkflowRow[]> {
    let q = this.db.selectFrom('workflow_view').selectAll().where('owner_id', '=', ownerId).where('deleted', '=', false);
    if (text) q = q.where(sql<boolean>`name ilike ${`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`);
    if (page.after) q = q.where(sql<boolean>`(created_at, id) < (${page.after.at}::timestamptz, ${page.after.id})`);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(workflowRowOf);
  }

  async schedulesOf(workflowIds: string[]): Promise<Map<string, ScheduleRow[]>> {
    const out = new Map<string, ScheduleRow[]>(workflowIds.map((id) => [id, []]));
    if (workflowIds.length === 0) return out;
    const rows = await this.db.selectFrom('schedule_view').selectAll().where('workflow_id', 'in', workflowIds).orderBy('created_at').execute();
    for (const r of rows) out.get(r.workflow_id)?.push(scheduleRowOf(r));
    return out;
  }

  /** Each workflow's newest run and its count of active runs. */
  async runStats(workflowIds: string[]): Promise<Map<string, { lastRun: RunRow | null; activeRuns: number }>> {
    const out = new Map<string, { lastRun: RunRow | null; activeRuns: number }>(workflowIds.map((id) => [id, { lastRun: null, activeRuns: 0 }]));
    if (workflowIds.length === 0) return out;
    const last = await this.db
      .selectFrom('run_view')
      .selectAll()
      .where('id', 'in', (qb) =>
        qb
          .selectFrom('run_view as r')
          .select(sql<string>`(array_agg(r.id order by r.started_at desc, r.id desc))[1]`.as('id'))
          .where('r.workflow_id', 'in', workflowIds)
          .groupBy('r.workflow_id'),
      )
      .execute();
    for (const r of last) out.get(r.workflow_id)!.lastRun = runRowOf(r);
    const counts = await this.db
      .selectFrom('run_view')
      .select(['workflow_id', sql<number>`count(*)::int`.as('n')])
      .where('workflow_id', 'in', workflowIds)
      .where('status', 'in', active)
      .groupBy('workflow_id')
      .execute();
    for (const c of counts) out.get(c.workflow_id)!.activeRuns = c.n;
    return out;
  }

  async runOf(ownerId: string, id: string): Promise<RunRow | undefined> {
    const r = await this.db.selectFrom('run_view').selectAll().where('id', '=', id).where('owner_id', '=', ownerId).executeTakeFirst();
    return r ? runRowOf(r) : undefined;
  }

  async listRuns(ownerId: string, filter: { workflowId?: string; status?: RunStatus }, page: Page): Promise<RunRow[]> {
    let q = this.db.selectFrom('run_view').selectAll().where('owner_id', '=', ownerId);
    if (filter.workflowId) q = q.where('workflow_id', '=', filter.workflowId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (page.after) q = q.where(sql<boolean>`(started_at, id) < (${page.after.at}::timestamptz, ${page.after.id})`);
    const rows = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(runRowOf);
  }

  /** Ids of a workflow's runs still running or paused. */
  async activeRunIds(workflowId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('run_view').select('id').where('workflow_id', '=', workflowId).where('status', 'in', active).execute();
    return rows.map((r) => r.id);
  }

  // --- scheduler ------------------------------------------------------------------------------

  /** Schedules with a fire due by `now`, or a queued fire waiting. */
  async dueSchedules(now: Date, limit = 100): Promise<ScheduleRow[]> {
    const rows = await this.db
      .selectFrom('schedule_view')
      .selectAll()
      .where((eb) => eb.or([eb('next_fire_at', '<=', now), eb('queued', 'is not', null)]))
      .orderBy('next_fire_at')
      .limit(limit)
      .execute();
    return rows.map(scheduleRowOf);
  }

  /** Every schedule's last fire that started (or queued) a run: the boot reconciliation checks each. */
  async schedulesWithFires(): Promise<ScheduleRow[]> {
    const rows = await this.db.selectFrom('schedule_view').selectAll().where('last_fire_at', 'is not', null).execute();
    return rows.map(scheduleRowOf);
  }

  async activeRunsOfSchedule(scheduleId: string): Promise<number> {
    const r = await this.db
      .selectFrom('run_view')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('schedule_id', '=', scheduleId)
      .where('status', 'in', active)
      .executeTakeFirst();
    return r?.n ?? 0;
  }

  /** Runs a Tick could change by `now` (approval defaults, time limits). */
  async runsDueForTick(now: Date, limit = 100): Promise<string[]> {
    const rows = await this.db.selectFrom('run_view').select('id').where('next_deadline', '<=', now).orderBy('next_deadline').limit(limit).execute();
    return rows.map((r) => r.id);
  }
}

function workflowRowOf(r: Selectable<WorkflowViewTable>): WorkflowRow {
  return {
    id: r.id,
    ownerId: r.owner_id,
    name: r.name,
    description: r.description,
    kind: r.kind,
    version: r.version,
    paused: r.paused,
    deleted: r.deleted,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    streamVersion: r.stream_version,
    state: r.state as WorkflowState,
  };
}

function scheduleRowOf(r: Selectable<ScheduleViewTable>): ScheduleRow {
  return {
    scheduleId: r.schedule_id,
    workflowId: r.workflow_id,
    ownerId: r.owner_id,
    cron: r.cron,
    timezone: r.timezone,
    overlap: r.overlap as ScheduleRow['overlap'],
    missed: r.missed as ScheduleRow['missed'],
    input: r.input,
    createdAt: r.created_at.toISOString(),
    lastFireAt: iso(r.last_fire_at),
    nextFireAt: iso(r.next_fire_at),
    queued: r.queued,
    paused: r.paused,
  };
}

function runRowOf(r: Selectable<RunViewTable>): RunRow {
  return {
    id: r.id,
    workflowId: r.workflow_id,
    workflowVersion: r.workflow_version,
    ownerId: r.owner_id,
    name: r.name,
    kind: r.kind,
    status: r.status,
    scheduleId: r.schedule_id,
    startedAt: r.started_at.toISOString(),
    finishedAt: iso(r.finished_at),
    updatedAt: r.updated_at.toISOString(),
    error: r.error,
    nextDeadline: iso(r.next_deadline),
    version: r.version,
    state: r.state as RunState,
  };
}
