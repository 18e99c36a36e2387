import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { Pool } from 'pg';
import { DomainError, newId, type Envelope } from '@agentyard/contracts';
import { PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { testDatabase } from '@agentyard/local-infra';
import { fold, handleCommand, handleCommandInTransaction, handleCommands, ProjectionRunner, StateCache, type Decider } from './index';

// A bank account: the smallest decider with an invariant worth racing (no overdraft).
type Account = { balance: number; opened: boolean };
type Command = { kind: 'open' } | { kind: 'deposit'; amount: number } | { kind: 'withdraw'; amount: number };
const account: Decider<Account, Command> = {
  initialState: () => ({ balance: 0, opened: false }),
  evolve: (s, e) => {
    switch (e.type) {
      case 'AccountOpened':
        return { ...s, opened: true };
      case 'MoneyDeposited':
        return { ...s, balance: s.balance + Number(e.data.amount) };
      case 'MoneyWithdrawn':
        return { ...s, balance: s.balance - Number(e.data.amount) };
      default:
        return s;
    }
  },
  decide: (c, s) => {
    switch (c.kind) {
      case 'open':
        return s.opened ? [] : [{ type: 'AccountOpened', data: {} }];
      case 'deposit':
        return [{ type: 'MoneyDeposited', data: { amount: c.amount } }];
      case 'withdraw':
        if (s.balance < c.amount) throw new DomainError('CONFLICT', 'insufficient funds');
        return [{ type: 'MoneyWithdrawn', data: { amount: c.amount } }];
    }
  },
};
const metadata = { correlationId: 'c', causationId: 'c' };

interface ReadDb {
  balances: { account: string; balance: number; events: number };
  /** The caller's own rows written beside a command's events (handleCommandInTransaction). */
  receipts: { id: string; account: string; note: string };
}

let store: PostgresEventStore;
let db: Kysely<ReadDb>;
let url: string;

beforeAll(async () => {
  url = await testDatabase('es');
  store = await PostgresEventStore.connect({ connectionString: url });
  await store.migrate();
  db = new Kysely<ReadDb>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: url, max: 4 }) }) });
  await sql`create table balances (account text primary key, balance int not null, events int not null)`.execute(db);
  await sql`create table receipts (id text primary key, account text not null, note text not null)`.execute(db);
});
afterAll(async () => {
  await store.close();
  await db.destroy();
});

describe('handleCommands', () => {
  it('decides a batch in order on the state each command leaves, appends it in one go, and fails only the refused command', async () => {
    const outcomes = await handleCommands({
      store,
      streamId: 'acct-batch',
      decider: account,
      commands: [
        { kind: 'deposit', amount: 5 },
        { kind: 'withdraw', amount: 8 },
        { kind: 'deposit', amount: 5 },
        { kind: 'withdraw', amount: 8 },
      ],
      metadata,
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    expect(outcomes[1]).toMatchObject({ ok: false, error: expect.objectContaining({ code: 'CONFLICT' }) });
    const events = await store.readStream('acct-batch');
    expect(events.map((e) => e.type)).toEqual(['MoneyDeposited', 'MoneyDeposited', 'MoneyWithdrawn']);
    // One append: every event carries the same commit instant and consecutive versions.
    expect(new Set(events.map((e) => e.occurredAt)).size).toBe(1);
    expect(outcomes[3]).toMatchObject({ ok: true, version: 3 });
    expect(fold(account, events).balance).toBe(2);
  });
});

describe('handleCommand', () => {
  describe('when the command repeats an applied fact', () => {
    it('appends nothing', async () => {
      await handleCommand({ store, streamId: 'acct-1', decider: account, command: { kind: 'open' }, metadata });
      const again = await handleCommand({ store, streamId: 'acct-1', decider: account, command: { kind: 'open' }, metadata });
      expect(again.events).toEqual([]);
      expect(await store.readStream('acct-1')).toHaveLength(1);
    });
  });

  describe('when 20 withdrawals race on a balance that covers 10', () => {
    it('serialises them through version conflicts: exactly 10 succeed, the balance never goes negative', async () => {
      await handleCommand({ store, streamId: 'acct-2', decider: account, command: { kind: 'deposit', amount: 100 }, metadata });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          handleCommand({ store, streamId: 'acct-2', decider: account, command: { kind: 'withdraw', amount: 10 }, metadata, maxAttempts: 50 }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused.every((r) => r.reason instanceof DomainError && r.reason.code === 'CONFLICT')).toBe(true);
      expect(fold(account, await store.readStream('acct-2')).balance).toBe(0);
    });
  });
});

describe('handleCommandInTransaction', () => {
  const receipts = (account: string) => db.selectFrom('receipts').select('note').where('account', '=', account).orderBy('note').execute();
  const receipt = (trx: Transaction<ReadDb>, account: string, note: string) => trx.insertInto('receipts').values({ id: newId(), account, note }).execute();

  it('commits the caller’s rows and the events together, and hands back what the rows step returned', async () => {
    const result = await handleCommandInTransaction({
      db,
      store,
      streamId: 'acct-t1',
      decider: account,
      command: { kind: 'deposit', amount: 5 } as Command,
      metadata,
      withRows: async (trx, stored) => {
        await receipt(trx, 'acct-t1', `deposit at v${stored.version}`);
        return stored.events.map((e) => e.streamVersion);
      },
    });
    expect(result).toMatchObject({ version: 1, rows: [1], state: { balance: 5 } });
    expect((await store.readStream('acct-t1')).map((e) => e.type)).toEqual(['MoneyDeposited']);
    expect(await receipts('acct-t1')).toEqual([{ note: 'deposit at v1' }]);
  });

  it('rolls back the events when the caller’s rows fail', async () => {
    const failing = handleCommandInTransaction({
      db,
      store,
      streamId: 'acct-t2',
      decider: account,
      command: { kind: 'deposit', amount: 5 } as Command,
      metadata,
      withRows: async () => {
        throw new Error('the row would not go in');
      },
    });
    await expect(failing).rejects.toThrow('the row would not go in');
    expect(await store.readStream('acct-t2')).toEqual([]);
  });

  it('rolls back the rows the command was built with when the decider refuses', async () => {
    const refused = handleCommandInTransaction({
      db,
      store,
      streamId: 'acct-t3',
      decider: account,
      command: async (trx) => {
        await receipt(trx, 'acct-t3', 'written before the refusal');
        return { kind: 'withdraw', amount: 1 } as Command;
      },
      metadata,
      withRows: (trx) => receipt(trx, 'acct-t3', 'never reached'),
    });
    await expect(refused).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await receipts('acct-t3')).toEqual([]);
    expect(await store.readStream('acct-t3')).toEqual([]);
  });

  it('on a version conflict runs the whole transaction again on fresh state, keeping only the last attempt’s rows', async () => {
    await handleCommand({ store, streamId: 'acct-t4', decider: account, command: { kind: 'deposit', amount: 10 }, metadata });
    let attempts = 0;
    const result = await handleCommandInTransaction({
      db,
      store,
      streamId: 'acct-t4',
      decider: account,
      command: async (trx) => {
        attempts++;
        await receipt(trx, 'acct-t4', `built on attempt ${attempts}`);
        // Another writer takes 6 between the first attempt's load and its append.
        if (attempts === 1)
          await store.appendToStream('acct-t4', [
            { id: newId(), type: 'MoneyWithdrawn', version: 1, occurredAt: new Date().toISOString(), data: { amount: 6 }, metadata },
          ]);
        return { kind: 'withdraw', amount: 4 } as Command;
      },
      metadata,
      withRows: (trx, stored) => receipt(trx, 'acct-t4', `stored at v${stored.version}`),
    });
    expect(attempts).toBe(2);
    expect(result).toMatchObject({ version: 3, state: { balance: 0 } });
    expect(await receipts('acct-t4')).toEqual([{ note: 'built on attempt 2' }, { note: 'stored at v3' }]);
    expect(fold(account, await store.readStream('acct-t4')).balance).toBe(0);
  });

  it('keeps one row per stored event when 12 withdrawals race on a balance that covers 6', async () => {
    await handleCommand({ store, streamId: 'acct-t5', decider: account, command: { kind: 'deposit', amount: 60 }, metadata });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        handleCommandInTransaction({
          db,
          store,
          streamId: 'acct-t5',
          decider: account,
          command: { kind: 'withdraw', amount: 10 } as Command,
          metadata,
          maxAttempts: 50,
          withRows: (trx, stored) => receipt(trx, 'acct-t5', `withdrawal ${i} at v${stored.version}`),
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(6);
    const withdrawals = (await store.readStream('acct-t5')).filter((e) => e.type === 'MoneyWithdrawn');
    expect(withdrawals).toHaveLength(6);
    expect((await receipts('acct-t5')).map((r) => r.note.replace(/^withdrawal \d+ /, '')).sort()).toEqual(
      withdrawals.map((e) => `at v${e.streamVersion}`).sort(),
    );
  });

  it('appends nothing and writes no rows when the command leads to no events', async () => {
    await handleCommand({ store, streamId: 'acct-t6', decider: account, command: { kind: 'open' }, metadata });
    const again = await handleCommandInTransaction({
      db,
      store,
      streamId: 'acct-t6',
      decider: account,
      command: { kind: 'open' } as Command,
      metadata,
      withRows: (trx) => receipt(trx, 'acct-t6', 'opened'),
    });
    expect(again).toMatchObject({ events: [], version: 1, rows: undefined });
    expect(await receipts('acct-t6')).toEqual([]);
  });

  it('records facts decided on the caller’s rows at any version without reading the stream, when unversioned', async () => {
    await handleCommand({ store, streamId: 'acct-t7', decider: account, command: { kind: 'deposit', amount: 1 }, metadata });
    const facts: Decider<null, { type: string; data: Record<string, unknown> }[]> = { initialState: () => null, evolve: (s) => s, decide: (c) => c };
    const counting = Object.create(store) as PostgresEventStore;
    counting.readStream = () => Promise.reject(new Error('an unversioned command must not load its stream'));
    const result = await handleCommandInTransaction({
      db,
      store: counting,
      streamId: 'acct-t7',
      decider: facts,
      unversioned: true,
      command: async (trx) => {
        await receipt(trx, 'acct-t7', 'row first');
        return [{ type: 'ReceiptIssued', data: { note: 'row first' } }];
      },
      metadata: (c) => ({ ...metadata, userId: String(c.length) }),
    });
    expect(result.version).toBe(2);
    expect(result.events.map((e) => [e.type, e.streamVersion])).toEqual([['ReceiptIssued', 2]]);
    expect((await store.readStream('acct-t7')).at(-1)).toMatchObject({ type: 'ReceiptIssued', streamVersion: 2, metadata: { userId: '1' } });
    expect(await receipts('acct-t7')).toEqual([{ note: 'row first' }]);
  });
});

describe('handleCommand with a StateCache', () => {
  /** Counts the store's stream reads. */
  function countingStore(): { store: PostgresEventStore; reads: () => number } {
    let reads = 0;
    const counting = Object.create(store) as PostgresEventStore;
    counting.readStream = (...args) => {
      reads++;
      return store.readStream(...args);
    };
    return { store: counting, reads: () => reads };
  }
  const run = (s: PostgresEventStore, cache: StateCache<Account>, streamId: string, command: Command, assumeNew = false) =>
    handleCommand({ store: s, streamId, decider: account, command, metadata, cache, assumeNew, maxAttempts: 50 });

  it('skips the load for a stream it just wrote, and for a new stream the caller made up', async () => {
    const { store: s, reads } = countingStore();
    const cache = new StateCache<Account>();
    await run(s, cache, 'acct-c1', { kind: 'open' }, true);
    await run(s, cache, 'acct-c1', { kind: 'deposit', amount: 5 });
    const last = await run(s, cache, 'acct-c1', { kind: 'withdraw', amount: 5 });
    expect(reads()).toBe(0);
    expect(last.state.balance).toBe(0);
    expect((await store.readStream('acct-c1')).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
  });

  it('reloads when another writer appended meanwhile: the stale entry costs a conflict, not a wrong write', async () => {
    const mine = new StateCache<Account>();
    await run(store, mine, 'acct-c2', { kind: 'deposit', amount: 10 });
    await handleCommand({ store, streamId: 'acct-c2', decider: account, command: { kind: 'withdraw', amount: 10 }, metadata }); // another instance
    // Cached balance 10 would allow this; the real balance is 0.
    await expect(run(store, mine, 'acct-c2', { kind: 'withdraw', amount: 10 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(fold(account, await store.readStream('acct-c2')).balance).toBe(0);
  });

  it('does not believe a refusal or a no-op decided on a cached state before a fresh load', async () => {
    const mine = new StateCache<Account>();
    await run(store, mine, 'acct-c3', { kind: 'open' });
    await handleCommand({ store, streamId: 'acct-c3', decider: account, command: { kind: 'deposit', amount: 7 }, metadata }); // another instance
    // Cached balance 0 would refuse this.
    const withdrawn = await run(store, mine, 'acct-c3', { kind: 'withdraw', amount: 7 });
    expect(withdrawn.events.map((e) => e.type)).toEqual(['MoneyWithdrawn']);
    expect(withdrawn.version).toBe(3);
  });

  it('keeps the invariant with racing instances, each with its own cache', async () => {
    await handleCommand({ store, streamId: 'acct-c4', decider: account, command: { kind: 'deposit', amount: 100 }, metadata });
    const caches = [new StateCache<Account>(), new StateCache<Account>()];
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => run(store, caches[i % 2]!, 'acct-c4', { kind: 'withdraw', amount: 10 })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(fold(account, await store.readStream('acct-c4')).balance).toBe(0);
  });

  it('drops the least recently used entry beyond its size', () => {
    const cache = new StateCache<number>(2);
    cache.set('a', 1, 1);
    cache.set('b', 2, 1);
    cache.get('a');
    cache.set('c', 3, 1);
    expect([cache.get('a')?.state, cache.get('b'), cache.get('c')?.state]).toEqual([1, undefined, 3]);
  });
});

describe('ProjectionRunner', () => {
  const apply = async (trx: Transaction<ReadDb>, e: Envelope) => {
    const delta = e.type === 'MoneyDeposited' ? Number(e.data.amount) : e.type === 'MoneyWithdrawn' ? -Number(e.data.amount) : 0;
    if (e.data.amount === 13) throw new Error('poison event');
    await trx
      .insertInto('balances')
      .values({ account: e.streamId, balance: delta, events: 1 })
      .onConflict((oc) => oc.column('account').doUpdateSet((eb) => ({ balance: eb('balances.balance', '+', delta), events: eb('balances.events', '+', 1) })))
      .execute();
  };
  const runner = (name: string) =>
    new ProjectionRunner<ReadDb>({
      name,
      store,
      db,
      checkpoints: PostgresCheckpointStore.fromKysely(db),
      apply,
      truncate: async (trx) => {
        await trx.deleteFrom('balances').execute();
      },
      batchSize: 7,
    });
  const snapshot = async () => db.selectFrom('balances').selectAll().orderBy('account').execute();

  it('projects every event once, and a rebuild from zero equals the live model', async () => {
    for (let i = 0; i < 30; i++)
      await handleCommand({ store, streamId: `p-${i % 4}`, decider: account, command: { kind: 'deposit', amount: i + 100 }, metadata });
    const live = runner('projection:balances');
    live.start();
    const { lastPosition } = await store.appendToStream('p-0', [
      { id: '01900000-0000-7000-8000-0000000000aa', type: 'MoneyDeposited', version: 1, occurredAt: new Date().toISOString(), data: { amount: 1 }, metadata },
    ]);
    await live.caughtUpTo(lastPosition);
    const before = await snapshot();
    expect(before.find((r) => r.account === 'p-0')?.events).toBeGreaterThan(1);
    await live.rebuild();
    await live.caughtUpTo(lastPosition);
    expect(await snapshot()).toEqual(before);
    await live.stop();
  });

  it('applies each batch once when two replicas run the same projection, and both catch up', async () => {
    await db.deleteFrom('balances').execute();
    const checkpoints = PostgresCheckpointStore.fromKysely(db);
    await checkpoints.save('projection:twins', BigInt((await store.readAll({ limit: 100_000 })).at(-1)!.globalPosition!));
    const [a, b] = [runner('projection:twins'), runner('projection:twins')];
    a.start();
    b.start();
    try {
      // Three writers at once, 20 deposits each; counted by an increment, so a batch applied twice would show.
      await Promise.all(
        [0, 1, 2].map(async (i) => {
          for (let n = 0; n < 20; n++)
            await handleCommand({ store, streamId: `twin-${i}`, decider: account, command: { kind: 'deposit', amount: 1 }, metadata });
        }),
      );
      // The marker's position is after every deposit's (it began after they all committed).
      const { lastPosition: last } = await store.appendToStream('twin-marker', [
        { id: newId(), type: 'MarkerSet', version: 1, occurredAt: new Date().toISOString(), data: {}, metadata },
      ]);
      await Promise.all([a.caughtUpTo(last), b.caughtUpTo(last)]);
      expect([a.checkpoint, b.checkpoint]).toEqual([last, last]);
      expect(await checkpoints.load('projection:twins')).toBe(last);
      expect((await snapshot()).filter((r) => r.account !== 'twin-marker')).toEqual([0, 1, 2].map((i) => ({ account: `twin-${i}`, balance: 20, events: 20 })));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('applies appends at once, woken by the store rather than by its poll — also after its LISTEN connection was lost', async () => {
    const checkpoints = PostgresCheckpointStore.fromKysely(db);
    await checkpoints.save('projection:woken', BigInt((await store.readAll({ limit: 100_000 })).at(-1)?.globalPosition ?? '0'));
    const r = new ProjectionRunner<ReadDb>({
      name: 'projection:woken',
      store,
      db,
      checkpoints,
      apply,
      truncate: async () => undefined,
      pollIntervalMs: 60_000, // a poll never comes within this test: only wake-ups can apply anything
    });
    const other = await PostgresEventStore.connect({ connectionString: url });
    // Fails with what was not applied instead of hanging until Jest's timeout.
    const applied = async (position: bigint, what: string) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} was not applied within 5 s`)), 5_000)));
      await Promise.race([r.caughtUpTo(position), late]).finally(() => clearTimeout(timer));
    };
    const deposit = (s: PostgresEventStore, streamId: string) =>
      s.appendToStream(streamId, [{ id: newId(), type: 'MoneyDeposited', version: 1, occurredAt: new Date().toISOString(), data: { amount: 1 }, metadata }]);
    const projected = async (account: string) => (await db.selectFrom('balances').select('events').where('account', '=', account).executeTakeFirst())?.events;
    /** The account's row once it is there (up to 5 s), else undefined. */
    const projectedSoon = async (account: string) => {
      for (let i = 0; i < 100 && (await projected(account)) === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      return projected(account);
    };
    r.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // its first read is done: it waits on its 60 s poll
      // caughtUpTo itself wakes the runner: read the model directly to see the wake-up came from the store.
      const own = await deposit(store, 'woken-own');
      expect(await projectedSoon('woken-own')).toBe(1);
      await applied(own.lastPosition, "this process's append");

      const elsewhere = await deposit(other, 'woken-other');
      expect(await projectedSoon('woken-other')).toBe(1); // another process's append: LISTEN/NOTIFY
      await applied(elsewhere.lastPosition, "another process's append");

      // A Postgres restart drops the LISTEN connection: the store listens again by itself.
      const { rows } = await sql<{ n: number }>`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = current_database() and query like 'listen %' and pid <> pg_backend_pid()`.execute(db);
      expect(rows[0]!.n).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the listener's retry (1 s) has run
      await deposit(other, 'woken-again');
      expect(await projectedSoon('woken-again')).toBe(1);
    } finally {
      await r.stop();
      await other.close();
    }
  });

  it('commits nothing of a batch whose event fails, and keeps the checkpoint before it', async () => {
    await db.deleteFrom('balances').execute();
    const from = (await store.readAll({ limit: 100_000 })).at(-1)!.globalPosition!;
    const checkpoints = PostgresCheckpointStore.fromKysely(db);
    await checkpoints.save('projection:poison', BigInt(from));
    await handleCommand({ store, streamId: 'q-1', decider: account, command: { kind: 'deposit', amount: 5 }, metadata });
    await handleCommand({ store, streamId: 'q-1', decider: account, command: { kind: 'deposit', amount: 13 }, metadata });
    const r = runner('projection:poison');
    await expect(r.drain()).rejects.toThrow('poison event');
    expect(await snapshot()).toEqual([]);
    expect(await checkpoints.load('projection:poison')).toBe(BigInt(from));
  });
});
