/*
 * The default event store: Postgres through kysely + pg.
 *
 * Global order invariant: readers (readAll, subscribeToAll) see only events of transactions older
 * than every transaction still running in this database (`transaction_id <` the horizon in
 * `statements().readAll`; transactions of the cluster's other databases cannot write here and
 * do not count) — in (transaction_id, insertion) order, and the position handed out is that order as one number
 * (`transaction_id * 2^16 + ordinal`, see log-position.ts). So positions are strictly increasing in
 * delivery order and `readAll({ fromPosition })` resumes without gaps or duplicates: a transaction
 * that commits late holds readers back until it ends instead of being skipped. No timeouts or
 * clocks are involved. A long-running write transaction in this database therefore delays
 * (never reorders) delivery. Proven by postgres-event-store.int.spec.ts (late commit, rollback,
 * three slow transactions) and the contract suite's hammer test.
 *
 * Concurrency: the `streams` row of a stream is the optimistic lock (see the migration's
 * append_to_stream); a wrong expected version writes nothing and throws VersionConflict.
 *
 * Idempotency: appending a batch whose event ids are all stored already, in this stream and order,
 * returns the original result (a retry after a lost reply). Any other reuse of a stored event id
 * throws DuplicateEventId and writes nothing.
 */
import type { CorrelationMetadata, Envelope, NewEvent } from '@agentyard/contracts';
import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, sql, type QueryExecutorProvider, type QueryResult } from 'kysely';
import { openPool } from './open-pool';
import {
  DuplicateEventId,
  VersionConflict,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
} from '../event-store.port';
import { AppendListener, AppendNotifier, type AppendSignal } from './append-notifications';
import type { KyselyTransaction } from './kysely-transaction';
import { GroupCommitter, type BatchItemOutcome, type QueuedAppend } from './group-commit';
import { MAX_EVENTS_PER_TRANSACTION, ORDINAL_BITS } from './log-position';
import { PollingSubscription } from './polling-subscription';
import { preparedStatementPool } from './prepared-statement-pool';
import { PostgresCheckpointStore } from './postgres-checkpoint-store';
import { assertLeaseCurrent, refusal, type LeaseFence } from './postgres-leases';
import { appendChannel, assertSchemaName, DEFAULT_EVENT_STORE_SCHEMA, MAX_APPENDS_PER_BATCH, migrateEventStore } from './postgres-event-store.migrations';

export interface PostgresEventStoreOptions {
  /** Postgres schema holding the store's tables. Default `event_store`. */
  schema?: string;
  /** Longest wait of an idle subscription between reads when no notification arrives. Default 500 ms. */
  pollIntervalMs?: number;
  /** Connection used for LISTEN by subscriptions. Default: none, subscriptions only poll. */
  listenConnectionString?: string;
  /** At most one NOTIFY per this many ms after standalone appends. Default 10 ms. */
  notifyIntervalMs?: number;
  /**
   * Group commit: standalone appends issued while another is in flight wait for it, then go
   * together in one statement and one commit, each keeping its own outcome (group-commit.ts).
   * fenced() appends are batched among themselves (one lease check per batch); appendInTransaction()
   * appends never are. Default: the environment
   * variable AGENTYARD_EVENT_STORE_GROUP_COMMIT (`1` on, `0` off), else on — measured in the
   * platform (bench/README.md, "Group commit in the platform"): tasks' commits per task 7.1 → 4.3,
   * Postgres' CPU per task ~0.83×, the whole platform's ~0.89×.
   */
  groupCommit?: boolean;
  /** With groupCommit, how long a lone append waits for company when nothing is in flight. Default 0 (never waits). */
  groupCommitWaitMs?: number;
  /** With groupCommit, batches in flight at once. Default 1. */
  groupCommitMaxInFlight?: number;
}

/** The groupCommit default when the options do not say: AGENTYARD_EVENT_STORE_GROUP_COMMIT, else on. */
function groupCommitFromEnvironment(): boolean {
  const value = process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT;
  if (value === undefined || value === '') return true;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new Error(`AGENTYARD_EVENT_STORE_GROUP_COMMIT must be 1 or 0, got ${JSON.stringify(value)}`);
}

export interface PostgresEventStoreConnectOptions extends Omit<PostgresEventStoreOptions, 'listenConnectionString'> {
  connectionString: string;
  /** Connections in the store's pool (LISTEN uses one more). Default 10. */
  poolSize?: number;
}

/** The store's tables, as a type for its own kysely instance (it only runs raw SQL). */
interface EventStoreTables {
  events: {
    position: bigint;
    global_position: bigint;
    stream_id: string;
    stream_version: number;
    event_id: string;
    type: string;
    version: number;
    data: unknown;
    metadata: unknown;
    occurred_at: Date;
  };
  streams: { stream_id: string; version: number };
  checkpoints: { name: string; position: bigint; updated_at: Date };
}

interface EventRow {
  position: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  metadata: CorrelationMetadata;
  occurred_at: Date;
}

interface AppendRow {
  o_status: 'appended' | 'stored' | 'conflict' | 'duplicate';
  o_version: string | null;
  o_position: string | null;
}

interface BatchRow extends Omit<AppendRow, 'o_status'> {
  o_index: number;
  o_status: AppendRow['o_status'] | 'retry' | 'lease_lost';
  o_sqlstate: string | null;
}

interface PgError {
  code?: string;
  constraint?: string;
}

const EVENT_COLUMNS = 'position, stream_id, stream_version, event_id, type, version, data, metadata, occurred_at';

/** The store's hot SQL, fixed per schema, so it can run as named prepared statements. */
function statements(schema: string) {
  return {
    append: `select o_status, o_version, o_position from ${schema}.append_to_stream($1, $2, $3::jsonb, $4)`,
    appendBatch: `select o_index, o_status, o_version, o_position, o_sqlstate from ${schema}.append_batch($1::jsonb)`,
    appendFenced: `select o_index, o_status, o_version, o_position, o_sqlstate from ${schema}.append_fenced($1, $2::bigint, $3::jsonb)`,
    // The horizon: the oldest transaction still running that could append here, else the
    // snapshot's xmax. A running transaction of *another database* of the cluster can never write
    // to this one, so it does not count (pg_stat_activity says which database a running xid's
    // backend is in; an xid it does not show counts, to be safe). Both predicates say the same
    // (position = transaction_id * 2^16 + ordinal): the transaction_id one is the rule, the
    // position one lets the index scan stop at the horizon.
    readAll: `with snap as materialized (select pg_current_snapshot() as s),
      horizon as materialized (
        select least(
          pg_snapshot_xmax((select s from snap)),
          (select min(x) from snap, pg_snapshot_xip(snap.s) as x
            where not exists (
              select 1 from pg_stat_activity a
               where a.backend_xid::text = (x::text::bigint % 4294967296)::text
                 and a.datid <> (select oid from pg_database where datname = current_database())))
        ) as h)
      select ${EVENT_COLUMNS} from ${schema}.events, horizon
      where position > $1::bigint
        and position < horizon.h::text::bigint * ${1n << ORDINAL_BITS}
        and transaction_id < horizon.h
      order by position
      limit $2`,
    readStream: `select ${EVENT_COLUMNS} from ${schema}.events
      where stream_id = $1 and stream_version >= $2
      order by stream_version
      limit $3`,
    streamVersion: `select version from ${schema}.streams where stream_id = $1`,
  };
}

type Statements = ReturnType<typeof statements>;

/** Short names (Postgres truncates statement names to 63 bytes), distinct per schema and statement. */
function statementNames(schema: string): Map<string, string> {
  const tag = createHash('sha1').update(schema).digest('hex').slice(0, 10);
  return new Map(Object.entries(statements(schema)).map(([key, text]) => [text, `event_store_${tag}_${key}`]));
}

/** Items of a batch as one JSON document; each item's events as appendToStream sends them. */
function batchPayload(items: QueuedAppend[]): string {
  return `[${items
    .map((item) => `{"s":${JSON.stringify(item.streamId)},"x":${JSON.stringify(expectedVersionArgument(item.expected))},"v":${JSON.stringify(item.events)}}`)
    .join(',')}]`;
}

function run<R>(executor: QueryExecutorProvider, text: string, parameters: unknown[]): Promise<QueryResult<R>> {
  return executor.getExecutor().executeQuery<R>(CompiledQuery.raw(text, parameters));
}

function toEnvelope(row: EventRow): Envelope {
  return {
    id: row.event_id,
    type: row.type,
    version: row.version,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    globalPosition: row.position,
    occurredAt: row.occurred_at.toISOString(),
    data: row.data,
    metadata: row.metadata,
  };
}

function expectedVersionArgument(expected: ExpectedVersion): string {
  if (typeof expected === 'number') {
    if (!Number.isSafeInteger(expected) || expected < 0) throw new RangeError(`expected version must be a whole number ≥ 0, got ${expected}`);
    return String(expected);
  }
  return expected;
}

/** True when a stream at `actual` satisfies `expected` (0 = absent). */
function satisfiesExpectedVersion(expected: ExpectedVersion, actual: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === 0;
    case 'stream_exists':
      return actual > 0;
    default:
      return actual === expected;
  }
}

/** Event store on Postgres; see the module comment for its ordering and concurrency guarantees. */
export class PostgresEventStore implements EventStore {
  /** Checkpoints in the same schema, for subscribers that save them with their own rows. */
  readonly checkpoints: PostgresCheckpointStore;
  readonly schema: string;
  private readonly db: Kysely<EventStoreTables>;
  private readonly statements: Statements;
  private readonly notifier: AppendNotifier;
  private readonly listener: AppendListener;
  private readonly subscriptions = new Set<PollingSubscription>();
  /** Woken in-process right after a standalone append commits (no NOTIFY round trip). */
  private readonly localSignals = new Set<AppendSignal>();
  private readonly pollIntervalMs: number;
  /** Set when group commit is on: standalone appends go through it. */
  private readonly committer: GroupCommitter | undefined;
  private closed = false;

  private constructor(
    db: Kysely<EventStoreTables>,
    options: PostgresEventStoreOptions,
    private readonly ownsDb: boolean,
  ) {
    this.schema = options.schema ?? DEFAULT_EVENT_STORE_SCHEMA;
    assertSchemaName(this.schema);
    this.db = db;
    this.statements = statements(this.schema);
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.notifier = new AppendNotifier(db, appendChannel(this.schema), options.notifyIntervalMs ?? 10);
    this.listener = new AppendListener(options.listenConnectionString, appendChannel(this.schema));
    this.checkpoints = PostgresCheckpointStore.fromKysely(db, { schema: this.schema });
    if (options.groupCommit ?? groupCommitFromEnvironment()) {
      this.committer = new GroupCommitter(
        {
          appendOne: (item) => this.append(this.db, item.streamId, item.events, { expectedVersion: item.expected }, false),
          appendMany: (items) => this.appendMany(items),
        },
        {
          maxAppends: MAX_APPENDS_PER_BATCH,
          maxEvents: MAX_EVENTS_PER_TRANSACTION,
          maxInFlight: options.groupCommitMaxInFlight,
          waitMs: options.groupCommitWaitMs,
        },
      );
    }
  }

  /** True when concurrent standalone appends of this instance share commits (options.groupCommit). */
  get groupCommit(): boolean {
    return this.committer !== undefined;
  }

  /** Opens a pool of its own on `connectionString` (closed by `close()`); does not migrate. */
  static async connect(options: PostgresEventStoreConnectOptions): Promise<PostgresEventStore> {
    const schema = options.schema ?? DEFAULT_EVENT_STORE_SCHEMA;
    assertSchemaName(schema);
    const groupCommit = options.groupCommit ?? groupCommitFromEnvironment(); // a bad value fails before a pool is opened
    // A connection that dies (server restart, admin kill) fails its queries, never the process (open-pool.ts).
    const pool = openPool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
    const db = new Kysely<EventStoreTables>({
      dialect: new PostgresDialect({ pool: preparedStatementPool(pool, statementNames(schema)) }),
    });
    try {
      await sql`select 1`.execute(db); // fail fast on a wrong connection string
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return new PostgresEventStore(db, { ...options, groupCommit, listenConnectionString: options.connectionString }, true);
  }

  /** Uses a caller's kysely instance (any database type); `close()` leaves it open. */
  static fromKysely<DB>(db: Kysely<DB>, options: PostgresEventStoreOptions = {}): PostgresEventStore {
    return new PostgresEventStore(db as unknown as Kysely<EventStoreTables>, options, false);
  }

  /** Creates or upgrades the store's tables (idempotent; run it at boot). */
  async migrate(): Promise<void> {
    await migrateEventStore(this.db, { schema: this.schema });
  }

  async appendToStream(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    let result: AppendResult;
    if (this.committer && events.length > 0) {
      const expected = options.expectedVersion ?? 'any';
      expectedVersionArgument(expected); // a bad expected version throws here, not inside someone else's batch
      result = await this.committer.append({ streamId, events, expected });
    } else {
      result = await this.append(this.db, streamId, events, options, false);
    }
    if (events.length > 0) {
      this.notifier.appended(result.lastPosition);
      for (const signal of this.localSignals) signal.signal(result.lastPosition);
    }
    return result;
  }

  /**
   * Appends inside the caller's transaction, so the caller's own rows and these events commit or
   * roll back together (the outbox). Subscribers are notified when that transaction commits. Keep
   * such transactions short: readers wait for every older transaction to end. At REPEATABLE READ or
   * SERIALIZABLE a concurrent append to the same stream surfaces as Postgres' serialization
   * failure (40001) rather than VersionConflict; retry the transaction either way.
   */
  async appendInTransaction(trx: KyselyTransaction, streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    return this.append(trx, streamId, events, options, true);
  }

  /**
   * This store with every append fenced by `fence`: the append's transaction first reads the lease
   * row FOR SHARE at that epoch (postgres-leases.ts), and throws LeaseLost with nothing appended
   * once the epoch is no longer current. For writes made on a lease's behalf.
   *
   * The check and the append are one statement (`append_fenced`), so a fenced append is one round
   * trip and one commit; with group commit on, fenced appends issued while one is in flight go
   * together in the next one (one check for the batch — allocation records a pass's decisions
   * concurrently). An item the batch could not take is appended again on its own, in a
   * transaction with the check first, where its error surfaces as without batching.
   */
  fenced(fence: LeaseFence): EventStore {
    const committer = new GroupCommitter(
      {
        appendOne: async (item) => {
          const [outcome] = await this.appendManyFenced(fence, [item]);
          if (outcome?.status === 'fulfilled') return outcome.value;
          if (outcome?.status === 'rejected') throw outcome.reason;
          return this.appendFencedAlone(fence, item);
        },
        appendMany: (items) => this.appendManyFenced(fence, items),
      },
      { maxAppends: this.committer ? MAX_APPENDS_PER_BATCH : 1, maxEvents: MAX_EVENTS_PER_TRANSACTION },
    );
    return {
      appendToStream: async (streamId, events, options = {}) => {
        const expected = options.expectedVersion ?? 'any';
        if (events.length === 0) return this.appendFencedAlone(fence, { streamId, events, expected });
        expectedVersionArgument(expected); // a bad expected version throws here, not inside someone else's batch
        const result = await committer.append({ streamId, events, expected });
        this.notifier.appended(result.lastPosition);
        for (const signal of this.localSignals) signal.signal(result.lastPosition);
        return result;
      },
      readStream: (streamId, options) => this.readStream(streamId, options),
      readAll: (options) => this.readAll(options),
      subscribeToAll: (options) => this.subscribeToAll(options),
      close: () => committer.idle(), // the underlying store is closed by its owner
    };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<Envelope[]> {
    const { rows } = await run<EventRow>(this.db, this.statements.readStream, [streamId, options.fromVersion ?? 1, options.maxCount ?? null]);
    return rows.map(toEnvelope);
  }

  async readAll(options: ReadAllOptions = {}): Promise<Envelope[]> {
    const from = options.fromPosition ?? 0n;
    const { rows } = await run<EventRow>(this.db, this.statements.readAll, [from.toString(), options.limit ?? 1000]);
    return rows.map(toEnvelope);
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    if (this.closed) throw new Error('event store is closed');
    const subscription: PollingSubscription = new PollingSubscription({
      ...options,
      // LISTEN first, then read: nothing committed in between can go unnoticed.
      beforeFirstRead: (wake) => {
        this.localSignals.add(wake);
        return this.listener.add(wake);
      },
      read: async (after, limit) => {
        await this.listener.ensureListening();
        return this.readAll({ fromPosition: after, limit });
      },
      pollIntervalMs: this.pollIntervalMs,
      onEnded: () => {
        this.subscriptions.delete(subscription);
        this.localSignals.delete(subscription.wake);
        void this.listener.remove(subscription.wake);
      },
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Calls `listener` soon after events are appended: at once for this instance's standalone
   * appends, and on LISTEN/NOTIFY for other processes' appends and for appendInTransaction (whose
   * commit only Postgres sees). A wake-up only says "read again"; it may be late, coalesced or
   * (while the LISTEN connection is down) missing, so callers keep a slow poll as well.
   */
  async onAppended(listener: (position?: bigint) => void): Promise<{ close(): Promise<void> }> {
    const signal: AppendSignal = { signal: listener };
    this.localSignals.add(signal);
    await this.listener.add(signal);
    return {
      close: async () => {
        this.localSignals.delete(signal);
        await this.listener.remove(signal);
      },
    };
  }

  /** Stops subscriptions, the listener and (when the store created it) the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.committer?.idle();
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.notifier.close();
    await this.listener.close();
    if (this.ownsDb) await this.db.destroy();
  }

  private async append(
    executor: QueryExecutorProvider,
    streamId: string,
    events: NewEvent[],
    options: AppendOptions,
    notifyInTransaction: boolean,
  ): Promise<AppendResult> {
    const expected = options.expectedVersion ?? 'any';
    if (events.length === 0) return this.checkOnly(executor, streamId, expected);
    // NewEvent has exactly the fields the SQL reads (id, type, version, data, metadata, occurredAt).
    const payload = JSON.stringify(events);
    let row: AppendRow | undefined;
    try {
      const { rows } = await run<AppendRow>(executor, this.statements.append, [streamId, expectedVersionArgument(expected), payload, notifyInTransaction]);
      row = rows[0];
    } catch (error) {
      const { code, constraint } = error as PgError;
      if (code === '23505' && constraint === 'events_event_id_unique') {
        throw new DuplicateEventId(
          streamId,
          events.map((e) => e.id),
        );
      }
      if (code === '23505' && constraint === 'events_stream_version_unique') {
        throw new VersionConflict(streamId, expected, await this.currentVersion(this.db, streamId));
      }
      throw error;
    }
    return this.resultOf(row, streamId, expected, events);
  }

  /**
   * Several standalone appends in one statement and one commit (append_batch in the migrations):
   * one outcome per item, in order. An item whose subtransaction failed comes back as 'retry'.
   */
  private async appendMany(items: QueuedAppend[]): Promise<BatchItemOutcome[]> {
    const { rows } = await run<BatchRow>(this.db, this.statements.appendBatch, [batchPayload(items)]);
    return this.batchOutcomes(items, rows);
  }

  /** appendMany under `fence` (append_fenced): every item is refused with LeaseLost when the epoch is not current. */
  private async appendManyFenced(fence: LeaseFence, items: QueuedAppend[]): Promise<BatchItemOutcome[]> {
    const { rows } = await run<BatchRow>(this.db, this.statements.appendFenced, [fence.lease, fence.epoch.toString(), batchPayload(items)]);
    if (rows[0]?.o_status === 'lease_lost') {
      const reason = refusal(fence);
      return items.map(() => ({ status: 'rejected', reason }));
    }
    return this.batchOutcomes(items, rows);
  }

  /** One fenced append in a transaction of its own, the check first: its errors surface as they are. */
  private async appendFencedAlone(fence: LeaseFence, item: QueuedAppend): Promise<AppendResult> {
    return this.db.transaction().execute(async (trx) => {
      await assertLeaseCurrent(trx, this.schema, fence);
      return this.append(trx, item.streamId, item.events, { expectedVersion: item.expected }, false);
    });
  }

  private batchOutcomes(items: QueuedAppend[], rows: BatchRow[]): BatchItemOutcome[] {
    const outcomes: BatchItemOutcome[] = items.map(() => ({ status: 'retry' }));
    for (const row of rows) {
      const item = items[row.o_index - 1];
      if (!item || row.o_status === 'retry' || row.o_status === 'lease_lost') continue;
      try {
        outcomes[row.o_index - 1] = {
          status: 'fulfilled',
          value: this.resultOf({ ...row, o_status: row.o_status }, item.streamId, item.expected, item.events),
        };
      } catch (reason) {
        outcomes[row.o_index - 1] = { status: 'rejected', reason };
      }
    }
    return outcomes;
  }

  /** append_to_stream's answer as the port's result, or its error. */
  private resultOf(row: AppendRow | undefined, streamId: string, expected: ExpectedVersion, events: NewEvent[]): AppendResult {
    switch (row?.o_status) {
      case 'appended':
      case 'stored':
        return { nextExpectedVersion: Number(row.o_version), lastPosition: BigInt(row.o_position ?? '0') };
      case 'conflict':
        throw new VersionConflict(streamId, expected, Number(row.o_version));
      case 'duplicate':
        throw new DuplicateEventId(
          streamId,
          events.map((e) => e.id),
        );
      default:
        throw new Error(`unexpected reply from ${this.schema}.append_to_stream: ${JSON.stringify(row)}`);
    }
  }

  private async checkOnly(executor: QueryExecutorProvider, streamId: string, expected: ExpectedVersion): Promise<AppendResult> {
    expectedVersionArgument(expected);
    const actual = await this.currentVersion(executor, streamId);
    if (!satisfiesExpectedVersion(expected, actual)) throw new VersionConflict(streamId, expected, actual);
    return { nextExpectedVersion: actual, lastPosition: 0n };
  }

  private async currentVersion(executor: QueryExecutorProvider, streamId: string): Promise<number> {
    const { rows } = await run<{ version: string }>(executor, this.statements.streamVersion, [streamId]);
    return rows[0] ? Number(rows[0].version) : 0;
  }
}
