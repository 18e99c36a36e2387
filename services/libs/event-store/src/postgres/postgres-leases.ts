/*
 * Leases with a fencing epoch in the service's own database (table `<schema>.leases`, migration
 * 0002). The database's clock (`clock_timestamp()`) is the only one that decides expiry, so
 * holders' clocks never have to agree.
 *
 * Invariants (tested in lease/lease.int.spec.ts against real Postgres):
 *  - acquiring is one conditional upsert: it succeeds only when the lease is free (released),
 *    expired, or held under the same holder id (a restarted process of the same pod/port: the
 *    dead incarnation cannot write any more), and then bumps the epoch — two keepers racing for a
 *    free lease get one epoch each at most once, and never the same one;
 *  - a renewal succeeds only for the current, unexpired epoch of the same holder, and keeps the
 *    epoch: a holder that was paused past its expiry cannot renew, it must acquire again;
 *  - a write fenced by an epoch (`assertLeaseCurrent`, or the single-statement variants in
 *    PostgresCheckpointStore.fenced and PostgresEventStore.fenced) runs only while that epoch is
 *    current and unexpired, checked in the write's own transaction with `FOR SHARE`: an acquisition
 *    that would bump the epoch waits for the write's commit, and a write that waited for an
 *    acquisition re-reads the row and finds the new epoch. So once a standby holds epoch E+1,
 *    nothing written under epoch E can commit.
 */
import { sql, type Kysely, type QueryExecutorProvider, type RawBuilder } from 'kysely';
import { assertSchemaName, DEFAULT_EVENT_STORE_SCHEMA } from './postgres-event-store.migrations';

/** The epoch a write is made under. `refused` is called when the database refuses it. */
export interface LeaseFence {
  readonly lease: string;
  readonly epoch: bigint;
  refused?(): void;
}

/** A write under an epoch that is no longer the lease's current one (or expired): nothing was written. */
export class LeaseLost extends Error {
  constructor(
    readonly lease: string,
    readonly epoch: bigint,
  ) {
    super(`lease ${lease}: epoch ${epoch} is no longer current; the write was refused`);
    this.name = 'LeaseLost';
  }
}

/** The lease row as stored. */
export interface LeaseRow {
  holder: string | null;
  epoch: bigint;
  expiresAt: Date;
}

/** SQL of the fencing condition: the row of `lease` at `epoch`, held and unexpired, locked FOR SHARE. */
export function fenceQuery(schema: string, fence: LeaseFence): RawBuilder<{ ok: number }> {
  assertSchemaName(schema);
  return sql<{ ok: number }>`select 1 as ok from ${sql.raw(`${schema}.leases`)}
    where name = ${fence.lease} and epoch = ${fence.epoch.toString()} and holder is not null and expires_at > clock_timestamp() for share`;
}

/** Throws LeaseLost unless `fence` is current; run it inside the transaction of the fenced write. */
export async function assertLeaseCurrent(executor: QueryExecutorProvider, schema: string, fence: LeaseFence): Promise<void> {
  const { rows } = await fenceQuery(schema, fence).execute(executor);
  if (rows.length === 0) throw refusal(fence);
}

/** The LeaseLost error for `fence`, after telling the fence (for its metric). */
export function refusal(fence: LeaseFence): LeaseLost {
  fence.refused?.();
  return new LeaseLost(fence.lease, fence.epoch);
}

/** Acquire, renew and release of named leases in `<schema>.leases`. */
export class PostgresLeases {
  private readonly table: RawBuilder<unknown>;

  private constructor(
    private readonly db: QueryExecutorProvider,
    readonly schema: string,
  ) {
    assertSchemaName(schema);
    this.table = sql.raw(`${schema}.leases`);
  }

  /** Leases in `schema` (default `event_store`, migrated by migrateEventStore) through a caller's kysely. */
  static fromKysely<DB>(db: Kysely<DB>, options: { schema?: string } = {}): PostgresLeases {
    return new PostgresLeases(db, options.schema ?? DEFAULT_EVENT_STORE_SCHEMA);
  }

  /** Takes `name` for `holder` when it is free, expired or already `holder`'s, with a new epoch; null when someone else holds it. */
  async tryAcquire(name: string, holder: string, ttlMs: number): Promise<bigint | null> {
    const { rows } = await sql<{ epoch: string }>`
      insert into ${this.table} as l (name, holder, epoch, expires_at)
      values (${name}, ${holder}, 1, clock_timestamp() + ${ttlMs} * interval '1 millisecond')
      on conflict (name) do update set holder = excluded.holder, epoch = l.epoch + 1, expires_at = excluded.expires_at
        where l.holder is null or l.expires_at <= clock_timestamp() or l.holder = excluded.holder
      returning epoch`.execute(this.db);
    return rows[0] ? BigInt(rows[0].epoch) : null;
  }

  /** Extends `holder`'s tenure `epoch` by `ttlMs` from now; false when it is not current or already expired. */
  async renew(name: string, holder: string, epoch: bigint, ttlMs: number): Promise<boolean> {
    const { rows } = await sql`
      update ${this.table} set expires_at = clock_timestamp() + ${ttlMs} * interval '1 millisecond'
      where name = ${name} and holder = ${holder} and epoch = ${epoch.toString()} and expires_at > clock_timestamp()
      returning 1`.execute(this.db);
    return rows.length > 0;
  }

  /** Frees tenure `epoch` at once (graceful shutdown); the next acquisition bumps the epoch. */
  async release(name: string, holder: string, epoch: bigint): Promise<boolean> {
    const { rows } = await sql`
      update ${this.table} set holder = null, expires_at = clock_timestamp()
      where name = ${name} and holder = ${holder} and epoch = ${epoch.toString()}
      returning 1`.execute(this.db);
    return rows.length > 0;
  }

  /** The lease as stored, or null when it was never acquired. */
  async current(name: string): Promise<LeaseRow | null> {
    const { rows } = await sql<{ holder: string | null; epoch: string; expires_at: Date }>`
      select holder, epoch, expires_at from ${this.table} where name = ${name}`.execute(this.db);
    const row = rows[0];
    return row ? { holder: row.holder, epoch: BigInt(row.epoch), expiresAt: row.expires_at } : null;
  }
}
