/*
 * Named subscriber checkpoints in the event store's schema. A projection passes its own kysely
 * transaction to `save` so the checkpoint commits with the rows it changed: after a crash it
 * resumes exactly where its committed rows end, and redelivery is harmless.
 */
import { sql, type Kysely, type QueryExecutorProvider, type RawBuilder } from 'kysely';
import type { KyselyTransaction } from './kysely-transaction';
import { assertSchemaName, DEFAULT_EVENT_STORE_SCHEMA } from './postgres-event-store.migrations';
import { refusal, type LeaseFence } from './postgres-leases';

export class PostgresCheckpointStore {
  private readonly table: RawBuilder<unknown>;

  private constructor(
    private readonly db: QueryExecutorProvider,
    private readonly schema: string,
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

  /**
   * Saves `position` only while `fence`'s epoch is current (one statement: the lease row is read
   * FOR SHARE in the same transaction as the upsert); throws LeaseLost and writes nothing otherwise.
   */
  async saveFenced(name: string, position: bigint, fence: LeaseFence): Promise<void> {
    const { rows } = await sql`
      with fence as (
        select 1 from ${sql.raw(`${this.schema}.leases`)}
        where name = ${fence.lease} and epoch = ${fence.epoch.toString()} and holder is not null and expires_at > clock_timestamp() for share
      )
      insert into ${this.table} (name, position, updated_at) select ${name}, ${position.toString()}, now() from fence
      on conflict (name) do update set position = excluded.position, updated_at = excluded.updated_at
      returning 1`.execute(this.db);
    if (rows.length === 0) throw refusal(fence);
  }

  /** These checkpoints with every save fenced by `fence` (for a relay that runs on the lease's behalf). */
  fenced(fence: LeaseFence): { load(name: string): Promise<bigint>; save(name: string, position: bigint): Promise<void> } {
    return { load: (name) => this.load(name), save: (name, position) => this.saveFenced(name, position, fence) };
  }

  /**
   * Serialises the batches of `name` across replicas inside `trx` and returns the position
   * committed when this transaction got its turn (0n when none): a projection run by several
   * replicas applies a batch only if the checkpoint is still where it read from. A transaction-
   * scoped advisory lock rather than a row lock: waiting for it takes no transaction id, so a
   * waiting replica does not hold back the store's readers (whose horizon is the oldest running
   * transaction id), and it also covers the first batch, before the checkpoint row exists.
   * `asyncCommit`: the transaction commits without waiting for its WAL flush (SET LOCAL
   * synchronous_commit = off), set by the same statement as the lock — a round trip less per
   * batch. The checkpoint is read by a statement of its own: one that started before the lock was
   * granted would read with a snapshot older than the holder's commit.
   */
  async lockForUpdate(name: string, trx: KyselyTransaction, options: { asyncCommit?: boolean } = {}): Promise<bigint> {
    const lock = sql`pg_advisory_xact_lock(hashtextextended(${`checkpoint:${name}`}, 0))`;
    if (options.asyncCommit) await sql`select ${lock}, set_config('synchronous_commit', 'off', true)`.execute(trx);
    else await sql`select ${lock}`.execute(trx);
    const { rows } = await sql<{ position: string }>`select position from ${this.table} where name = ${name}`.execute(trx);
    return rows[0] ? BigInt(rows[0].position) : 0n;
  }
}
