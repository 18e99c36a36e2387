import type { NewEvent } from '@agentyard/contracts';
import { testDatabase } from '@agentyard/local-infra';
import { Kysely, PostgresDialect, sql, type ControlledTransaction } from 'kysely';
import { Pool } from 'pg';
import { DuplicateEventId, type Subscription } from '../event-store.port';
import { DeliveryLog, describeEventStoreContract, expectStrictlyIncreasingPositions, testEvent } from '../testing/event-store.contract';
import { ordinalOf } from './log-position';
import { PostgresCheckpointStore } from './postgres-checkpoint-store';
import { PostgresEventStore } from './postgres-event-store';
import { migrateEventStore } from './postgres-event-store.migrations';

describeEventStoreContract('PostgresEventStore', async () => {
  const store = await PostgresEventStore.connect({ connectionString: await testDatabase('es_contract'), pollIntervalMs: 250 });
  await store.migrate();
  return { store, close: () => store.close() };
});

// A kysely database type for the tests' own tables, as a service would have.
interface ServiceTables {
  users: { id: string; name: string };
  projected: { id: string; count: number };
}

describe('PostgresEventStore', () => {
  let connectionString: string;
  let db: Kysely<ServiceTables>;
  let store: PostgresEventStore;
  const subscriptions: Subscription[] = [];
  const open: ControlledTransaction<ServiceTables>[] = [];

  const follow = (fromCheckpoint: bigint): DeliveryLog => {
    const log = new DeliveryLog();
    subscriptions.push(store.subscribeToAll({ fromCheckpoint, onEvent: log.onEvent }));
    return log;
  };
  const begin = async (): Promise<ControlledTransaction<ServiceTables>> => {
    const trx = await db.startTransaction().execute();
    open.push(trx);
    return trx;
  };
  /** The position after every committed event right now. */
  const tail = async (): Promise<bigint> => (await store.appendToStream(`marker-${testEvent().id}`, [testEvent('MarkerSet')])).lastPosition;
  /** Resolves after the store has run `reads` more readAll queries (the subscriber's polls). */
  const afterReads = async (reads: number): Promise<void> => {
    const spy = jest.spyOn(store, 'readAll');
    const target = spy.mock.calls.length + reads;
    try {
      while (spy.mock.calls.length < target) await new Promise((r) => setTimeout(r, 10));
      await Promise.all(spy.mock.results.map((r) => r.value));
    } finally {
      spy.mockRestore();
    }
  };
  const ids = (events: { id: string }[]): string[] => events.map((e) => e.id);

  beforeAll(async () => {
    connectionString = await testDatabase('es_pg');
    db = new Kysely<ServiceTables>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString, max: 8 }) }) });
    await migrateEventStore(db);
    await sql`create table users (id text primary key, name text not null)`.execute(db);
    await sql`create table projected (id text primary key, count integer not null)`.execute(db);
    store = PostgresEventStore.fromKysely(db, { listenConnectionString: connectionString, pollIntervalMs: 200 });
  });

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
    for (const trx of open.splice(0)) if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute();
  });

  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  describe('when transactions commit out of order', () => {
    it('holds back a transaction that committed while an older one is still open, then delivers both in transaction order', async () => {
      const before = await tail();
      const log = follow(before);
      const older = await begin();
      const e1 = testEvent('OlderAppended');
      await store.appendInTransaction(older, 'order-a', [e1]);
      const e2 = testEvent('YoungerAppended');
      await store.appendToStream('order-b', [e2]);

      expect(await store.readAll({ fromPosition: before })).toEqual([]);
      await afterReads(2); // the subscriber polled (or was notified) after the younger commit
      expect(log.events).toEqual([]);

      await older.commit().execute();
      await log.until((events) => events.length >= 2, 'both events');
      expect(ids(log.events)).toEqual([e1.id, e2.id]);
      expectStrictlyIncreasingPositions(log.events);
    });

    it('delivers first a transaction that took its id first, even when it inserts after a younger one committed', async () => {
      const before = await tail();
      const log = follow(before);
      const older = await begin();
      await sql`select pg_current_xact_id()`.execute(older); // takes its transaction id now
      const younger = testEvent('YoungerAppended');
      await store.appendToStream('late-b', [younger]);
      const late = testEvent('OlderAppended');
      await store.appendInTransaction(older, 'late-a', [late]);
      await older.commit().execute();

      await log.until((events) => events.length >= 2, 'both events');
      expect(ids(log.events)).toEqual([late.id, younger.id]);
      expectStrictlyIncreasingPositions(log.events);
      // Insertion order (the bigserial) says the opposite: resuming from it would skip `late`.
      const { rows } = await sql<{ event_id: string }>`
        select event_id from event_store.events where event_id in (${late.id}, ${younger.id}) order by global_position`.execute(db);
      expect(rows.map((r) => r.event_id)).toEqual([younger.id, late.id]);
    });

    it('never shows a rolled-back append and does not stall on the gap it leaves', async () => {
      const before = await tail();
      const log = follow(before);
      const doomed = await begin();
      const lost = testEvent('NeverHappened');
      await store.appendInTransaction(doomed, 'rollback-a', [lost, testEvent('NeverHappened')]);
      await doomed.rollback().execute();
      const kept = testEvent('Happened');
      await store.appendToStream('rollback-a', [kept], { expectedVersion: 'no_stream' });

      await log.until((events) => events.length >= 1, 'the kept event');
      expect(ids(log.events)).toEqual([kept.id]);
      expect(await store.readStream('rollback-a')).toMatchObject([{ id: kept.id, streamVersion: 1 }]);
      expect(ids(await store.readAll({ fromPosition: before }))).toEqual([kept.id]);
    });

    it('delivers three slow concurrent transactions whole, exactly once, in transaction order, each only after all older ones ended', async () => {
      const before = await tail();
      const log = follow(before);
      const [t1, t2, t3] = [await begin(), await begin(), await begin()];
      const written = new Map<ControlledTransaction<ServiceTables>, string[]>([
        [t1, []],
        [t2, []],
        [t3, []],
      ]);
      // Interleaved appends: each transaction writes three times to its own stream and once to a shared one.
      for (let round = 0; round < 3; round++) {
        for (const [i, trx] of [t1, t2, t3].entries()) {
          const events = [testEvent('SlowStep', { round }), testEvent('SlowStep', { round })];
          await store.appendInTransaction(trx, `slow-${i}`, events);
          written.get(trx)?.push(...ids(events));
        }
      }
      const visible = async (): Promise<string[]> => ids(await store.readAll({ fromPosition: before }));

      await t3.commit().execute();
      expect(await visible()).toEqual([]);
      await t1.commit().execute();
      expect(await visible()).toEqual(written.get(t1));
      await afterReads(2);
      expect(ids(log.events)).toEqual(written.get(t1));
      await t2.commit().execute();
      const all = [...(written.get(t1) ?? []), ...(written.get(t2) ?? []), ...(written.get(t3) ?? [])];
      expect(await visible()).toEqual(all);

      await log.until((events) => events.length >= all.length, 'all three transactions');
      expect(ids(log.events)).toEqual(all);
      expectStrictlyIncreasingPositions(log.events);
    });
  });

  describe('when a write transaction is open in another database of the cluster', () => {
    it('does not hold back readers of this store: it can never append here', async () => {
      const other = new Pool({ connectionString: await testDatabase('es_other'), max: 1 });
      const client = await other.connect();
      try {
        await client.query('begin');
        await client.query('create table held (id int)'); // takes a transaction id, older than the append below
        const event = testEvent();
        const { lastPosition } = await store.appendToStream(`cross-db-${event.id}`, [event]);
        const seen = await store.readAll({ fromPosition: lastPosition - 1n, limit: 10 });
        expect(seen.map((e) => e.id)).toContain(event.id);

        // An open write transaction in this database still holds the same append back.
        const mine = await begin();
        await sql`insert into users (id, name) values (${event.id}, 'held')`.execute(mine);
        const later = testEvent();
        const after = await store.appendToStream(`cross-db-${later.id}`, [later]);
        expect((await store.readAll({ fromPosition: after.lastPosition - 1n, limit: 10 })).map((e) => e.id)).not.toContain(later.id);
        await mine.rollback().execute();
        expect((await store.readAll({ fromPosition: after.lastPosition - 1n, limit: 10 })).map((e) => e.id)).toContain(later.id);
      } finally {
        await client.query('rollback');
        client.release();
        await other.end();
      }
    });
  });

  describe('when a subscriber is idle', () => {
    it('is woken by LISTEN/NOTIFY long before its poll interval, for standalone and in-transaction appends', async () => {
      const sleepy = PostgresEventStore.fromKysely(db, { listenConnectionString: connectionString, pollIntervalMs: 60_000 });
      try {
        const before = await tail();
        const log = new DeliveryLog();
        const spy = jest.spyOn(sleepy, 'readAll');
        const subscription = sleepy.subscribeToAll({ fromCheckpoint: before, onEvent: log.onEvent });
        subscriptions.push(subscription);
        while (spy.mock.calls.length === 0) await new Promise((r) => setTimeout(r, 10));
        await spy.mock.results[0]?.value; // its first read is done: it now waits for a notification

        const standalone = testEvent('Nudged');
        await sleepy.appendToStream('wake-a', [standalone]);
        await log.until((events) => events.length >= 1, 'the standalone event', 5_000);
        const inTransaction = testEvent('Nudged');
        await db.transaction().execute((trx) => sleepy.appendInTransaction(trx, 'wake-b', [inTransaction]));
        await log.until((events) => events.length >= 2, 'the in-transaction event', 5_000);
        expect(ids(log.events)).toEqual([standalone.id, inTransaction.id]);
        spy.mockRestore();
      } finally {
        await sleepy.close();
      }
    });
  });

  describe('append notifications', () => {
    it('name the position another process appended up to, and none for an appending transaction’s own', async () => {
      // Another process of the same service: its own store on the same database.
      const other = PostgresEventStore.fromKysely(db, { listenConnectionString: connectionString, pollIntervalMs: 200 });
      const heard: Array<bigint | undefined> = [];
      const watch = await other.onAppended((position) => heard.push(position));
      try {
        const appended = await store.appendToStream(`notified-${testEvent().id}`, [testEvent('Notified'), testEvent('Notified')]);
        for (let waited = 0; !heard.includes(appended.lastPosition) && waited < 5_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
        expect(heard).toContain(appended.lastPosition);

        heard.length = 0;
        await db.transaction().execute((trx) => store.appendInTransaction(trx, `notified-${testEvent().id}`, [testEvent('Notified')]));
        for (let waited = 0; heard.length === 0 && waited < 5_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
        expect(heard).toEqual([undefined]);
      } finally {
        await watch.close();
        await other.close();
      }
    });
  });

  describe('when appending inside a caller transaction (outbox)', () => {
    it('commits the caller rows and the events together', async () => {
      const event = testEvent('UserRegistered', { userId: 'u-1' });
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ id: 'u-1', name: 'Ada' }).execute();
        await store.appendInTransaction(trx, 'user-u-1', [event], { expectedVersion: 'no_stream' });
      });
      expect(await db.selectFrom('users').selectAll().where('id', '=', 'u-1').execute()).toHaveLength(1);
      expect(ids(await store.readStream('user-u-1'))).toEqual([event.id]);
    });

    it('rolls the events back with the caller rows', async () => {
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('users').values({ id: 'u-2', name: 'Bob' }).execute();
          await store.appendInTransaction(trx, 'user-u-2', [testEvent('UserRegistered')]);
          throw new Error('the command failed after appending');
        }),
      ).rejects.toThrow('the command failed after appending');
      expect(await db.selectFrom('users').selectAll().where('id', '=', 'u-2').execute()).toEqual([]);
      expect(await store.readStream('user-u-2')).toEqual([]);
    });

    it('gives several appends of one transaction consecutive positions in append order', async () => {
      const before = await tail();
      const first = [testEvent(), testEvent()];
      const second = [testEvent()];
      await db.transaction().execute(async (trx) => {
        await store.appendInTransaction(trx, 'multi-a', first);
        await store.appendInTransaction(trx, 'multi-b', second);
      });
      const read = await store.readAll({ fromPosition: before });
      expect(ids(read)).toEqual(ids([...first, ...second]));
      const positions = read.map((e) => BigInt(e.globalPosition ?? '0'));
      expect(positions.map((p) => p - (positions[0] ?? 0n))).toEqual([0n, 1n, 2n]);
    });
  });

  describe('when positions are assigned', () => {
    it('numbers the events of every transaction from ordinal 0, however often a connection is reused', async () => {
      for (let i = 0; i < 12; i++) {
        const { lastPosition } = await store.appendToStream(`ordinal-${i % 3}`, [testEvent(), testEvent(), testEvent()]);
        expect(ordinalOf(lastPosition)).toBe(2);
      }
    });

    it('keeps positions increasing across a savepoint rolled back inside one transaction', async () => {
      const before = await tail();
      const trx = await begin();
      const kept = [testEvent(), testEvent()];
      await store.appendInTransaction(trx, 'savepoint-a', [kept[0] as NewEvent]);
      const savepoint = await trx.savepoint('undo').execute();
      await store.appendInTransaction(savepoint, 'savepoint-b', [testEvent(), testEvent()]);
      const back = await savepoint.rollbackToSavepoint('undo').execute();
      await store.appendInTransaction(back, 'savepoint-c', [kept[1] as NewEvent]);
      await back.commit().execute();

      const read = await store.readAll({ fromPosition: before });
      expect(ids(read)).toEqual(ids(kept));
      expect(read.map((e) => ordinalOf(BigInt(e.globalPosition ?? '0')))).toEqual([0, 1]);
      expect(await store.readStream('savepoint-b')).toEqual([]);
    });
  });

  describe('when an event id is reused', () => {
    it('answers a lost-reply retry with the original position and stream version, whatever the expectation', async () => {
      const events = [testEvent(), testEvent(), testEvent()];
      const first = await store.appendToStream('retry-a', events, { expectedVersion: 'no_stream' });
      await store.appendToStream('retry-a', [testEvent()]);
      expect(await store.appendToStream('retry-a', events, { expectedVersion: 'no_stream' })).toEqual(first);

      const later = [testEvent()];
      const second = await store.appendToStream('retry-a', later, { expectedVersion: 4 });
      expect(await store.appendToStream('retry-a', later, { expectedVersion: 4 })).toEqual(second);
      expect(await store.appendToStream('retry-a', later, { expectedVersion: 'any' })).toEqual(second);
      expect(await store.appendToStream('retry-a', later, { expectedVersion: 'stream_exists' })).toEqual(second);
      expect((await store.readStream('retry-a')).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5]);
    });

    it('rejects a batch that repeats a stored id in another stream or only in part, writing nothing', async () => {
      const stored = testEvent();
      await store.appendToStream('dup-a', [stored]);
      await expect(store.appendToStream('dup-b', [stored])).rejects.toBeInstanceOf(DuplicateEventId);
      await expect(store.appendToStream('dup-b', [testEvent(), stored])).rejects.toBeInstanceOf(DuplicateEventId);
      await expect(store.appendToStream('dup-a', [stored, testEvent()])).rejects.toBeInstanceOf(DuplicateEventId);
      expect(await store.readStream('dup-b')).toEqual([]);
      expect(await store.readStream('dup-a')).toHaveLength(1);
      const again = testEvent();
      await expect(store.appendToStream('dup-c', [again, again])).rejects.toBeInstanceOf(DuplicateEventId);
      expect(await store.readStream('dup-c')).toEqual([]);
    });
  });

  describe('checkpoints', () => {
    it('loads 0 for a name never saved and the last saved position after saving', async () => {
      const checkpoints = PostgresCheckpointStore.fromKysely(db);
      expect(await checkpoints.load('never-saved')).toBe(0n);
      await checkpoints.save('projection-a', 42n);
      await checkpoints.save('projection-a', 9_000_000_000_000n);
      expect(await checkpoints.load('projection-a')).toBe(9_000_000_000_000n);
    });

    it('commits or rolls back a checkpoint together with the projection rows of its transaction', async () => {
      const checkpoints = store.checkpoints;
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('projected').values({ id: 'p', count: 1 }).execute();
        await checkpoints.save('projection-b', 10n, trx);
      });
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.updateTable('projected').set({ count: 2 }).where('id', '=', 'p').execute();
          await checkpoints.save('projection-b', 20n, trx);
          throw new Error('projection failed');
        }),
      ).rejects.toThrow('projection failed');
      expect(await checkpoints.load('projection-b')).toBe(10n);
      expect(await db.selectFrom('projected').select('count').where('id', '=', 'p').executeTakeFirst()).toEqual({ count: 1 });
    });

    it('locks a checkpoint for a batch, with an asynchronous commit for that transaction only when asked', async () => {
      const checkpoints = store.checkpoints;
      await checkpoints.save('projection-c', 7n);
      const setting = async (trx: Parameters<typeof checkpoints.save>[2]) =>
        (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(trx!)).rows[0]!.synchronous_commit;
      // From `on` (the test cluster may run with it off), whatever the server's default.
      const lockedWith = (options: { asyncCommit?: boolean }) =>
        db.transaction().execute(async (trx) => {
          await sql`set local synchronous_commit = on`.execute(trx);
          const position = await checkpoints.lockForUpdate('projection-c', trx, options);
          return { position, inside: await setting(trx) };
        });
      expect(await lockedWith({ asyncCommit: true })).toEqual({ position: 7n, inside: 'off' });
      expect(await lockedWith({})).toEqual({ position: 7n, inside: 'on' });
      // Another transaction waits for the lock, then reads the position the holder committed.
      const holder = await begin();
      await checkpoints.lockForUpdate('projection-c', holder);
      const waiter = db.transaction().execute((trx) => checkpoints.lockForUpdate('projection-c', trx, { asyncCommit: true }));
      await new Promise((r) => setTimeout(r, 100));
      await checkpoints.save('projection-c', 8n, holder);
      await holder.commit().execute();
      expect(await waiter).toBe(8n);
    });
  });

  describe('schema', () => {
    it('keeps its tables in its own Postgres schema and migrates again at every boot without change', async () => {
      await migrateEventStore(db);
      const { rows } = await sql<{ table_schema: string; table_name: string }>`
        select table_schema, table_name from information_schema.tables
        where table_name in ('events', 'streams', 'checkpoints') order by table_schema, table_name`.execute(db);
      expect(rows).toEqual([
        { table_schema: 'event_store', table_name: 'checkpoints' },
        { table_schema: 'event_store', table_name: 'events' },
        { table_schema: 'event_store', table_name: 'streams' },
      ]);
    });

    it('keeps two stores in different schemas of one database apart', async () => {
      const other = PostgresEventStore.fromKysely(db, { schema: 'other_store' });
      await other.migrate();
      await other.appendToStream('shared-name', [testEvent()]);
      expect(await other.readStream('shared-name')).toHaveLength(1);
      expect(await store.readStream('shared-name')).toEqual([]);
      await other.close();
    });

    it('refuses a schema name that is not a plain identifier', () => {
      expect(() => PostgresEventStore.fromKysely(db, { schema: 'x; drop table users' })).toThrow(/invalid event store schema name/);
    });
  });
});
