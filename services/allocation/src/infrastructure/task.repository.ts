import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { excludedColumns } from '@agentyard/event-sourcing';
import type { Envelope, TaskRequirements, ToolName } from '@agentyard/contracts';
import type { GroupPlacement, PlacedTask } from '../domain/allocation.decide';
import { applyInStreamOrder, type ApplyResult, type EntityEvent, type OutOfOrderEvent } from '../application/stream-order';
import type { AttemptPlacement, BranchRef, TaskState, TaskStatus } from '../application/task-state.projection';
import type { AllocationDatabase, PendingTasksView, TasksTable } from './allocation.database';

export const ALLOCATION_DB = Symbol('ALLOCATION_DB');

/** A task waiting for a decision, in the order allocation should consider it. */
export interface PendingTask {
  taskId: string;
  ownerId: string;
  tool: ToolName;
  requirements: TaskRequirements;
  model: string | null;
  /** The earlier attempt whose workspace branch the task starts from (its input's ref), if any. */
  continues: BranchRef | null;
  attempt: number;
  queuedEventId: string | null;
  correlationId: string | null;
  /** Where this task sits in allocation order: pass it as `after` to read the tasks behind it. */
  cursor: PendingCursor;
}

/** A position in allocation order (priority desc, turn asc, created asc nulls last, id asc). */
export interface PendingCursor {
  priority: number;
  /** The task's fair-share turn (bigint as text; see assignTurns). */
  turn: string;
  /** `created_at` as Postgres prints it (full precision), or null. */
  createdAt: string | null;
  taskId: string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function toState(row: Selectable<TasksTable>): TaskState {
  return {
    taskId: row.task_id,
    version: row.version,
    ownerId: row.owner_id,
    tool: row.tool as ToolName | null,
    requirements: row.requirements as TaskRequirements,
    model: row.model,
    priority: row.priority,
    createdAt: iso(row.created_at),
    status: row.status as TaskStatus,
    attempt: row.attempt,
    notBefore: iso(row.not_before),
    queuedEventId: row.queued_event_id,
    correlationId: row.correlation_id,
    workerId: row.worker_id,
    boundAt: iso(row.bound_at),
    lastWorkerId: row.last_worker_id,
    lastBoundAt: iso(row.last_bound_at),
    attempts: row.attempts ?? {},
    continues: row.continues ?? null,
  };
}

function toRow(s: TaskState) {
  return {
    task_id: s.taskId,
    version: s.version,
    owner_id: s.ownerId,
    tool: s.tool,
    requirements: JSON.stringify(s.requirements),
    model: s.model,
    priority: s.priority,
    created_at: s.createdAt,
    status: s.status,
    attempt: s.attempt,
    not_before: s.notBefore,
    queued_event_id: s.queuedEventId,
    correlation_id: s.correlationId,
    worker_id: s.workerId,
    bound_at: s.boundAt,
    last_worker_id: s.lastWorkerId,
    last_bound_at: s.lastBoundAt,
    anti_affinity: s.requirements.antiAffinity ?? null,
    attempts: JSON.stringify(s.attempts),
    continues: JSON.stringify(s.continues),
  };
}

/** A row of `pending_tasks` (with its creation time as text) as a task to place. */
function toPendingTask(r: Selectable<PendingTasksView> & { created_key: string | null }): PendingTask {
  return {
    taskId: r.task_id,
    ownerId: r.owner_id,
    tool: r.tool as ToolName,
    requirements: r.requirements as TaskRequirements,
    model: r.model,
    continues: r.continues ?? null,
    attempt: r.attempt,
    queuedEventId: r.queued_event_id,
    correlationId: r.correlation_id,
    cursor: { priority: r.priority, turn: r.fair_turn ?? '0', createdAt: r.created_key, taskId: r.task_id },
  };
}

/** The `tasks` read model (and its `pending_tasks` view). */
@Injectable()
export class TaskRepository {
  constructor(@Inject(ALLOCATION_DB) private readonly db: Kysely<AllocationDatabase>) {}

  /** Applies a batch of task events in one transaction (see stream-order.ts), per event. */
  async applyInOrder(batch: EntityEvent[], evolve: (row: TaskState | null, event: Envelope) => TaskState): Promise<Array<ApplyResult | OutOfOrderEvent>> {
    return this.db.transaction().execute(async (trx) => {
      const results = await this.applyRows(trx, batch, evolve);
      await assignTurns(trx, [...new Set(batch.map((e) => e.entityId))]);
      return results;
    });
  }

  private applyRows(
    trx: Transaction<AllocationDatabase>,
    batch: EntityEvent[],
    evolve: (row: TaskState | null, event: Envelope) => TaskState,
  ): Promise<Array<ApplyResult | OutOfOrderEvent>> {
    return applyInStreamOrder(
      batch,
      {
        loadMany: async (ids) => {
          const rows = await trx.selectFrom('tasks').selectAll().where('task_id', 'in', ids).orderBy('task_id').forUpdate().execute();
          return new Map(rows.map((r) => [r.task_id, toState(r)]));
        },
        updateMany: async (states) => {
          // Every row exists and is locked by us, so this upsert only ever updates.
          const rows = states.map(toRow);
          await trx
            .insertInto('tasks')
            .values(rows)
            .onConflict((oc) => oc.column('task_id').doUpdateSet(excludedColumns(rows[0]!, 'task_id', { updated_at: sql`now()` })))
            .execute();
        },
        insertMany: async (states) => {
          const inserted = await trx
            .insertInto('tasks')
            .values(states.map(toRow))
            .onConflict((oc) => oc.column('task_id').doNothing())
            .returning('task_id')
            .execute();
          const written = new Set(inserted.map((r) => r.task_id));
          return new Set(states.map((s) => s.taskId).filter((id) => !written.has(id)));
        },
      },
      evolve,
    );
  }

  /**
   * Tasks awaiting a decision and due by `now`, in allocation order (priority desc, then turn —
   * users take turns, see assignTurns — then created asc, then id), at most `limit` of them after
   * `after` (keyset paging: a pass reads page after page without skipping or repeating a task
   * while rows change under it).
   */
  async listPending(now: Date, limit: number, after?: PendingCursor): Promise<PendingTask[]> {
    // Every task the view shows has an owner, hence a turn and a creation time (TaskCreated set
    // both), so a cursor's position is a plain row of (turn, created, id) within its priority: the
    // tasks behind it are an index range — a page deep in a backlog of 10,000 reads its page, not
    // the 10,000 ahead of it (test/backlog-and-fleet.int.spec.ts). The rest of the queue is the
    // lower priorities, read only when that priority has fewer than a page left.
    if (after && after.createdAt !== null) {
      const samePriority = await this.pendingQuery(now)
        .where('priority', '=', after.priority)
        .where(sql<boolean>`(fair_turn, created_at, task_id) > (${after.turn}::bigint, ${after.createdAt}::timestamptz, ${after.taskId})`)
        .limit(limit)
        .execute();
      const lower =
        samePriority.length < limit
          ? await this.pendingQuery(now)
              .where('priority', '<', after.priority)
              .limit(limit - samePriority.length)
              .execute()
          : [];
      return [...samePriority, ...lower].map(toPendingTask);
    }
    let query = this.pendingQuery(now);
    if (after) {
      // A cursor without a creation time (none is pending in practice): the general predicate.
      // created_at sorts nulls last: a null is after every date and equal to another null.
      const createdAfter = after.createdAt === null ? sql<boolean>`false` : sql<boolean>`(created_at > ${after.createdAt}::timestamptz or created_at is null)`;
      const sameCreated = after.createdAt === null ? sql<boolean>`created_at is null` : sql<boolean>`created_at = ${after.createdAt}::timestamptz`;
      // Every pending task with an owner (all the view shows) has its turn, set in the transaction that made it pending.
      const turn = sql`fair_turn`;
      query = query.where(
        sql<boolean>`(priority < ${after.priority} or (priority = ${after.priority} and (${turn} > ${after.turn}::bigint or (${turn} = ${after.turn}::bigint and (${createdAfter} or (${sameCreated} and task_id > ${after.taskId}))))))`,
      );
    }
    return (await query.limit(limit).execute()).map(toPendingTask);
  }

  /** The due pending tasks in allocation order (priority desc, turn, created asc nulls last, id). */
  private pendingQuery(now: Date) {
    return (
      this.db
        .selectFrom('pending_tasks')
        .selectAll()
        // As text, so the cursor keeps Postgres' microseconds (a Date would round them away).
        .select(sql<string | null>`created_at::text`.as('created_key'))
        .where((eb) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', now)]))
        .orderBy('priority', 'desc')
        .orderBy('fair_turn')
        .orderBy(sql`created_at asc nulls last`)
        .orderBy('task_id')
    );
  }

  /** The earliest `notBefore` of a pending task still in the future, if any. */
  async nextNotBefore(now: Date): Promise<Date | null> {
    const row = await this.db
      .selectFrom('pending_tasks')
      .select((eb) => eb.fn.min('not_before').as('next'))
      .where('not_before', '>', now)
      .executeTakeFirst();
    return row?.next ? new Date(row.next) : null;
  }

  /** Every task placed on a worker and not finished, by worker id. */
  async listPlaced(): Promise<Map<string, PlacedTask[]>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select(['task_id', 'attempt', 'status', 'worker_id', 'bound_at'])
      .where('status', 'in', ['decided', 'assigned', 'running'])
      .where('worker_id', 'is not', null)
      .execute();
    const byWorker = new Map<string, PlacedTask[]>();
    for (const r of rows) {
      const list = byWorker.get(r.worker_id!) ?? [];
      list.push({ taskId: r.task_id, attempt: r.attempt, stage: r.status as PlacedTask['stage'], since: iso(r.bound_at) ?? new Date(0).toISOString() });
      byWorker.set(r.worker_id!, list);
    }
    return byWorker;
  }

  /**
   * group → where each of its tasks is placed or last ran (decided, assigned, running, and kept
   * once finished), for the anti-affinity groups named. A task requeued off a worker still counts
   * there until it is placed again.
   */
  async groupPlacements(groups: string[]): Promise<Map<string, GroupPlacement[]>> {
    const byGroup = new Map<string, GroupPlacement[]>(groups.map((g) => [g, []]));
    if (groups.length === 0) return byGroup;
    const rows = await this.db
      .selectFrom('tasks')
      .select(['anti_affinity', 'task_id', 'last_worker_id'])
      .where('anti_affinity', 'in', groups)
      .where('last_worker_id', 'is not', null)
      .execute();
    for (const r of rows) byGroup.get(r.anti_affinity!)?.push({ taskId: r.task_id, workerId: r.last_worker_id! });
    return byGroup;
  }

  /** `taskId#attempt` of these task attempts that allocation has seen finish (or be deleted). */
  async finishedAmong(attempts: Array<{ taskId: string; attempt: number }>): Promise<Set<string>> {
    if (attempts.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('tasks')
      .select(['task_id', 'attempt'])
      .where('task_id', 'in', [...new Set(attempts.map((a) => a.taskId))])
      .where('status', 'in', ['finished', 'deleted'])
      .execute();
    const finished = new Set(rows.map((r) => `${r.task_id}#${r.attempt}`));
    return new Set(attempts.map((a) => `${a.taskId}#${a.attempt}`).filter((key) => finished.has(key)));
  }

  /** ownerId → workerId → tasks of that owner placed on that worker since `since`. */
  async recentPlacements(since: Date): Promise<Map<string, Map<string, number>>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select((eb) => ['owner_id', 'last_worker_id', eb.fn.countAll<string>().as('n')])
      .where('last_worker_id', 'is not', null)
      .where('last_bound_at', '>', since)
      .groupBy(['owner_id', 'last_worker_id'])
      .execute();
    const result = new Map<string, Map<string, number>>();
    for (const r of rows) {
      if (!r.owner_id || !r.last_worker_id) continue;
      const perWorker = result.get(r.owner_id) ?? new Map<string, number>();
      perWorker.set(r.last_worker_id, Number(r.n));
      result.set(r.owner_id, perWorker);
    }
    return result;
  }

  /** Marks each task decided for its worker if it is still pending at that attempt (one statement). */
  async markDecided(decisions: Array<{ taskId: string; attempt: number; workerId: string }>, at: Date): Promise<void> {
    if (decisions.length === 0) return;
    const values = sql.join(decisions.map((d) => sql`(${d.taskId}, ${d.attempt}::int, ${d.workerId})`));
    await sql`
      update tasks t
         set status = 'decided', worker_id = d.worker_id, bound_at = ${at}, last_worker_id = d.worker_id, last_bound_at = ${at}, updated_at = now()
        from (values ${values}) as d(task_id, attempt, worker_id)
       where t.task_id = d.task_id and t.attempt = d.attempt and t.status = 'pending'`.execute(this.db);
  }

  /**
   * taskId → owner and attempts of these tasks (the ones follow-ups' workspace refs name), one
   * read per page of the queue; a task unknown here is absent.
   */
  async attemptsOf(taskIds: string[]): Promise<Map<string, { ownerId: string | null; attempts: Record<string, AttemptPlacement> }>> {
    if (taskIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('tasks')
      .select(['task_id', 'owner_id', 'attempts'])
      .where('task_id', 'in', [...new Set(taskIds)])
      // A deleted task's branches stay in the mirrors: a follow-up of it still needs the right worker.
      .execute();
    return new Map(rows.map((r) => [r.task_id, { ownerId: r.owner_id, attempts: r.attempts ?? {} }]));
  }

  /** The task's owner, or null when the task is unknown here or deleted. */
  async ownerOf(taskId: string): Promise<string | null> {
    const row = await this.db.selectFrom('tasks').select(['owner_id', 'status']).where('task_id', '=', taskId).executeTakeFirst();
    return row && row.status !== 'deleted' ? row.owner_id : null;
  }

  /** One task's row (tests and diagnostics). */
  async find(taskId: string): Promise<TaskState | null> {
    const row = await this.db.selectFrom('tasks').selectAll().where('task_id', '=', taskId).executeTakeFirst();
    return row ? toState(row) : null;
  }
}

/**
 * Fair share between users: start-time fair queueing with every user's weight 1. A task that
 * becomes pending takes the turn after the later of its owner's last turn and the clock (the turn
 * of the last task that left the queue); the queue is read by priority, then turn. A user with
 * 10,000 tasks queued holds turns far ahead of the clock, so another user's new task lands a turn
 * after the clock — next in line — instead of behind all 10,000. Within one user the order is
 * unchanged (their turns increase with time). A task leaving the queue (decided, cancelled)
 * advances the clock to its turn and gives its turn up; requeued, it takes a new one at its
 * owner's end of the line like any new task. One statement per batch, in the projection's
 * transaction, so turns are handed out in the order the events were applied.
 */
async function assignTurns(trx: Transaction<AllocationDatabase>, taskIds: string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await sql`
    with departed as (
      update tasks set fair_turn = null
      where task_id = any(${taskIds}) and status <> 'pending' and fair_turn is not null
      returning fair_turn),
    advanced as (
      update turn_clock set turn = greatest(turn, (select max(fair_turn) from departed))
      where id = 1 and exists (select 1 from departed)
      returning turn),
    clock as (select coalesce((select turn from advanced), (select turn from turn_clock where id = 1), 0) as turn),
    fresh as (
      select task_id, owner_id, row_number() over (partition by owner_id order by created_at nulls last, task_id) as n
      from tasks
      where task_id = any(${taskIds}) and status = 'pending' and fair_turn is null and owner_id is not null),
    starts as (
      select f.owner_id, greatest(coalesce(max(o.last_turn), 0), (select turn from clock)) as start, count(*) as k
      from fresh f left join owner_turns o on o.owner_id = f.owner_id
      group by f.owner_id),
    turned as (
      update tasks t set fair_turn = s.start + f.n
      from fresh f join starts s on s.owner_id = f.owner_id
      where t.task_id = f.task_id
      returning t.owner_id, t.fair_turn)
    insert into owner_turns (owner_id, last_turn)
    select owner_id, max(fair_turn) from turned group by owner_id
    on conflict (owner_id) do update set last_turn = excluded.last_turn`.execute(trx);
}
