import { eventSubject, newId, type Envelope, type NewEvent } from '@agentyard/contracts';
import { PostgresEventStore, PostgresLeases, type LeaseFence } from '@agentyard/event-store';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { testDatabase, testNats, type NatsServer } from '@agentyard/local-infra';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publishEvent } from './event-publisher';
import { EventRelay, type EventRelayOptions } from './event-relay';
import { ensureStream, eventStreamConfig } from './provisioning';
import { eventually } from './testing/eventually';

describe('EventRelay', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const stores: PostgresEventStore[] = [];
  const relays: EventRelay[] = [];
  let lastConnectionString = '';

  beforeAll(async () => {
    nats = await testNats();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all(stores.map((s) => s.close()));
    await nc?.close();
    await nats?.stop();
  });

  /** A store in a fresh database, so each test's global log holds only its own events. */
  async function freshStore(): Promise<PostgresEventStore> {
    lastConnectionString = await testDatabase('relay');
    const store = await PostgresEventStore.connect({ connectionString: lastConnectionString, pollIntervalMs: 100 });
    await store.migrate();
    stores.push(store);
    return store;
  }

  /** Appends `count` events spread over 5 task streams. */
  async function appendTaskEvents(store: PostgresEventStore, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await store.appendToStream(`task-${i % 5}`, [event('TaskQueued', { n: i })]);
  }

  function relay(store: PostgresEventStore, overrides: Partial<EventRelayOptions> = {}): EventRelay {
    const r = new EventRelay({
      name: 'relay:tasks',
      store,
      checkpoints: store.checkpoints,
      js,
      subjectFor: (e) => eventSubject('tasks', e.type, e.streamId),
      batchSize: 10,
      pollIntervalMs: 20,
      retryDelayMs: 100,
      publishTimeoutMs: 500,
      logger: { error: () => undefined },
      ...overrides,
    });
    relays.push(r);
    return r;
  }

  /** Ids of the messages on a stream, in stream order. */
  async function idsOnStream(stream: string): Promise<string[]> {
    const { state } = await jsm.streams.info(stream);
    const ids: string[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq });
      if (msg) ids.push(msg.json<Envelope>().id);
    }
    return ids;
  }

  async function messagesOn(stream: string): Promise<number> {
    return (await jsm.streams.info(stream)).state.messages;
  }

  /**
   * The store's events once `count` are visible. Visibility is cluster-wide: another suite's open
   * transaction holds back every reader for a moment, and a relay reading then sees a short batch.
   */
  async function visibleEvents(store: PostgresEventStore, count: number): Promise<Envelope[]> {
    return eventually(
      async () => {
        const all = await store.readAll({ limit: 10_000 });
        return all.length === count ? all : undefined;
      },
      15_000,
      `${count} visible events`,
    );
  }

  async function idsInStore(store: PostgresEventStore, count: number): Promise<{ ids: string[]; last: bigint }> {
    const all = await visibleEvents(store, count);
    return { ids: all.map((e) => e.id), last: BigInt(all.at(-1)?.globalPosition ?? '0') };
  }

  async function resetStream(): Promise<void> {
    await jsm.streams.delete('TASKS').catch(() => undefined);
    await ensureStream(jsm, eventStreamConfig('tasks'));
  }

  beforeEach(resetStream);

  it('publishes every event once, in global order, with its id as msg id, then checkpoints', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 25);
    const { ids, last } = await idsInStore(store, 25);

    const r = relay(store);
    r.start();
    await eventually(async () => r.checkpoint === last, 15_000, 'the checkpoint at the last event');
    await r.stop();

    expect(await idsOnStream('TASKS')).toEqual(ids);
    expect(await store.checkpoints.load('relay:tasks')).toBe(last);
    const first = await jsm.streams.getMessage('TASKS', { seq: 1 });
    expect(first?.header.get('Nats-Msg-Id')).toBe(ids[0]);
    expect(first?.subject).toBe('tasks.events.task-queued.task-0');
  });

  it('run by a holder that lost its lease beside the new holder’s, repeats and reorders nothing, and stops once its checkpoint is refused', async () => {
    const store = await freshStore();
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: lastConnectionString, max: 2 }) }) });
    try {
      const leases = PostgresLeases.fromKysely(db);
      const refused: bigint[] = [];
      const fence = (epoch: bigint): LeaseFence => ({ lease: 'tasks-leader', epoch, refused: () => refused.push(epoch) });
      expect(await leases.tryAcquire('tasks-leader', 'old', 60_000)).toBe(1n);
      await appendTaskEvents(store, 20);
      await visibleEvents(store, 20);
      const errors: string[] = [];
      const stale = relay(store, { checkpoints: store.checkpoints.fenced(fence(1n)), checkpointIntervalMs: 0, onError: (e) => errors.push((e as Error).name) });
      stale.start();
      await eventually(async () => (await store.checkpoints.load('relay:tasks')) > 0n, 15_000, 'the old holder’s first checkpoint');
      // The old holder "pauses": its lease expires and a standby takes it, while its relay still runs.
      await sql`update event_store.leases set expires_at = clock_timestamp() where name = 'tasks-leader'`.execute(db);
      expect(await leases.tryAcquire('tasks-leader', 'new', 60_000)).toBe(2n);
      const current = relay(store, { checkpoints: store.checkpoints.fenced(fence(2n)), checkpointIntervalMs: 0 });
      current.start();
      await appendTaskEvents(store, 40);
      const { ids, last } = await idsInStore(store, 60);
      await eventually(async () => (await store.checkpoints.load('relay:tasks')) === last, 15_000, 'the new holder’s checkpoint at the last event');
      await eventually(() => errors.includes('LeaseLost'), 15_000, 'the old relay’s checkpoint refused');
      await current.stop();
      await stale.stop();
      expect(await idsOnStream('TASKS')).toEqual(ids);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((epoch) => epoch === 1n)).toBe(true);
      expect(await store.checkpoints.load('relay:tasks')).toBe(last);
    } finally {
      await db.destroy();
    }
  });

  it('writes its checkpoint at most every checkpointIntervalMs while events keep coming, and on stop', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 30);
    const all = await visibleEvents(store, 30); // so the relay reads three full batches back to back
    const last = BigInt(all.at(-1)!.globalPosition!);

    const r = relay(store, { checkpointIntervalMs: 60_000 });
    r.start();
    await eventually(() => r.position === last, 15_000, 'every event published');
    expect(await messagesOn('TASKS')).toBe(30);
    // The first batch's checkpoint was written; the next two came within the interval.
    expect(await store.checkpoints.load('relay:tasks')).toBe(BigInt(all[9]!.globalPosition!));
    await r.stop();
    expect(await store.checkpoints.load('relay:tasks')).toBe(last);
  });

  it('restarted after dying between publish and checkpoint, it publishes nothing twice and skips nothing', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 50);
    await visibleEvents(store, 50); // so the relay reads full batches

    // Dies while handling the 27th event: 26 published and acked, checkpoint still at the 20th.
    let calls = 0;
    const dying = relay(store, {
      subjectFor: (e) => {
        if (++calls === 27) throw new Error('simulated crash');
        return eventSubject('tasks', e.type, e.streamId);
      },
      checkpointIntervalMs: 0, // a checkpoint after every batch, so the 20th is the last one
      onError: () => void dying.stop(),
    });
    dying.start();
    await eventually(() => calls >= 27, 15_000, 'the crash');
    await dying.stop();
    const all = await store.readAll({ limit: 100 });
    expect(await messagesOn('TASKS')).toBe(26);
    expect(await store.checkpoints.load('relay:tasks')).toBe(BigInt(all[19]!.globalPosition!));

    const restarted = relay(store);
    restarted.start();
    await appendTaskEvents(store, 10); // keeps following new appends too
    const { ids, last } = await idsInStore(store, 60);
    await eventually(() => restarted.checkpoint === last, 15_000, 'the restarted relay to catch up');

    expect(ids).toHaveLength(60);
    expect(await idsOnStream('TASKS')).toEqual(ids);
  });

  it('republishes everything when the stream comes back empty after its events were published (a nats-server that lost its data)', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 20);
    const { ids, last } = await idsInStore(store, 20);
    const first = relay(store, { stream: 'TASKS' });
    first.start();
    await eventually(async () => first.checkpoint === last, 15_000, 'the checkpoint at the last event');
    await first.stop();

    await resetStream(); // JetStream lost it all; the checkpoint says all was published
    const errors: string[] = [];
    const restarted = relay(store, { stream: 'TASKS', logger: { error: (m) => errors.push(m) } });
    restarted.start();
    await eventually(async () => ((await messagesOn('TASKS')) === 20 ? true : undefined), 15_000, 'every event on the stream again');
    await restarted.stop();
    expect(await idsOnStream('TASKS')).toEqual(ids);
    expect(errors.join('\n')).toMatch(/stream TASKS ends at position 0, before the checkpoint/);
  });

  it('republishes from the last event the stream kept when it lost the ones after it, and nothing twice', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 20);
    const all = await visibleEvents(store, 20);
    const first = relay(store, { stream: 'TASKS' });
    first.start();
    await eventually(async () => first.checkpoint === BigInt(all.at(-1)!.globalPosition!), 15_000, 'the checkpoint at the last event');
    await first.stop();

    // The server kept only the first 12 (its last fsync was before the rest).
    await resetStream();
    for (const e of all.slice(0, 12)) await publishEvent(js, eventSubject('tasks', e.type, e.streamId), e);
    const restarted = relay(store, { stream: 'TASKS' });
    restarted.start();
    await eventually(async () => ((await messagesOn('TASKS')) === 20 ? true : undefined), 15_000, 'the lost 8 back');
    await restarted.stop();
    expect(await idsOnStream('TASKS')).toEqual(all.map((e) => e.id));
  });

  it('trusts its checkpoint when the stream holds its last event', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 10);
    const { last } = await idsInStore(store, 10);
    const first = relay(store, { stream: 'TASKS' });
    first.start();
    await eventually(async () => first.checkpoint === last, 15_000, 'the checkpoint at the last event');
    await first.stop();
    const errors: string[] = [];
    const again = relay(store, { stream: 'TASKS', logger: { error: (m) => errors.push(m) } });
    again.start();
    await appendTaskEvents(store, 1);
    await eventually(async () => ((await messagesOn('TASKS')) === 11 ? true : undefined), 15_000, 'the new event');
    await again.stop();
    expect(errors).toEqual([]);
  });

  it('publishes an append at once, woken by the store rather than by its poll interval', async () => {
    const store = await freshStore();
    const r = relay(store, { pollIntervalMs: 60_000 });
    r.start();
    await eventually(() => r.checkpoint === 0n, 5_000, 'the relay to load its checkpoint');
    await new Promise((resolve) => setTimeout(resolve, 200)); // now waiting on its long poll

    await appendTaskEvents(store, 1); // this process's append: woken in-process
    await eventually(async () => (await messagesOn('TASKS')) === 1, 5_000, 'the first event on the stream');

    // Another process's append (a second store on the same database): woken by LISTEN/NOTIFY.
    const other = await PostgresEventStore.connect({ connectionString: lastConnectionString });
    stores.push(other);
    await other.appendToStream('task-other', [event('TaskQueued', { n: 0 })]);
    await eventually(async () => (await messagesOn('TASKS')) === 2, 5_000, "the other process's event on the stream");
    const { ids } = await idsInStore(store, 2);
    expect(await idsOnStream('TASKS')).toEqual(ids);
  });

  it('republishes from a lost publish: later ones of its batch are refused, never stored ahead of it', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 12);
    const all = await visibleEvents(store, 12);
    // The 4th publish of the first batch goes nowhere (no stream captures its subject) and fails.
    let failOnce = true;
    const r = relay(store, {
      subjectFor: (e) => {
        if (e.id === all[3]!.id && failOnce) {
          failOnce = false;
          return 'nowhere.lost';
        }
        return eventSubject('tasks', e.type, e.streamId);
      },
    });
    r.start();
    const last = BigInt(all.at(-1)!.globalPosition!);
    await eventually(() => r.checkpoint === last, 15_000, 'the relay to catch up after the failure');
    expect(await idsOnStream('TASKS')).toEqual(all.map((e) => e.id));
  });

  it('keeps order and loses nothing across a nats-server kill -9 and restart while publishing', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 300);
    const r = relay(store, { batchSize: 50 });
    r.start();
    await eventually(async () => (await messagesOn('TASKS')) >= 30, 15_000, 'some events on the stream');

    await nats.kill();
    await appendTaskEvents(store, 20);
    await nats.restart();

    const { ids, last } = await idsInStore(store, 320);
    await eventually(() => r.checkpoint === last, 30_000, 'the relay to catch up after the restart');
    await r.stop();
    expect(await idsOnStream('TASKS')).toEqual(ids);
  });

  it('sends what was unacked again as soon as NATS reconnects, not after its ack timeout (a publish made while disconnected is dropped)', async () => {
    const store = await freshStore();
    await appendTaskEvents(store, 5);
    // Ack timeout and retry delay far beyond the test's wait: only the reconnect can end them in time.
    const r = relay(store, { connection: nc, publishTimeoutMs: 60_000, retryDelayMs: 60_000 });
    r.start();
    const first = await idsInStore(store, 5);
    await eventually(() => r.position === first.last, 15_000, 'the first events relayed');

    await nats.kill();
    await appendTaskEvents(store, 5);
    // The relay is woken by the appends and publishes them into the void.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await nats.restart();

    const { ids, last } = await idsInStore(store, 10);
    await eventually(() => r.position === last, 15_000, 'the events appended while NATS was down on the stream');
    expect(await idsOnStream('TASKS')).toEqual(ids);
    await r.stop();
  }, 40_000);
});

function event(type: string, data: Record<string, unknown>): NewEvent {
  const id = newId();
  return { id, type, version: 1, occurredAt: new Date().toISOString(), data, metadata: { correlationId: id, causationId: id } };
}
