/*
 * Named subscriber checkpoints in the event store's schema. A projection passes its own kysely
 * transaction to `save` so the checkpoint commits with the rows it changed: after a crash it
 * resumes exactly where its committed rows end, and redelivery is harmless.
 */
import { sql, type Kysely, type QueryExecutorProvider, type RawBuilder } from 'kysely';
import type { KyselyTransaction } from './kysely-transaction';
import { assertSchemaName, DEFAULT_EVENT_STORE_SCHEMA } from './postgres-event-store.migrations';

export class PostgresCheckpointStore {
  private readonly table: RawBuilder<unknown>;

  private constructor(
    private readonly db: QueryExecutorProvider,
    schema: string,
  ) {
    assertSchemaName(schema);
    this.table = sql.raw(`${schema}.checkpoints`);
  }

  /** Checkpoints in `schema` (default `event_store`, migrated by migrateEventStore) through a caller's kysely. */
  static fromKysely<DB>(db: Kysely<DB>, options: { schema?: string } = {}): PostgresCheckpointStore {
    return new PostgresCheckpointStore(db, options.schema ?? DEFAULT_EVENT_STORE_SCHEMA);
  }

  /** The saved position of `name`, or 0n (from the start) when none was saved. */
  async load(name: string): Promise<bigint> {
    const { rows } = await sql<{ position: string }>`select position from ${this.table} where name = ${name}`.execute(this.db);
    return rows[0] ? BigInt(rows[0].position) : 0n;
  }

  /** Saves `position` for `name`, inside `trx` when given (commits with the caller's rows). */
  async save(name: string, position: bigint, trx?: KyselyTransaction): Promise<void> {
    await sql`
      insert into ${this.table} (name, position, updated_at) values (${name}, ${position.toString()}, now())
      on conflict (name) do update set position = excluded.position, updated_at = excluded.updated_at`.execute(trx ?? this.db);
  }
}
