/*
 * The workflows service's own database (no other service reads it): the event store (schema
 * `event_store`, streams `workflow-<id>` and `run-<id>`), the read models projected from it —
 * `workflow_view`, `schedule_view`, `run_view` — and saved templates (`workflow_template`, rows:
 * a template is a starting point, not history). A view row keeps the folded state it was made
 * from (`state`), so the API answers exactly what the decider knows, and a rebuilt row equals the
 * live one. Migrations are in code (kysely Migrator over a map).
 */
import { Kysely, Migrator, PostgresDialect, sql, type ColumnType, type Migration, type MigrationProvider } from 'kysely';
import { openPool } from '@agentyard/event-store';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
/** jsonb: read as parsed JSON, written as a JSON string. */
type Json<T> = ColumnType<T, string, string>;
type NullableJson<T> = ColumnType<T | null, string | null, string | null>;

export interface WorkflowViewTable {
  id: string;
  owner_id: string;
  name: string;
  description: string | null;
  kind: string;
  version: number;
  paused: boolean;
  deleted: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
  stream_version: number;
  state: Json<unknown>;
}

export interface ScheduleViewTable {
  schedule_id: string;
  workflow_id: string;
  owner_id: string;
  cron: string;
  timezone: string;
  overlap: string;
  missed: string;
  input: Json<Record<string, unknown>>;
  created_at: Timestamp;
  last_fire_at: NullableTimestamp;
  next_fire_at: NullableTimestamp;
  queued: NullableJson<{ fireAt: string; runId: string }>;
  paused: boolean;
}

export interface RunViewTable {
  id: string;
  workflow_id: string;
  workflow_version: number;
  owner_id: string;
  name: string;
  kind: string;
  status: string;
  schedule_id: string | null;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  updated_at: Timestamp;
  error: string | null;
  /** When a Tick could change the run (approval default, time limit); null when nothing waits on time. */
  next_deadline: NullableTimestamp;
  version: number;
  state: Json<unknown>;
}

export interface WorkflowTemplateTable {
  id: string;
  owner_id: string;
  name: string;
  description: string | null;
  kind: string;
  parameters: Json<unknown[]>;
  definition: Json<unknown>;
  created_at: Timestamp;
}

export interface WorkflowsDatabase {
  workflow_view: WorkflowViewTable;
  schedule_view: ScheduleViewTable;
  run_view: RunViewTable;
  workflow_template: WorkflowTemplateTable;
}

const migrations: Record<string, Migration> = {
  '2026-12-04-001-workflows': {
    async up(db) {
      await db.schema
        .createTable('workflow_view')
        // text, not uuid: a malformed id in a request must be a 404, never a cast error (500).
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('paused', 'boolean', (c) => c.notNull())
        .addColumn('deleted', 'boolean', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('stream_version', 'integer', (c) => c.notNull())
        .addColumn('state', 'jsonb', (c) => c.notNull())
        .execute();
      await sql`create index workflow_view_owner on workflow_view (owner_id, created_at desc, id) where not deleted`.execute(db);

      await db.schema
        .createTable('schedule_view')
        .addColumn('schedule_id', 'text', (c) => c.primaryKey())
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('cron', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('overlap', 'text', (c) => c.notNull())
        .addColumn('missed', 'text', (c) => c.notNull())
        .addColumn('input', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('last_fire_at', 'timestamptz')
        .addColumn('next_fire_at', 'timestamptz')
        .addColumn('queued', 'jsonb')
        .addColumn('paused', 'boolean', (c) => c.notNull())
        .execute();
      await sql`create index schedule_view_workflow on schedule_view (workflow_id)`.execute(db);
      // The scheduler's question at every tick: what is due (or queued)?
      await sql`create index schedule_view_due on schedule_view (next_fire_at)`.execute(db);

      await db.schema
        .createTable('run_view')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('workflow_version', 'integer', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('schedule_id', 'text')
        .addColumn('started_at', 'timestamptz', (c) => c.notNull())
        .addColumn('finished_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('next_deadline', 'timestamptz')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('state', 'jsonb', (c) => c.notNull())
        .execute();
      await sql`create index run_view_owner on run_view (owner_id, started_at desc, id)`.execute(db);
      await sql`create index run_view_workflow on run_view (workflow_id, started_at desc, id)`.execute(db);
      await sql`create index run_view_active_schedule on run_view (schedule_id) where status in ('running', 'paused')`.execute(db);
      await sql`create index run_view_active_workflow on run_view (workflow_id) where status in ('running', 'paused')`.execute(db);
      await sql`create index run_view_deadline on run_view (next_deadline) where next_deadline is not null`.execute(db);

      await db.schema
        .createTable('workflow_template')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('parameters', 'jsonb', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await sql`create index workflow_template_owner on workflow_template (owner_id, created_at desc)`.execute(db);
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Opens a kysely instance on the workflows database. */
export function openWorkflowsDatabase(connectionString: string, max = 10): Kysely<WorkflowsDatabase> {
  // A connection that dies (server restart) fails its queries, never the process.
  const pool = openPool({ connectionString, max });
  return new Kysely<WorkflowsDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** Brings the workflows schema up to date; throws with the failing migration's name. */
export async function migrateWorkflowsDatabase(db: Kysely<WorkflowsDatabase>): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: 'workflows_migrations',
    migrationLockTableName: 'workflows_migrations_lock',
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`workflows migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
