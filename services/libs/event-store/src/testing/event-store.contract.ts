/*
 * The behaviour every EventStore adapter must show, as one reusable Jest suite. Each adapter's
 * `*.int.spec.ts` calls `describeEventStoreContract` with a factory for a store on real
 * infrastructure. Tests only look at streams they created (names carry a per-suite run id), so the
 * suite also runs against a shared server, but a subscriber still checks the order of everything
 * it is handed.
 */
import { envelopeSchema, newId, type Envelope, type NewEvent } from '@agentyard/contracts';
import { VersionConflict, type AppendResult, type EventStore, type ExpectedVersion, type Subscription } from '../event-store.port';

export interface EventStoreUnderTest {
  store: EventStore;
  /** Closes the store and whatever the factory started for it. */
  close(): Promise<void>;
}

/** A NewEvent with fresh ids, for tests. */
export function testEvent(type = 'ThingHappened', data: Record<string, unknown> = {}, metadata: Partial<NewEvent['metadata']> = {}): NewEvent {
  const id = newId();
  return {
    id,
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    data,
    metadata: { correlationId: newId(), causationId: id, ...metadata },
  };
}

/** Collects what a subscription delivers and lets a test await a condition on it. */
export class DeliveryLog {
  readonly events: Envelope[] = [];
  private waiters: { done: (events: Envelope[]) => boolean; resolve: () => void }[] = [];

  /** Pass as `onEvent`. */
  readonly onEvent = async (event: Envelope): Promise<void> => {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.done(this.events)) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once `done(events)` holds; rejects after `timeoutMs` with what arrived so far. */
  until(done: (events: Envelope[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (done(this.events)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== finish);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.events.length} events delivered`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ done, resolve: finish });
    });
  }

  /** Delivered events of streams whose id starts with `prefix`. */
  of(prefix: string): Envelope[] {
    return this.events.filter((e) => e.streamId.startsWith(prefix));
  }
}

function position(event: Envelope): bigint {
  if (event.globalPosition === undefined) throw new Error(`event ${event.id} has no global position`);
  return BigInt(event.globalPosition);
}

/** Throws unless positions strictly increase along `events`. */
export function expectStrictlyIncreasingPositions(events: Envelope[]): void {
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [events[i - 1], events[i]];
    if (a && b && !(position(a) < position(b))) {
      throw new Error(`position ${b.globalPosition} (event ${i}) does not follow ${a.globalPosition}`);
    }
  }
}

function withoutPosition(event: Envelope): Omit<Envelope, 'globalPosition'> {
  const { globalPosition: _ignored, ...rest } = event;
  return rest;
}

async function conflictOf(promise: Promise<unknown>): Promise<VersionConflict> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VersionConflict) return error;
    throw error;
  }
  throw new Error('expected a VersionConflict, but the append succeeded');
}

/** Registers the shared EventStore contract suite for one adapter. */
export function describeEventStoreContract(name: string, factory: () => Promise<EventStoreUnderTest>, options: { skipBecause?: string } = {}): void {
  // A suite that cannot run here (no server for the adapter) is reported as skipped — every test
  // counted as skipped, the reason printed when the run starts — never as passed.
  if (options.skipBecause) process.stderr.write(`${name} (event store contract) skipped: ${options.skipBecause}\n`);
  const describeOrSkip = options.skipBecause ? describe.skip : describe;
  describeOrSkip(`${name} (event store contract)${options.skipBecause ? ` — skipped: ${options.skipBecause}` : ''}`, () => {
    const run = `c${newId().slice(-12)}`;
    let subject: EventStoreUnderTest | undefined;
    let store: EventStore;
    let streamCount = 0;
    const stream = (label = 'stream'): string => `${run}-${label}-${++streamCount}`;
    const subscriptions: Subscription[] = [];
    const follow = (fromCheckpoint: bigint, log: DeliveryLog, batchSize?: number): Subscription => {
      const subscription = store.subscribeToAll({ fromCheckpoint, onEvent: log.onEvent, ...(batchSize ? { batchSize } : {}) });
      subscriptions.push(subscription);
      return subscription;
    };
    /** The position of a fresh marker event: everything a test appends after it lies beyond. */
    const mark = async (): Promise<bigint> => (await store.appendToStream(stream('marker'), [testEvent('MarkerSet')])).lastPosition;

    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    });

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
    });

    afterAll(async () => {
      await subject?.close();
    });

    describe('appending to and reading a stream', () => {
      it('reads back every envelope field, with stream versions from 1 and increasing global positions', async () => {
        const id = stream();
        const events = [
          testEvent('TaskQueued', { title: 'build', nested: { list: [1, 'two', { three: null }] } }, { userId: 'user-1' }),
          testEvent('TaskAssigned', { workerId: 'w-1' }, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
          testEvent('TaskStarted', {}),
        ];
        const result = await store.appendToStream(id, events, { expectedVersion: 'no_stream' });
        expect(result.nextExpectedVersion).toBe(3);
        expect(result.lastPosition).toBeGreaterThan(0n);

        const read = await store.readStream(id);
        expect(read.map(withoutPosition)).toEqual(events.map((e, i) => ({ ...e, streamId: id, streamVersion: i + 1 })));
        for (const envelope of read) envelopeSchema.parse(envelope);
        const positioned = read.filter((e) => e.globalPosition !== undefined);
        expectStrictlyIncreasingPositions(positioned);
        if (positioned.length === read.length) expect(read[2]?.globalPosition).toBe(result.lastPosition.toString());
      });

      it('reads an absent stream as empty', async () => {
        await expect(store.readStream(stream('absent'))).resolves.toEqual([]);
      });

      it('reads a stream from a given version, at most maxCount events', async () => {
        const id = stream();
        const events = Array.from({ length: 5 }, () => testEvent());
        await store.appendToStream(id, events);
        const read = await store.readStream(id, { fromVersion: 2, maxCount: 3 });
        expect(read.map((e) => [e.streamVersion, e.id])).toEqual([
          [2, events[1]?.id],
          [3, events[2]?.id],
          [4, events[3]?.id],
        ]);
      });
    });

    describe('expected versions', () => {
      it('appends at the exact current version and rejects any other version without writing', async () => {
        const id = stream();
        await store.appendToStream(id, [testEvent(), testEvent()], { expectedVersion: 0 });
        const conflict = await conflictOf(store.appendToStream(id, [testEvent(), testEvent()], { expectedVersion: 1 }));
        expect(conflict).toMatchObject({ streamId: id, expected: 1, actual: 2 });
        expect(await store.readStream(id)).toHaveLength(2);

        const ok = await store.appendToStream(id, [testEvent()], { expectedVersion: 2 });
        expect(ok.nextExpectedVersion).toBe(3);
        await conflictOf(store.appendToStream(id, [testEvent()], { expectedVersion: 5 }));
        expect((await store.readStream(id)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      });

      it("accepts 'no_stream' and 0 only while the stream does not exist", async () => {
        const id = stream();
        await store.appendToStream(id, [testEvent()], { expectedVersion: 'no_stream' });
        expect(await conflictOf(store.appendToStream(id, [testEvent()], { expectedVersion: 'no_stream' }))).toMatchObject({ actual: 1 });
        expect(await conflictOf(store.appendToStream(id, [testEvent()], { expectedVersion: 0 }))).toMatchObject({ actual: 1 });
        expect(await store.readStream(id)).toHaveLength(1);
      });

      it("accepts 'stream_exists' only once the stream has events", async () => {
        const id = stream();
        expect(await conflictOf(store.appendToStream(id, [testEvent()], { expectedVersion: 'stream_exists' }))).toMatchObject({
          expected: 'stream_exists',
          actual: 0,
        });
        expect(await store.readStream(id)).toEqual([]);
        await store.appendToStream(id, [testEvent()]);
        const result = await store.appendToStream(id, [testEvent()], { expectedVersion: 'stream_exists' });
        expect(result.nextExpectedVersion).toBe(2);
      });

      it("accepts 'any' whether or not the stream exists", async () => {
        const id = stream();
        expect((await store.appendToStream(id, [testEvent()], { expectedVersion: 'any' })).nextExpectedVersion).toBe(1);
        expect((await store.appendToStream(id, [testEvent(), testEvent()])).nextExpectedVersion).toBe(3);
      });

      it('checks the expected version of an empty append and writes nothing', async () => {
        const id = stream();
        await store.appendToStream(id, [testEvent()]);
        expect((await store.appendToStream(id, [], { expectedVersion: 1 })).nextExpectedVersion).toBe(1);
        await conflictOf(store.appendToStream(id, [], { expectedVersion: 3 }));
        expect(await store.readStream(id)).toHaveLength(1);
      });

      it('lets exactly one of several concurrent appends at the same expected version win; the others conflict', async () => {
        const id = stream();
        await store.appendToStream(id, [testEvent()]);
        const contenders = Array.from({ length: 8 }, () => [testEvent(), testEvent()]);
        const outcomes = await Promise.allSettled(contenders.map((events) => store.appendToStream(id, events, { expectedVersion: 1 })));

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(VersionConflict);
        }
        const winner = contenders[winners[0] ?? -1] ?? [];
        const read = await store.readStream(id);
        expect(read.map((e) => e.id).slice(1)).toEqual(winner.map((e) => e.id));
        expect(read.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
      });
    });

    describe('retrying an append', () => {
      it('answers a retry of the same events at the same expected version with the original result and writes nothing', async () => {
        const id = stream();
        const events = [testEvent(), testEvent()];
        const first = await store.appendToStream(id, events, { expectedVersion: 'no_stream' });
        const again = await store.appendToStream(id, events, { expectedVersion: 'no_stream' });
        expect(again.nextExpectedVersion).toBe(first.nextExpectedVersion);
        expect((await store.readStream(id)).map((e) => e.id)).toEqual(events.map((e) => e.id));
      });
    });

    describe('reading all', () => {
      it('pages through the global log in strictly increasing positions, without gaps or repeats', async () => {
        const before = await mark();
        const streams = [stream('page'), stream('page'), stream('page')];
        const appended: string[] = [];
        for (let i = 0; i < 7; i++) {
          const events = Array.from({ length: 1 + (i % 4) }, () => testEvent());
          await store.appendToStream(streams[i % 3] ?? '', events);
          appended.push(...events.map((e) => e.id));
        }
        // Visibility may lag a committed append while an older transaction anywhere in the cluster
        // is still open (other suites share the test cluster): keep paging until ours are all in.
        const read: Envelope[] = [];
        let from = before;
        const deadline = Date.now() + 10_000;
        const ours = () => read.filter((e) => e.streamId.startsWith(`${run}-page-`));
        while (ours().length < appended.length && Date.now() < deadline) {
          const batch = await store.readAll({ fromPosition: from, limit: 4 });
          expect(batch.length).toBeLessThanOrEqual(4);
          if (batch.length === 0) {
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          read.push(...batch);
          from = position(batch[batch.length - 1] as Envelope);
        }
        expectStrictlyIncreasingPositions(read);
        expect(ours().map((e) => e.id)).toEqual(appended);
      });

      it('returns nothing after the last position', async () => {
        const last = await mark();
        const after = await store.readAll({ fromPosition: last });
        expect(after.filter((e) => e.streamId.startsWith(run))).toEqual([]);
      });
    });

    describe('subscribing to all', () => {
      it('delivers events appended before and after it started, in global order', async () => {
        const before = await mark();
        const id = stream('sub');
        const early = [testEvent(), testEvent()];
        await store.appendToStream(id, early);
        const log = new DeliveryLog();
        follow(before, log);
        const late = [testEvent(), testEvent(), testEvent()];
        await store.appendToStream(id, late.slice(0, 1));
        await store.appendToStream(id, late.slice(1));
        await log.until((events) => events.filter((e) => e.streamId === id).length >= 5, 'five events');
        expect(log.of(id).map((e) => e.id)).toEqual([...early, ...late].map((e) => e.id));
        expect(log.of(id).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5]);
        expectStrictlyIncreasingPositions(log.events);
      });

      it('resumes from the position of the last handled event without repeating or skipping any', async () => {
        const before = await mark();
        const id = stream('resume');
        const events = Array.from({ length: 12 }, () => testEvent());
        await store.appendToStream(id, events.slice(0, 6));

        const first = new DeliveryLog();
        const subscription = follow(before, first, 2);
        await first.until((delivered) => delivered.filter((e) => e.streamId === id).length >= 3, 'three events');
        await subscription.stop();
        const checkpoint = subscription.position;
        const handled = first.events;
        expect(checkpoint).toBe(position(handled[handled.length - 1] as Envelope));

        await store.appendToStream(id, events.slice(6));
        const second = new DeliveryLog();
        follow(checkpoint, second, 2);
        const remaining = 12 - first.of(id).length;
        await second.until((delivered) => delivered.filter((e) => e.streamId === id).length >= remaining, 'the remaining events');

        const all = [...first.of(id), ...second.of(id)];
        expect(all.map((e) => e.id)).toEqual(events.map((e) => e.id));
        expectStrictlyIncreasingPositions([...first.events, ...second.events]);
      });

      it('hands a failing handler error to onError and stops', async () => {
        const before = await mark();
        const id = stream('fail');
        await store.appendToStream(id, [testEvent(), testEvent()]);
        const failure = new Error('handler failed');
        let handled = 0;
        const reported = new Promise<unknown>((resolve) => {
          const subscription = store.subscribeToAll({
            fromCheckpoint: before,
            onEvent: async (event) => {
              if (event.streamId !== id) return;
              handled++;
              throw failure;
            },
            onError: resolve,
          });
          subscriptions.push(subscription);
        });
        await expect(reported).resolves.toBe(failure);
        expect(handled).toBe(1);
      });
    });

    describe('under concurrent load', () => {
      it('delivers every event of 8 concurrent appenders exactly once, in one strictly increasing global order, to a subscriber following from the start', async () => {
        const writers = 8;
        const perWriter = 2000;
        const prefix = `${run}-hammer-`;
        const log = new DeliveryLog();
        follow(0n, log);

        const appendedByWriter: string[][] = [];
        const writer = async (w: number): Promise<void> => {
          const mine: string[] = [];
          appendedByWriter[w] = mine;
          const own = [`${prefix}w${w}-a`, `${prefix}w${w}-b`];
          const versions = new Map<string, number>(own.map((s) => [s, 0]));
          let written = 0;
          for (let n = 0; written < perWriter; n++) {
            const size = Math.min(n % 3 === 2 ? 10 : 1, perWriter - written);
            const events = Array.from({ length: size }, () => testEvent('LoadApplied', { w, n }));
            // Mostly own streams at exact versions; every fifth append goes to a stream all writers share.
            const target = n % 5 === 4 ? `${prefix}shared` : (own[n % 2] as string);
            const expectedVersion: ExpectedVersion = versions.has(target) ? (versions.get(target) as number) : 'any';
            const result: AppendResult = await store.appendToStream(target, events, { expectedVersion });
            if (versions.has(target)) versions.set(target, result.nextExpectedVersion);
            mine.push(...events.map((e) => e.id));
            written += size;
          }
        };
        await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
        const total = writers * perWriter;
        await log.until((events) => events.filter((e) => e.streamId.startsWith(prefix)).length >= total, `${total} events`, 40_000);

        // Exactly once: the delivered ids are the appended ids, none twice.
        const delivered = log.of(prefix);
        expect(delivered).toHaveLength(total);
        const deliveredIds = new Set(delivered.map((e) => e.id));
        expect(deliveredIds.size).toBe(total);
        expect(appendedByWriter.flat().every((id) => deliveredIds.has(id))).toBe(true);

        // One global order: positions strictly increase in delivery order (every event, ours or not).
        expectStrictlyIncreasingPositions(log.events);

        // No gaps and no reordering inside a stream: versions 1..n in delivery order.
        const versionsByStream = new Map<string, number[]>();
        for (const e of delivered) versionsByStream.set(e.streamId, [...(versionsByStream.get(e.streamId) ?? []), e.streamVersion]);
        for (const [streamId, versions] of versionsByStream) {
          expect({ streamId, versions }).toEqual({ streamId, versions: versions.map((_, i) => i + 1) });
        }

        // A writer's appends were sequential, so their events must arrive in the order it wrote them.
        const rank = new Map(delivered.map((e, i) => [e.id, i]));
        for (const ids of appendedByWriter) {
          const ranks = ids.map((id) => rank.get(id) ?? -1);
          expect(ranks.every((r, i) => i === 0 || r > (ranks[i - 1] ?? -1))).toBe(true);
        }

        // The order is the log's order: paging readAll gives the same sequence.
        const paged: Envelope[] = [];
        let from = 0n;
        for (;;) {
          const batch = await store.readAll({ fromPosition: from, limit: 5000 });
          if (batch.length === 0) break;
          paged.push(...batch);
          from = position(batch[batch.length - 1] as Envelope);
        }
        expect(paged.filter((e) => e.streamId.startsWith(prefix)).map((e) => e.id)).toEqual(delivered.map((e) => e.id));
      });
    });
  });
}
