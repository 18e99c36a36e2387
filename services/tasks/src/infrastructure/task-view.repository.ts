/*
 * All SQL over `task_view`: the projection's read-modify-write, the owner's list with keyset
 * pagination, and the questions the scanner, the pull query and the worker-offline handler ask.
 * Every user-facing query filters by owner and hides deleted rows here, in one place.
 */
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { excludedColumns } from '@agentyard/event-sourcing';
import type { TaskStatus, ToolName } from '@agentyard/contracts';
import type { TaskViewRow } from '../application/task-view.projection';
import type { TasksDatabase, TaskViewTable } from './tasks.database';

export interface TaskListFilter {
  ownerId: string;
  statuses?: TaskStatus[];
  tool?: ToolName;
  workerId?: string;
  /** Case-insensitive substring of the description. */
  text?: string;
  createdFrom?: Date;
  createdTo?: Date;
}

export interface TaskListPage {
  sortBy: 'created' | 'priority';
  direction: 'asc' | 'desc';
  /** Keyset: the sort key and id of the last row of the previous page. */
  after?: { key: string | number; id: string };
  limit: number;
}

/** What the timeout scanner needs to issue a command. */
export interface OverdueTask {
  id: string;
  attempt: number;
  workerId: string | null;
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const activeStatuses = ['assigned', 'running'];

export class TaskViewRepository {
  constructor(private readonly db: Kysely<TasksDatabase>) {}

  /** The rows of `ids` that exist, by id, read through `executor`. */
  async findMany(ids: string[], executor: Kysely<TasksDatabase> = this.db): Promise<Map<string, TaskViewRow>> {
    if (ids.length === 0) return new Map();
    const rows = await executor.selectFrom('task_view').selectAll().where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, rowOf(r)]));
  }

  /** Upserts whole rows with one statement. */
  async saveMany(rows: TaskViewRow[], executor: Kysely<TasksDatabase> = this.db): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map(valuesOf);
    await executor
      .insertInto('task_view')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(excludedColumns(values[0]!, 'id')))
      .execute();
  }

  async truncate(executor: Kysely<TasksDatabase> = this.db): Promise<void> {
    await executor.deleteFrom('task_view').execute();
    await executor.deleteFrom('owner_active').execute();
  }

  /** How many of an owner's tasks are unfinished (queued, assigned or running): one row, whatever the backlog. */
  async countActive(ownerId: string): Promise<number> {
    const row = await this.db.selectFrom('owner_active').select('active').where('owner_id', '=', ownerId).executeTakeFirst();
    return row?.active ?? 0;
  }

  /** Adds a batch's changes to the owners' counts (activeDeltas: sorted, non-zero). */
  async addActive(deltas: readonly { ownerId: string; delta: number }[], executor: Kysely<TasksDatabase> = this.db): Promise<void> {
    if (deltas.length === 0) return;
    await executor
      .insertInto('owner_active')
      .values(deltas.map((d) => ({ owner_id: d.ownerId, active: d.delta })))
      .onConflict((oc) => oc.column('owner_id').doUpdateSet({ active: sql`owner_active.active + excluded.active` }))
      .execute();
  }

  /** Tasks waiting for a worker, platform-wide (an index-only count of the partial queued index). */
  async countQueued(): Promise<number> {
    const row = await this.db
      .selectFrom('task_view')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'queued')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One page of an owner's tasks (deleted ones never), in sort order. */
  async list(filter: TaskListFilter, page: TaskListPage): Promise<TaskViewRow[]> {
    const column = page.sortBy === 'created' ? 'created_at' : 'priority';
    let query = this.db.selectFrom('task_view').selectAll().where('owner_id', '=', filter.ownerId).where('deleted', '=', false);
    if (filter.statuses?.length) query = query.where('status', 'in', filter.statuses);
    if (filter.tool) query = query.where('tool', '=', filter.tool);
    if (filter.workerId) query = query.where('worker_id', '=', filter.workerId);
    // LIKE's escape character is a backslash: the user's text is matched literally.
    if (filter.text) query = query.where('description', 'ilike', `%${filter.text.replace(/[\\%_]/g, '\\$&')}%`);
    if (filter.createdFrom) query = query.where('created_at', '>=', filter.createdFrom);
    if (filter.createdTo) query = query.where('created_at', '<=', filter.createdTo);
    if (page.after) {
      const key = page.sortBy === 'created' ? new Date(String(page.after.key)) : Number(page.after.key);
      const op = sql.raw(page.direction === 'asc' ? '>' : '<');
      query = query.where(sql<boolean>`(${sql.ref(column)}, id) ${op} (${key}, ${page.after.id})`);
    }
    const rows = await query.orderBy(column, page.direction).orderBy('id', page.direction).limit(page.limit).execute();
    return rows.map(rowOf);
  }

  /** Tasks a worker holds (assigned or running). */
  async heldBy(workerId: string): Promise<TaskViewRow[]> {
    const rows = await this.db
      .selectFrom('task_view')
      .selectAll()
      .where('worker_id', '=', workerId)
      .where('status', 'in', activeStatuses)
      .orderBy('id')
      .execute();
    return rows.map(rowOf);
  }

  /** The task assigned to `workerId` longest ago and not started yet (pull mode). */
  async oldestAssignedTo(workerId: string): Promise<TaskViewRow | null> {
    const row = await this.db
      .selectFrom('task_view')
      .selectAll()
      .where('worker_id', '=', workerId)
      .where('status', '=', 'assigned')
      .orderBy('lease_expires_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row ? rowOf(row) : null;
  }

  /** Queued longer than their queueTimeoutSeconds at `now`. */
  async queuedTooLong(now: Date, limit: number): Promise<OverdueTask[]> {
    return this.db
      .selectFrom('task_view')
      .select(['id', 'attempt', 'worker_id as workerId'])
      .where('status', '=', 'queued')
      .where(sql<boolean>`queued_at + make_interval(secs => queue_timeout_seconds) <= ${now}`)
      .orderBy('queued_at')
      .limit(limit)
      .execute();
  }

  /** Assigned, and the lease ran out before the worker reported started. */
  async leaseExpired(now: Date, limit: number): Promise<OverdueTask[]> {
    return this.db
      .selectFrom('task_view')
      .select(['id', 'attempt', 'worker_id as workerId'])
      .where('status', '=', 'assigned')
      .where('lease_expires_at', '<=', now)
      .orderBy('lease_expires_at')
      .limit(limit)
      .execute();
  }

  /** Running longer than timeoutSeconds + `graceSeconds`. */
  async runningTooLong(now: Date, graceSeconds: number, limit: number): Promise<OverdueTask[]> {
    return this.db
      .selectFrom('task_view')
      .select(['id', 'attempt', 'worker_id as workerId'])
      .where('status', '=', 'running')
      .where(sql<boolean>`started_at + make_interval(secs => timeout_seconds + ${graceSeconds}) <= ${now}`)
      .orderBy('started_at')
      .limit(limit)
      .execute();
  }
}

function rowOf(r: Selectable<TaskViewTable>): TaskViewRow {
  return {
    id: r.id,
    ownerId: r.owner_id,
    description: r.description,
    tool: r.tool as ToolName,
    input: r.input,
    priority: r.priority,
    status: r.status as TaskStatus,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    timeoutSeconds: r.timeout_seconds,
    queueTimeoutSeconds: r.queue_timeout_seconds,
    heartbeatTimeoutSeconds: r.heartbeat_timeout_seconds,
    requirements: r.requirements,
    workerId: r.worker_id,
    progress: r.progress,
    result: r.result,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    version: r.version,
    leaseExpiresAt: iso(r.lease_expires_at),
    queuedAt: iso(r.queued_at),
    notBefore: iso(r.not_before),
    deleted: r.deleted,
    workflow: r.workflow,
    stalls: r.stalls,
    stalledAt: iso(r.stalled_at),
  };
}

function valuesOf(row: TaskViewRow): Insertable<TaskViewTable> {
  return {
    id: row.id,
    owner_id: row.ownerId,
    description: row.description,
    tool: row.tool,
    input: JSON.stringify(row.input),
    priority: row.priority,
    status: row.status,
    attempt: row.attempt,
    max_attempts: row.maxAttempts,
    timeout_seconds: row.timeoutSeconds,
    queue_timeout_seconds: row.queueTimeoutSeconds,
    heartbeat_timeout_seconds: row.heartbeatTimeoutSeconds,
    requirements: JSON.stringify(row.requirements),
    worker_id: row.workerId,
    progress: row.progress,
    result: row.result === null ? null : JSON.stringify(row.result),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
    version: row.version,
    lease_expires_at: row.leaseExpiresAt,
    queued_at: row.queuedAt,
    not_before: row.notBefore,
    deleted: row.deleted,
    workflow: row.workflow === null ? null : JSON.stringify(row.workflow),
    stalls: row.stalls,
    stalled_at: row.stalledAt,
  };
}
