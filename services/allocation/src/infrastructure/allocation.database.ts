/*
 * Allocation's own database (brief §2: no other service reads it). Read models projected from
 * other services' JetStream events — `tasks` (with the `pending_tasks` view over it) and
 * `workers` — plus the event store's schema holding the `allocation-<taskId>` streams.
 * Migrations are in code (kysely Migrator over a map), so the compiled service needs no files.
 */
import { Kysely, Migrator, PostgresDialect, sql, type ColumnType, type Migration, type MigrationProvider } from 'kysely';
import { openPool } from '@agentyard/event-store';

type Json<T> = ColumnType<T, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface TasksTable {
  task_id: string;
  version: number;
  owner_id: string | null;
  tool: string | null;
  requirements: Json<Record<string, unknown>>;
  model: string | null;
  priority: number;
  created_at: Timestamp | null;
  status: string;
  attempt: number;
  not_before: Timestamp | null;
  queued_event_id: string | null;
  correlation_id: string | null;
  worker_id: string | null;
  bound_at: Timestamp | null;
  last_worker_id: string | null;
  last_bound_at: Timestamp | null;
  /** `requirements.antiAffinity`, as a column so the group's placements are one indexed read. */
  anti_affinity: string | null;
  /** attempt → { workerId, pushed }: where each attempt's workspace branch lives. */
  attempts: Json<Record<string, { workerId: string; pushed: boolean }>>;
  /** The attempt whose branch this task's workspace ref names ({ taskId, attempt }), or null. */
  continues: Json<{ taskId: string; attempt: number } | null>;
  /**
   * The task's turn among users (fair share): set when it becomes pending, from its owner's last
   * turn and the platform's clock (see TaskRepository.assignTurns); null while not pending.
   */
  fair_turn: ColumnType<string | null, never, never>;
  updated_at: ColumnType<Date, never, Date>;
}

/** Each owner's last turn handed out (fair share). */
export interface OwnerTurnsTable {
  owner_id: string;
  last_turn: ColumnType<string, string | number, string | number>;
}

/** One row: the turn of the last task that left the queue (fair share's virtual clock). */
export interface TurnClockTable {
  id: number;
  turn: ColumnType<string, string | number, string | number>;
}

export interface WorkersTable {
  worker_id: string;
  version: number;
  registered: boolean;
  owner_id: string | null;
  roles: Json<Record<string, 'owner' | 'user'>>;
  /** WorkerRegistered's name (reasons name the worker); null for a row projected before the column. */
  name: string | null;
  tools: Json<{ name: string; version: string | null }[]>;
  labels: Json<string[]>;
  slots: number;
  resources: Json<{ cpus: number; memoryMb: number; diskMb: number } | null>;
  online: boolean;
  drained: boolean;
  revoked: boolean;
  updated_at: ColumnType<Date, never, Date>;
}

/** Read-only view: the tasks waiting for a decision. */
export interface PendingTasksView {
  task_id: string;
  owner_id: string;
  tool: string;
  requirements: Record<string, unknown>;
  model: string | null;
  priority: number;
  created_at: Date | null;
  attempt: number;
  not_before: Date | null;
  queued_event_id: string | null;
  correlation_id: string | null;
  continues: { taskId: string; attempt: number } | null;
  /** bigint, as text (pg's default for int8). */
  fair_turn: string | null;
}

export interface AllocationDatabase {
  tasks: TasksTable;
  workers: WorkersTable;
  pending_tasks: PendingTasksView;
  owner_turns: OwnerTurnsTable;
  turn_clock: TurnClockTable;
}

const migrations: Record<string, Migration> = {
  '2026-11-29-001-tasks-and-workers': {
    async up(db) {
      await db.schema
        .createTable('tasks')
        .addColumn('task_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        .addColumn('tool', 'text')
        .addColumn('requirements', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('model', 'text')
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('not_before', 'timestamptz')
        .addColumn('queued_event_id', 'text')
        .addColumn('correlation_id', 'text')
        .addColumn('worker_id', 'text')
        .addColumn('bound_at', 'timestamptz')
        .addColumn('last_worker_id', 'text')
        .addColumn('last_bound_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await sql`create index tasks_pending_order on tasks (priority desc, created_at asc) where status = 'pending'`.execute(db);
      await sql`create index tasks_placed on tasks (worker_id) where status in ('decided', 'assigned', 'running')`.execute(db);
      await sql`create index tasks_recent_placements on tasks (last_bound_at) where last_worker_id is not null`.execute(db);
      await sql`
        create view pending_tasks as
        select task_id, owner_id, tool, requirements, model, priority, created_at, attempt, not_before, queued_event_id, correlation_id
        from tasks where status = 'pending' and owner_id is not null and tool is not null`.execute(db);
      await db.schema
        .createTable('workers')
        .addColumn('worker_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('registered', 'boolean', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        .addColumn('roles', 'jsonb', (c) => c.notNull())
        .addColumn('tools', 'jsonb', (c) => c.notNull())
        .addColumn('labels', 'jsonb', (c) => c.notNull())
        .addColumn('slots', 'integer', (c) => c.notNull())
        .addColumn('resources', 'jsonb')
        .addColumn('online', 'boolean', (c) => c.notNull())
        .addColumn('drained', 'boolean', (c) => c.notNull())
        .addColumn('revoked', 'boolean', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '2026-12-04-001-tasks-anti-affinity': {
    async up(db) {
      // A plain column (set by the projection), not a generated one: adding it rewrites nothing.
      await db.schema.alterTable('tasks').addColumn('anti_affinity', 'text').execute();
      await sql`update tasks set anti_affinity = requirements->>'antiAffinity' where requirements ? 'antiAffinity'`.execute(db);
      // Only tasks of a group are indexed: the (vast) rest cost the index nothing.
      await sql`create index tasks_anti_affinity on tasks (anti_affinity) where anti_affinity is not null`.execute(db);
    },
  },
  '2026-12-05-001-attempt-branches-and-worker-names': {
    async up(db) {
      // Tasks projected before these columns have no recorded attempts: a follow-up of theirs is placed like any task.
      await db.schema
        .alterTable('tasks')
        .addColumn('attempts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('continues', 'jsonb')
        .execute();
      await db.schema.alterTable('workers').addColumn('name', 'text').execute();
      // `or replace` may only append columns: the existing ones keep their order.
      await sql`
        create or replace view pending_tasks as
        select task_id, owner_id, tool, requirements, model, priority, created_at, attempt, not_before, queued_event_id, correlation_id, continues
        from tasks where status = 'pending' and owner_id is not null and tool is not null`.execute(db);
    },
  },
  '2026-12-06-001-fair-share': {
    async up(db) {
      // Start-time fair queueing between users (TaskRepository.assignTurns): within a priority,
      // pending tasks go by turn, and a user's turns start no earlier than the clock.
      await db.schema.alterTable('tasks').addColumn('fair_turn', 'bigint').execute();
      await db.schema
        .createTable('owner_turns')
        .addColumn('owner_id', 'text', (c) => c.primaryKey())
        .addColumn('last_turn', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('turn_clock')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('turn', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into turn_clock (id, turn) values (1, 0)`.execute(db);
      // Tasks already waiting: each owner's in their order, starting together.
      await sql`
        update tasks t set fair_turn = r.n from (
          select task_id, row_number() over (partition by owner_id order by created_at nulls last, task_id) as n
          from tasks where status = 'pending' and owner_id is not null) r
        where t.task_id = r.task_id`.execute(db);
      await sql`insert into owner_turns (owner_id, last_turn) select owner_id, max(fair_turn) from tasks where fair_turn is not null group by owner_id`.execute(
        db,
      );
      await sql`drop index tasks_pending_order`.execute(db);
      await sql`create index tasks_pending_order on tasks (priority desc, fair_turn asc, created_at asc, task_id) where status = 'pending'`.execute(db);
      await sql`
        create or replace view pending_tasks as
        select task_id, owner_id, tool, requirements, model, priority, created_at, attempt, not_before, queued_event_id, correlation_id, continues, fair_turn
        from tasks where status = 'pending' and owner_id is not null and tool is not null`.execute(db);
    },
  },
  '2026-12-06-002-available-workers-and-due-tasks': {
    async up(db) {
      // A pass loads only the workers that could take work; the offline rest (most of a large
      // fleet) is counted, not read row by row (issue #14).
      await sql`create index workers_available on workers (worker_id) where registered and online and not revoked and not drained`.execute(db);
      // The next wake-up of a task queued with notBefore, without scanning the whole queue.
      await sql`create index tasks_pending_not_before on tasks (not_before) where status = 'pending' and not_before is not null`.execute(db);
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Opens a kysely instance on allocation's database. */
export function openAllocationDatabase(connectionString: string, max = 10): Kysely<AllocationDatabase> {
  // A connection that dies (server restart) fails its queries, never the process.
  const pool = openPool({ connectionString, max });
  return new Kysely<AllocationDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** Brings allocation's schema up to date; throws with the failing migration's name. */
export async function migrateAllocationDatabase(db: Kysely<AllocationDatabase>): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: 'allocation_migrations',
    migrationLockTableName: 'allocation_migrations_lock',
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`allocation migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
