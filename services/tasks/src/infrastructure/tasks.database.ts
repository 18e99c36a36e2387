/*
 * The tasks service's own database (no other service reads it). It holds the event store (schema
 * `event_store`, migrated by the store) and the `task_view` read model. The migrations live in
 * code (kysely Migrator over a map), so the compiled service needs no migration files on disk.
 */
import { Kysely, Migrator, PostgresDialect, sql, type ColumnType, type Migration, type MigrationProvider } from 'kysely';
import { openPool } from '@agentyard/event-store';
import type { TaskRequirements, TaskResult, TaskWorkflowRef } from '@agentyard/contracts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
/** jsonb: read as parsed JSON, written as a JSON string (pg would turn a top-level array into a Postgres array). */
type Json<T> = ColumnType<T, string, string>;

export interface TaskViewTable {
  id: string;
  owner_id: string;
  description: string;
  tool: string;
  input: Json<Record<string, unknown>>;
  priority: number;
  status: string;
  attempt: number;
  max_attempts: number;
  timeout_seconds: number;
  queue_timeout_seconds: number;
  heartbeat_timeout_seconds: number;
  requirements: Json<TaskRequirements>;
  worker_id: string | null;
  progress: number | null;
  result: ColumnType<TaskResult | null, string | null, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  version: number;
  lease_expires_at: NullableTimestamp;
  queued_at: NullableTimestamp;
  not_before: NullableTimestamp;
  deleted: boolean;
  workflow: ColumnType<TaskWorkflowRef | null, string | null, string | null>;
  stalls: ColumnType<number, number | undefined, number>;
  stalled_at: NullableTimestamp;
}

/** Agent usage per owner, UTC day and tool (usage.projection.ts), kept with task_view. */
export interface UsageDailyTable {
  owner_id: string;
  day: ColumnType<string, string, string>;
  tool: string;
  tasks: number;
  input_tokens: ColumnType<string, number, number>;
  output_tokens: ColumnType<string, number, number>;
  cached_input_tokens: ColumnType<string, number, number>;
  cost_usd: ColumnType<string, number, number>;
  cost_unknown_tasks: number;
}

/**
 * Attempts' logs and artifacts (postgres-artifact.store.ts): one row per upload, visible once
 * `complete`; its bytes in artifact_chunks. bigint columns read as strings.
 */
export interface ArtifactsTable {
  id: string;
  task_id: string;
  attempt: number;
  name: string;
  worker_id: string;
  sha256: string;
  declared_bytes: ColumnType<string | null, number | null, number | null>;
  max_bytes: ColumnType<string, number, number>;
  bytes: ColumnType<string, number | undefined, number>;
  chunks: ColumnType<number, number | undefined, number>;
  content_type: string;
  created_at: Timestamp;
  complete: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface ArtifactChunksTable {
  artifact_id: string;
  seq: number;
  data: Buffer;
}

/** Each owner's unfinished tasks (task-view.projection.ts `activeDeltas`), kept with task_view. */
export interface OwnerActiveTable {
  owner_id: string;
  active: number;
}

export interface TasksDatabase {
  task_view: TaskViewTable;
  owner_active: OwnerActiveTable;
  usage_daily: UsageDailyTable;
  artifacts: ArtifactsTable;
  artifact_chunks: ArtifactChunksTable;
}

const migrations: Record<string, Migration> = {
  '2026-11-29-001-task-view': {
    async up(db) {
      await db.schema
        .createTable('task_view')
        // text, not uuid: a malformed id in a request must be a 404, never a cast error (500).
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('input', 'jsonb', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
        .addColumn('queue_timeout_seconds', 'integer', (c) => c.notNull())
        .addColumn('heartbeat_timeout_seconds', 'integer', (c) => c.notNull())
        .addColumn('requirements', 'jsonb', (c) => c.notNull())
        .addColumn('worker_id', 'text')
        .addColumn('progress', 'integer')
        .addColumn('result', 'jsonb')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('started_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('lease_expires_at', 'timestamptz')
        .addColumn('queued_at', 'timestamptz')
        .addColumn('not_before', 'timestamptz')
        .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      // Keyset pagination per owner, for each sort key.
      await sql`create index task_view_owner_created on task_view (owner_id, created_at, id) where not deleted`.execute(db);
      await sql`create index task_view_owner_priority on task_view (owner_id, priority, id) where not deleted`.execute(db);
      // A worker's live tasks (worker went offline, pull mode).
      await sql`create index task_view_worker_active on task_view (worker_id, lease_expires_at) where status in ('assigned', 'running')`.execute(db);
      // The timeout scanner's three questions, each over only the rows it can concern.
      await sql`create index task_view_queued_since on task_view (queued_at) where status = 'queued'`.execute(db);
      await sql`create index task_view_lease on task_view (lease_expires_at) where status = 'assigned'`.execute(db);
      await sql`create index task_view_running_since on task_view (started_at) where status = 'running'`.execute(db);
    },
  },
  '2026-12-04-001-task-view-workflow': {
    async up(db) {
      // The run and node of a task a workflow created (null for tasks submitted directly).
      await db.schema.alterTable('task_view').addColumn('workflow', 'jsonb').execute();
    },
  },
  '2026-12-05-001-usage-daily': {
    async up(db) {
      // bigint and numeric: a busy team's tokens overflow an int within weeks; dollars need no float error.
      await sql`create table usage_daily (
        owner_id text not null,
        day date not null,
        tool text not null,
        tasks integer not null,
        input_tokens bigint not null,
        output_tokens bigint not null,
        cached_input_tokens bigint not null,
        cost_usd numeric(18, 6) not null,
        cost_unknown_tasks integer not null,
        primary key (owner_id, day, tool)
      )`.execute(db);
    },
  },
  '2026-12-05-002-task-view-owner-active': {
    async up(db) {
      // The per-user limit counts a user's unfinished tasks on every create: only those rows.
      await sql`create index task_view_owner_active on task_view (owner_id) where status in ('queued', 'assigned', 'running') and not deleted`.execute(db);
    },
  },
  '2026-12-08-001-artifacts': {
    async up(db) {
      await sql`create table artifacts (
        id text primary key,
        task_id text not null,
        attempt integer not null,
        name text not null,
        worker_id text not null,
        sha256 text not null,
        declared_bytes bigint,
        max_bytes bigint not null,
        bytes bigint not null default 0,
        chunks integer not null default 0,
        content_type text not null,
        created_at timestamptz not null,
        complete boolean not null default false
      )`.execute(db);
      // One visible artifact per (task, attempt, name): a commit swaps it under this index.
      await sql`create unique index artifacts_current on artifacts (task_id, attempt, name) where complete`.execute(db);
      // The sweeper's question: uploads begun long ago and never committed.
      await sql`create index artifacts_pending on artifacts (created_at) where not complete`.execute(db);
      await sql`create table artifact_chunks (
        artifact_id text not null references artifacts (id) on delete cascade,
        seq integer not null,
        data bytea not null,
        primary key (artifact_id, seq)
      )`.execute(db);
      // Logs compress, but most artifacts (archives, binaries) do not: skip pglz's attempt on each chunk.
      await sql`alter table artifact_chunks alter column data set storage external`.execute(db);
    },
  },
  '2026-12-08-002-task-view-stalls': {
    async up(db) {
      // The watchdog's flags: how often the task stalled, and when its current attempt last did.
      await sql`alter table task_view add column stalls integer not null default 0, add column stalled_at timestamptz`.execute(db);
    },
  },
  '2026-12-09-001-owner-active': {
    async up(db) {
      // The per-user limit read a count of the user's unfinished rows on every create: with a
      // backlog of 10,000, 10,000 index entries (and their heap pages) per POST. Now one row per
      // owner, kept by the task_view runner in its transaction, filled from task_view here. A
      // replica of the previous version still projecting after this would not keep it: upgrade
      // the replicas together, or run `replay` (which rebuilds it with task_view) after.
      await sql`create table owner_active (owner_id text primary key, active integer not null)`.execute(db);
      await fillOwnerActive(db);
    },
  },
};

/** Sets owner_active from task_view's unfinished rows (the migration that made it; a bulk-seeded task_view). */
export async function fillOwnerActive(db: Kysely<TasksDatabase>): Promise<void> {
  await sql`delete from owner_active`.execute(db);
  await sql`insert into owner_active (owner_id, active)
    select owner_id, count(*) from task_view where status in ('queued', 'assigned', 'running') and not deleted group by owner_id`.execute(db);
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Opens a kysely instance on the tasks database. */
export function openTasksDatabase(connectionString: string, max = 10): Kysely<TasksDatabase> {
  // A connection that dies (server restart) fails its queries, never the process.
  const pool = openPool({ connectionString, max });
  return new Kysely<TasksDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** Brings the tasks schema up to date; throws with the failing migration's name. */
export async function migrateTasksDatabase(db: Kysely<TasksDatabase>): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: 'tasks_migrations',
    migrationLockTableName: 'tasks_migrations_lock',
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`tasks migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
