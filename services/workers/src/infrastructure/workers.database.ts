/*
 * The workers service's own database (brief §2: no other service reads it). Write-side rows
 * that are not events (registration tokens, credential hashes), the read model projected from
 * the service's event store (worker_view, worker_roles) and the latest heartbeat per worker
 * (worker_liveness, written by the heartbeat path, not by the projection, so a projection
 * rebuild never loses it). The event store lives in the same database (schema `event_store`).
 * Migrations are in code, so the compiled service needs no migration files on disk.
 */
import { Kysely, Migrator, PostgresDialect, sql, type ColumnType, type Generated, type Migration, type MigrationProvider } from 'kysely';
import { openPool } from '@agentyard/event-store';
import type { Heartbeat, WorkerResources, WorkerTool } from '@agentyard/contracts';

/** A jsonb column: selected as `T`, written as its JSON text. */
type Json<T> = ColumnType<T, string, string>;

export interface RegistrationTokensTable {
  id: string;
  owner_id: string;
  /** sha-256 (hex) of the token's secret. */
  secret_hash: string;
  uses_left: number;
  expires_at: Date;
  labels: Json<string[]>;
  created_at: Generated<Date>;
}

export interface WorkerCredentialsTable {
  worker_id: string;
  /** sha-256 (hex) of the credential's secret. */
  secret_hash: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface WorkerViewTable {
  id: string;
  owner_id: string;
  name: string;
  hostname: string;
  platform: string;
  arch: string;
  agent_version: string;
  tools: Json<WorkerTool[]>;
  labels: Json<string[]>;
  slots: number;
  resources: Json<WorkerResources>;
  online: boolean;
  drained: boolean;
  credential_revoked: boolean;
  registered_at: ColumnType<Date, string, string>;
}

export interface WorkerRolesTable {
  worker_id: string;
  user_id: string;
  role: 'owner' | 'user';
}

export interface WorkerLivenessTable {
  worker_id: string;
  heartbeat: Json<Heartbeat>;
  last_seen_at: ColumnType<Date, Date | string, Date | string>;
}

export interface WorkersDatabase {
  registration_tokens: RegistrationTokensTable;
  worker_credentials: WorkerCredentialsTable;
  worker_view: WorkerViewTable;
  worker_roles: WorkerRolesTable;
  worker_liveness: WorkerLivenessTable;
}

const migrations: Record<string, Migration> = {
  '2026-11-28-001-workers': {
    async up(db) {
      await db.schema
        .createTable('registration_tokens')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('uses_left', 'integer', (c) => c.notNull().check(sql`uses_left >= 0`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('labels', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('worker_credentials')
        .addColumn('worker_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema
        .createTable('worker_view')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('arch', 'text', (c) => c.notNull())
        .addColumn('agent_version', 'text', (c) => c.notNull())
        .addColumn('tools', 'jsonb', (c) => c.notNull())
        .addColumn('labels', 'jsonb', (c) => c.notNull())
        .addColumn('slots', 'integer', (c) => c.notNull())
        .addColumn('resources', 'jsonb', (c) => c.notNull())
        .addColumn('online', 'boolean', (c) => c.notNull())
        .addColumn('drained', 'boolean', (c) => c.notNull())
        .addColumn('credential_revoked', 'boolean', (c) => c.notNull())
        .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
        .execute();
      // The sweeper scans online workers only.
      await sql`create index worker_view_online on worker_view (id) where online`.execute(db);
      await db.schema
        .createTable('worker_roles')
        .addColumn('worker_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'user')`))
        .addPrimaryKeyConstraint('worker_roles_pk', ['worker_id', 'user_id'])
        .execute();
      await db.schema.createIndex('worker_roles_user').on('worker_roles').columns(['user_id', 'worker_id']).execute();
      await db.schema
        .createTable('worker_liveness')
        .addColumn('worker_id', 'text', (c) => c.primaryKey())
        .addColumn('heartbeat', 'jsonb', (c) => c.notNull())
        .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Opens a kysely instance on the workers database. */
export function openWorkersDatabase(connectionString: string, max = 10): Kysely<WorkersDatabase> {
  // A connection that dies (server restart) fails its queries, never the process.
  const pool = openPool({ connectionString, max });
  return new Kysely<WorkersDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateWorkersDatabase(db: Kysely<WorkersDatabase>): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: 'workers_migrations',
    migrationLockTableName: 'workers_migrations_lock',
  }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`workers migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
