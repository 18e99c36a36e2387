import { testDatabase } from '@agentyard/local-infra';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { VersionConflict } from '../event-store.port';
import { testEvent } from '../testing/event-store.contract';
import { transactionIdOf } from '../postgres/log-position';
import { PostgresCheckpointStore } from '../postgres/postgres-checkpoint-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { migrateEventStore } from '../postgres/postgres-event-store.migrations';
import { assertLeaseCurrent, LeaseLost, PostgresLeases, type LeaseFence } from '../postgres/postgres-leases';
import { LeaseKeeper, type LeaseWork } from './lease-keeper';
import { leaseSettingsFor } from './lease.decide';

describe('Lease (Postgres)', () => {
  let db: Kysely<unknown>;
  let leases: PostgresLeases;
  let checkpoints: PostgresCheckpointStore;
  let store: PostgresEventStore;
  let n = 0;
  const leaseName = (): string => `lease-${++n}`;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    const connectionString = await testDatabase('lease');
    db = new Kysely({ dialect: new PostgresDialect({ pool: new Pool({ connectionString, max: 8 }) }) });
    await migrateEventStore(db);
    leases = PostgresLeases.fromKysely(db);
    checkpoints = PostgresCheckpointStore.fromKysely(db);
    store = PostgresEventStore.fromKysely(db, { listenConnectionString: connectionString });
  });

  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  describe('when two holders race for it', () => {
    it('grants it to one of them, with epoch 1, and refuses the other until it expires', async () => {
      const name = leaseName();
      const [a, b] = await Promise.all([leases.tryAcquire(name, 'a', 5_000), leases.tryAcquire(name, 'b', 5_000)]);
      expect([a, b].sort()).toEqual([1n, null].sort());
      expect(await leases.tryAcquire(name, 'c', 5_000)).toBeNull();
    });
  });

  describe('when the holder dies without releasing it', () => {
    it('lets another take it once it expired, with the next epoch, and refuses the old holder’s renewal', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'a', 300)).toBe(1n);
      expect(await leases.tryAcquire(name, 'b', 300)).toBeNull();
      expect(await leases.renew(name, 'a', 1n, 300)).toBe(true);
      await sleep(350);
      expect(await leases.tryAcquire(name, 'b', 5_000)).toBe(2n);
      expect(await leases.renew(name, 'a', 1n, 300)).toBe(false);
      expect(await leases.current(name)).toMatchObject({ holder: 'b', epoch: 2n });
    });

    it('does not let the holder renew an expired tenure even when nobody took it', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'a', 300)).toBe(1n);
      await sleep(350);
      expect(await leases.renew(name, 'a', 1n, 300)).toBe(false);
      expect(await leases.tryAcquire(name, 'a', 300)).toBe(2n);
    });
  });

  describe('when the holder restarts under the same holder id', () => {
    it('takes it back at once, with the next epoch, so the dead incarnation’s writes are refused', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'host:3000', 60_000)).toBe(1n);
      expect(await leases.tryAcquire(name, 'other:3000', 60_000)).toBeNull();
      expect(await leases.tryAcquire(name, 'host:3000', 60_000)).toBe(2n);
      await expect(checkpoints.saveFenced(`relay:${name}`, 1n, { lease: name, epoch: 1n })).rejects.toBeInstanceOf(LeaseLost);
    });
  });

  describe('when the holder releases it', () => {
    it('is free at once and the next acquisition bumps the epoch', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'a', 60_000)).toBe(1n);
      expect(await leases.release(name, 'b', 1n)).toBe(false);
      expect(await leases.release(name, 'a', 1n)).toBe(true);
      expect(await leases.tryAcquire(name, 'b', 60_000)).toBe(2n);
    });
  });

  describe('when a write carries a stale epoch', () => {
    it('refuses a fenced checkpoint save and keeps the current holder’s position', async () => {
      const name = leaseName();
      const refused: bigint[] = [];
      const fence = (epoch: bigint): LeaseFence => ({ lease: name, epoch, refused: () => refused.push(epoch) });
      expect(await leases.tryAcquire(name, 'a', 300)).toBe(1n);
      await checkpoints.saveFenced(`relay:${name}`, 10n, fence(1n));
      await sleep(350);
      expect(await leases.tryAcquire(name, 'b', 60_000)).toBe(2n);
      await checkpoints.saveFenced(`relay:${name}`, 20n, fence(2n));
      await expect(checkpoints.fenced(fence(1n)).save(`relay:${name}`, 15n)).rejects.toBeInstanceOf(LeaseLost);
      expect(await checkpoints.load(`relay:${name}`)).toBe(20n);
      expect(refused).toEqual([1n]);
    });

    it('refuses a fenced append and appends nothing', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'a', 300)).toBe(1n);
      const stale = store.fenced({ lease: name, epoch: 1n });
      await stale.appendToStream(`s-${name}`, [testEvent('Decided')]);
      await sleep(350);
      expect(await leases.tryAcquire(name, 'b', 60_000)).toBe(2n);
      await expect(stale.appendToStream(`s-${name}`, [testEvent('DecidedLate')])).rejects.toBeInstanceOf(LeaseLost);
      await store.fenced({ lease: name, epoch: 2n }).appendToStream(`s-${name}`, [testEvent('DecidedByNewHolder')]);
      expect((await store.readStream(`s-${name}`)).map((e) => e.type)).toEqual(['Decided', 'DecidedByNewHolder']);
    });

    it('makes an acquisition wait for a fenced write in progress, so that write commits before the new epoch exists', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'a', 400)).toBe(1n);
      const trx = await db.startTransaction().execute();
      await assertLeaseCurrent(trx, 'event_store', { lease: name, epoch: 1n });
      await sleep(450); // expired while the write holds the row FOR SHARE
      let acquiredAt = 0;
      const acquiring = leases.tryAcquire(name, 'b', 60_000).then((epoch) => ((acquiredAt = performance.now()), epoch));
      await sleep(200);
      expect(acquiredAt).toBe(0); // still waiting for the write's transaction
      const committedAt = performance.now();
      await sql`select 1`.execute(trx);
      await trx.commit().execute();
      expect(await acquiring).toBe(2n);
      expect(acquiredAt).toBeGreaterThanOrEqual(committedAt);
    });
  });

  describe('when fenced appends are issued together (one statement: the check, then the batch)', () => {
    it('commits them in fewer transactions than appends, each keeping its own outcome', async () => {
      const name = leaseName();
      expect(await leases.tryAcquire(name, 'a', 60_000)).toBe(1n);
      const fenced = store.fenced({ lease: name, epoch: 1n });
      const taken = `s-${name}-taken`;
      await fenced.appendToStream(taken, [testEvent('First')]);
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 20 }, (_, i) => fenced.appendToStream(`s-${name}-${i}`, [testEvent('Decided')], { expectedVersion: 'no_stream' })),
        fenced.appendToStream(taken, [testEvent('Second')], { expectedVersion: 'no_stream' }),
      ]);
      const appended = outcomes.slice(0, 20).map((o) => (o.status === 'fulfilled' ? o.value : undefined));
      expect(appended.every((r) => r?.nextExpectedVersion === 1)).toBe(true);
      expect(new Set(appended.map((r) => transactionIdOf(r!.lastPosition))).size).toBeLessThan(20);
      expect(outcomes[20]).toMatchObject({ status: 'rejected', reason: expect.any(VersionConflict) });
      expect((await store.readStream(taken)).map((e) => e.type)).toEqual(['First']);
    });

    it('refuses every append of a batch under a stale epoch and writes none of them', async () => {
      const name = leaseName();
      const refused: bigint[] = [];
      expect(await leases.tryAcquire(name, 'a', 300)).toBe(1n);
      const stale = store.fenced({ lease: name, epoch: 1n, refused: () => refused.push(1n) });
      await sleep(350);
      expect(await leases.tryAcquire(name, 'b', 60_000)).toBe(2n);
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => stale.appendToStream(`s-${name}-${i}`, [testEvent('DecidedLate')])));
      expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof LeaseLost)).toBe(true);
      expect(refused.length).toBeGreaterThan(0);
      for (let i = 0; i < 10; i++) expect(await store.readStream(`s-${name}-${i}`)).toEqual([]);
    });

    it('makes an acquisition wait for a fenced append in flight, so that append commits before the new epoch exists', async () => {
      const name = leaseName();
      const streamId = `s-${name}`;
      expect(await leases.tryAcquire(name, 'a', 400)).toBe(1n);
      const fenced = store.fenced({ lease: name, epoch: 1n });
      await fenced.appendToStream(streamId, [testEvent('First')]);
      // Another connection holds the stream's row: the next append passes its lease check, then waits.
      const trx = await db.startTransaction().execute();
      await sql`select 1 from event_store.streams where stream_id = ${streamId} for update`.execute(trx);
      let appendedAt = 0;
      const appending = fenced.appendToStream(streamId, [testEvent('Second')]).then((r) => ((appendedAt = performance.now()), r));
      await sleep(450); // the lease expires while the append is in flight
      let acquiredAt = 0;
      const acquiring = leases.tryAcquire(name, 'b', 60_000).then((epoch) => ((acquiredAt = performance.now()), epoch));
      await sleep(200);
      expect(acquiredAt).toBe(0); // waits for the append's transaction, which holds the lease row FOR SHARE
      await trx.commit().execute();
      expect((await appending).nextExpectedVersion).toBe(2);
      expect(await acquiring).toBe(2n);
      expect(acquiredAt).toBeGreaterThanOrEqual(appendedAt - 50); // the append's commit came first (its promise may settle a moment later)
      expect((await store.readStream(streamId)).map((e) => e.type)).toEqual(['First', 'Second']);
    });
  });

  describe('LeaseKeeper', () => {
    const settings = leaseSettingsFor(600);
    function recorder(): LeaseWork & { log: string[] } {
      const log: string[] = [];
      return { log, start: async (fence) => void log.push(`start ${fence.epoch}`), stop: async () => void log.push('stop') };
    }
    const until = async (check: () => boolean, ms = 5_000): Promise<void> => {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await sleep(10);
      }
    };

    it('runs the work on one keeper only, and on the other at once after a graceful stop', async () => {
      const name = leaseName();
      const workA = recorder();
      const workB = recorder();
      const a = new LeaseKeeper({ leases, name, holder: 'a', settings, work: workA, logger: { info: () => undefined, warn: () => undefined } });
      const b = new LeaseKeeper({ leases, name, holder: 'b', settings, work: workB, logger: { info: () => undefined, warn: () => undefined } });
      a.start();
      await until(() => a.holding);
      b.start();
      await sleep(3 * settings.ttlMs); // renewals keep it with a through several ttls
      expect(a.holding).toBe(true);
      expect(b.holding).toBe(false);
      expect(workB.log).toEqual([]);
      const stoppedAt = performance.now();
      await a.stop();
      await until(() => b.holding);
      expect(performance.now() - stoppedAt).toBeLessThan(settings.ttlMs); // released, not expired
      expect(workA.log).toEqual(['start 1', 'stop']);
      expect(workB.log).toEqual(['start 2']);
      await b.stop();
      expect((await leases.current(name))?.holder).toBeNull();
    });

    it('keeps renewing while the work starts slowly, and steps down and releases when it fails to start', async () => {
      const name = leaseName();
      const log: string[] = [];
      let fail = true;
      const work: LeaseWork = {
        start: async (fence) => {
          log.push(`start ${fence.epoch}`);
          await sleep(3 * settings.ttlMs); // far past the ttl: renewals must go on meanwhile
          if (fail) throw new Error('cannot start');
        },
        stop: async () => void log.push('stop'),
      };
      const a = new LeaseKeeper({ leases, name, holder: 'a', settings, work, logger: { info: () => undefined, warn: () => undefined } });
      a.start();
      await until(() => log.includes('start 1'));
      await sleep(2 * settings.ttlMs);
      expect(a.holding).toBe(true); // renewed all along, though the start has not finished
      expect((await leases.current(name))?.epoch).toBe(1n);
      await until(() => log.includes('stop'), 10 * settings.ttlMs);
      expect(log.slice(0, 2)).toEqual(['start 1', 'stop']);
      fail = false;
      await until(() => log.includes('start 2'), 10 * settings.ttlMs); // released, then taken again
      await a.stop();
    });

    it('stops the work of a holder whose renewal the database refuses', async () => {
      const name = leaseName();
      const work = recorder();
      const a = new LeaseKeeper({ leases, name, holder: 'a', settings, work, logger: { info: () => undefined, warn: () => undefined } });
      a.start();
      await until(() => a.holding);
      // Someone else's acquisition as if a's lease had expired (a forced takeover).
      await sql`update event_store.leases set holder = 'b', epoch = epoch + 1 where name = ${name}`.execute(db);
      await until(() => work.log.includes('stop'), 2 * settings.ttlMs);
      expect(a.holding).toBe(false);
      await a.stop();
    });
  });
});
