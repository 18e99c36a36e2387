import type { NewEvent } from '@agentyard/contracts';
import { testDatabase } from '@agentyard/local-infra';
import { Pool } from 'pg';
import { DuplicateEventId, VersionConflict, type AppendResult } from '../event-store.port';
import { describeEventStoreContract, testEvent } from '../testing/event-store.contract';
import { ordinalOf, transactionIdOf } from './log-position';
import { PostgresEventStore } from './postgres-event-store';
import { MAX_APPENDS_PER_BATCH } from './postgres-event-store.migrations';

describeEventStoreContract('PostgresEventStore with group commit', async () => {
  const store = await PostgresEventStore.connect({ connectionString: await testDatabase('es_gc_contract'), pollIntervalMs: 250, groupCommit: true });
  await store.migrate();
  return { store, close: () => store.close() };
});

/** The distinct transactions (by the position's transaction id) that committed these results. */
function transactionsOf(results: AppendResult[]): Set<bigint> {
  return new Set(results.map((r) => transactionIdOf(r.lastPosition)));
}

function fulfilled<T>(outcome: PromiseSettledResult<T> | undefined): T {
  if (outcome?.status !== 'fulfilled') throw new Error(`expected the append to succeed, got ${JSON.stringify(outcome)}`);
  return outcome.value;
}

function rejected<T>(outcome: PromiseSettledResult<T> | undefined): unknown {
  if (outcome?.status !== 'rejected') throw new Error(`expected the append to fail, got ${JSON.stringify(outcome)}`);
  return outcome.reason;
}

describe('PostgresEventStore with group commit', () => {
  let connectionString: string;
  let store: PostgresEventStore;
  const run = `g${Date.now().toString(36)}`;
  let streams = 0;
  const stream = (label: string): string => `${run}-${label}-${++streams}`;

  beforeAll(async () => {
    connectionString = await testDatabase('es_gc');
    store = await PostgresEventStore.connect({ connectionString, groupCommit: true });
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
  });

  describe('when appends to different streams are issued together', () => {
    it('commits them in fewer transactions than appends, each event numbered in its transaction', async () => {
      const results = await Promise.all(
        Array.from({ length: 32 }, () => store.appendToStream(stream('together'), [testEvent()], { expectedVersion: 'no_stream' })),
      );
      expect(results.every((r) => r.nextExpectedVersion === 1)).toBe(true);
      expect(transactionsOf(results).size).toBeLessThan(32);
      // Ordinals within each transaction are dense from 0, as the position invariant requires.
      const byTransaction = new Map<bigint, number[]>();
      for (const r of results)
        byTransaction.set(transactionIdOf(r.lastPosition), [...(byTransaction.get(transactionIdOf(r.lastPosition)) ?? []), ordinalOf(r.lastPosition)]);
      for (const ordinals of byTransaction.values()) expect([...ordinals].sort((a, b) => a - b)).toEqual(ordinals.map((_, i) => i));
    });

    it('sends the appends that arrive while one is in flight together, in one commit, once it returns', async () => {
      const blocked = stream('blocked');
      await store.appendToStream(blocked, [testEvent()]);
      // Another connection holds the stream's row, so the next append to it stays in flight.
      const holder = new Pool({ connectionString, max: 1 });
      const client = await holder.connect();
      try {
        await client.query('begin');
        await client.query('select * from event_store.streams where stream_id = $1 for update', [blocked]);
        const first = store.appendToStream(blocked, [testEvent()]);
        await new Promise((r) => setTimeout(r, 50));
        const queued = Array.from({ length: 10 }, (_, i) =>
          // Issued over several turns of the event loop: they still wait for the one in flight.
          new Promise((r) => setTimeout(r, i * 5)).then(() => store.appendToStream(stream('queued'), [testEvent()])),
        );
        await new Promise((r) => setTimeout(r, 100));
        await client.query('commit');
        const [alone, ...together] = await Promise.all([first, ...queued]);
        expect(transactionsOf(together).size).toBe(1);
        expect(transactionsOf(together)).not.toContain(transactionIdOf((alone as AppendResult).lastPosition));
      } finally {
        client.release();
        await holder.end();
      }
    });

    it(`puts at most ${MAX_APPENDS_PER_BATCH} appends in one transaction`, async () => {
      const results = await Promise.all(Array.from({ length: 150 }, () => store.appendToStream(stream('capped'), [testEvent()])));
      const sizes = new Map<bigint, number>();
      for (const r of results) sizes.set(transactionIdOf(r.lastPosition), (sizes.get(transactionIdOf(r.lastPosition)) ?? 0) + 1);
      expect(sizes.size).toBeGreaterThanOrEqual(3);
      expect(Math.max(...sizes.values())).toBeLessThanOrEqual(MAX_APPENDS_PER_BATCH);
    });

    it('keeps the call order of two appends to the same stream in one batch', async () => {
      const shared = stream('shared');
      const [a, b] = [testEvent('First'), testEvent('Second')];
      const [ra, rb, other] = await Promise.all([
        store.appendToStream(shared, [a]),
        store.appendToStream(shared, [b]),
        store.appendToStream(stream('beside'), [testEvent()]),
      ]);
      expect(transactionsOf([ra, rb, other]).size).toBe(1);
      expect((await store.readStream(shared)).map((e) => [e.id, e.streamVersion])).toEqual([
        [a.id, 1],
        [b.id, 2],
      ]);
    });
  });

  describe('when one append of a batch cannot be made', () => {
    it('fails a wrong expected version alone with VersionConflict and stores the others', async () => {
      const existing = stream('existing');
      await store.appendToStream(existing, [testEvent()]);
      const [a, c] = [stream('a'), stream('c')];
      const outcomes = await Promise.allSettled([
        store.appendToStream(a, [testEvent()], { expectedVersion: 'no_stream' }),
        store.appendToStream(existing, [testEvent()], { expectedVersion: 5 }),
        store.appendToStream(c, [testEvent()], { expectedVersion: 'no_stream' }),
      ]);
      const conflict = rejected(outcomes[1]);
      expect(conflict).toBeInstanceOf(VersionConflict);
      expect(conflict).toMatchObject({ streamId: existing, expected: 5, actual: 1 });
      expect(transactionsOf([fulfilled(outcomes[0]), fulfilled(outcomes[2])]).size).toBe(1);
      expect(await store.readStream(existing)).toHaveLength(1);
      expect(await store.readStream(a)).toHaveLength(1);
      expect(await store.readStream(c)).toHaveLength(1);
    });

    it('fails a reused event id alone with DuplicateEventId, whatever the expectation, and stores the others', async () => {
      const stored = testEvent();
      await store.appendToStream(stream('original'), [stored]);
      const [exact, any, kept1, kept2] = [stream('dup-exact'), stream('dup-any'), stream('kept'), stream('kept')];
      const outcomes = await Promise.allSettled([
        store.appendToStream(kept1, [testEvent()]),
        // An exact expectation skips the retry probe: the insert hits the unique index, inside the item's subtransaction.
        store.appendToStream(exact, [testEvent(), stored], { expectedVersion: 'no_stream' }),
        store.appendToStream(any, [stored], { expectedVersion: 'any' }),
        store.appendToStream(kept2, [testEvent()]),
      ]);
      expect(rejected(outcomes[1])).toBeInstanceOf(DuplicateEventId);
      expect(rejected(outcomes[2])).toBeInstanceOf(DuplicateEventId);
      expect(transactionsOf([fulfilled(outcomes[0]), fulfilled(outcomes[3])]).size).toBe(1);
      expect(await store.readStream(exact)).toEqual([]);
      expect(await store.readStream(any)).toEqual([]);
      expect(await store.readStream(kept2)).toHaveLength(1);
    });

    it('answers a retry of a committed append with its original result, inside a batch', async () => {
      const events: NewEvent[] = [testEvent(), testEvent()];
      const target = stream('retried');
      const original = await store.appendToStream(target, events, { expectedVersion: 'no_stream' });
      const [again, anyAgain, other] = await Promise.all([
        store.appendToStream(target, events, { expectedVersion: 'no_stream' }),
        store.appendToStream(target, events, { expectedVersion: 'any' }),
        store.appendToStream(stream('beside-retry'), [testEvent()]),
      ]);
      expect(again).toEqual(original);
      expect(anyAgain).toEqual(original);
      expect(other.nextExpectedVersion).toBe(1);
      expect(await store.readStream(target)).toHaveLength(2);
    });

    it('fails an append Postgres refuses alone, with Postgres’ own error, and stores the others', async () => {
      const bad = { ...testEvent(), id: 'not-a-uuid' };
      const [before, after] = [stream('before-bad'), stream('after-bad')];
      const outcomes = await Promise.allSettled([
        store.appendToStream(before, [testEvent()]),
        store.appendToStream(stream('bad'), [bad]),
        store.appendToStream(after, [testEvent()]),
      ]);
      expect(rejected(outcomes[1])).toMatchObject({ code: '22P02' }); // invalid_text_representation, as without batching
      expect(transactionsOf([fulfilled(outcomes[0]), fulfilled(outcomes[2])]).size).toBe(1);
      expect(await store.readStream(after)).toHaveLength(1);
    });
  });

  describe('when appends are batched', () => {
    it('wakes in-process listeners with each append’s own last position', async () => {
      const seen: bigint[] = [];
      const listening = await store.onAppended((position) => {
        if (position !== undefined) seen.push(position);
      });
      try {
        const results = await Promise.all(Array.from({ length: 5 }, () => store.appendToStream(stream('signalled'), [testEvent()])));
        expect(transactionsOf(results).size).toBeLessThan(5);
        for (const r of results) expect(seen).toContain(r.lastPosition);
      } finally {
        await listening.close();
      }
    });
  });

  describe('when group commit is off', () => {
    it('commits each concurrent append on its own', async () => {
      const plain = await PostgresEventStore.connect({ connectionString, groupCommit: false, poolSize: 8 });
      try {
        expect(plain.groupCommit).toBe(false);
        const results = await Promise.all(Array.from({ length: 8 }, () => plain.appendToStream(stream('plain'), [testEvent()])));
        expect(transactionsOf(results).size).toBe(8);
      } finally {
        await plain.close();
      }
    });

    it('is on unless AGENTYARD_EVENT_STORE_GROUP_COMMIT says 0, and refuses a value it does not know', async () => {
      const saved = process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT;
      try {
        delete process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT;
        const unset = await PostgresEventStore.connect({ connectionString, poolSize: 1 });
        expect(unset.groupCommit).toBe(true);
        await unset.close();
        process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT = '1';
        const on = await PostgresEventStore.connect({ connectionString, poolSize: 1 });
        expect(on.groupCommit).toBe(true);
        await on.close();
        process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT = '0';
        const off = await PostgresEventStore.connect({ connectionString, poolSize: 1 });
        expect(off.groupCommit).toBe(false);
        await off.close();
        process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT = 'yes';
        await expect(PostgresEventStore.connect({ connectionString, poolSize: 1 })).rejects.toThrow(/AGENTYARD_EVENT_STORE_GROUP_COMMIT must be 1 or 0/);
      } finally {
        if (saved === undefined) delete process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT;
        else process.env.AGENTYARD_EVENT_STORE_GROUP_COMMIT = saved;
      }
    });
  });
});
