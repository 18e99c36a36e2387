import 'reflect-metadata';
import { DomainError, type Envelope } from '@agentyard/contracts';
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { Controller, Injectable, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publishEvent } from './event-publisher';
import { JetStreamEventContext, NatsRequestContext, type EventBatchItem } from './nats-jetstream.context';
import { NatsRpcClient } from './nats-rpc.client';
import { NatsJetStreamServer } from './nats-jetstream.server';
import { eventStreamConfig } from './provisioning';
import { RpcErrorPassthroughFilter } from './rpc-error.filter';
import { eventually, testEnvelope } from './testing/eventually';

/** What the controller saw, shared with the test through Nest's DI. */
@Injectable()
class Journal {
  readonly queued: { envelope: Envelope; subject: string; deliveryCount: number }[] = [];
  readonly audited: string[] = [];
  failures = 0;
  slowStarted = false;
  /** Batch consumer: the ids of each batch handed over, and each item's delivery count. */
  readonly batches: { id: string; deliveryCount: number }[][] = [];
  private release: (() => void) | undefined;
  readonly slowGate = new Promise<void>((r) => (this.release = r));
  openSlowGate(): void {
    this.release?.();
  }
}

@Controller()
class UsersController {
  constructor(private readonly journal: Journal) {}

  @MessagePattern('auth.commands.register-user')
  register(@Payload() body: { email: string }, @Ctx() ctx: NatsRequestContext): { userId: string; subject: string } {
    if (body.email === 'taken@example.com') throw new DomainError('CONFLICT', 'email already registered');
    return { userId: `u-${body.email}`, subject: ctx.getSubject() };
  }

  @EventPattern('tasks.events.task-queued.>', { consumer: 'auth-task-queued' })
  async onTaskQueued(@Payload() envelope: Envelope, @Ctx() ctx: JetStreamEventContext): Promise<void> {
    this.journal.queued.push({ envelope, subject: ctx.getSubject(), deliveryCount: ctx.getDeliveryCount() });
  }

  // Overlaps every consumer's filter; the extras bind it to one of them.
  @EventPattern('tasks.events.>', { consumer: 'auth-audit' })
  async audit(@Payload() envelope: Envelope): Promise<void> {
    this.journal.audited.push(envelope.id);
  }

  // A batch consumer: items whose data says `failOnce` fail on their first delivery only.
  @EventPattern('tasks.events.task-updated.>', { consumer: 'auth-batch' })
  async onUpdates(@Payload() items: EventBatchItem[]): Promise<unknown[]> {
    this.journal.batches.push(items.map((i) => ({ id: (i.data as Envelope).id, deliveryCount: i.delivery.deliveryCount })));
    return items.map((i) => ((i.data as Envelope).data.failOnce === true && i.delivery.deliveryCount === 1 ? new Error('not yet') : undefined));
  }

  @EventPattern('tasks.events.task-failed.>')
  async onTaskFailed(): Promise<void> {
    this.journal.failures++;
    throw new Error('cannot handle a failed task');
  }

  @EventPattern('tasks.events.task-started.>')
  async onTaskStarted(): Promise<void> {
    this.journal.slowStarted = true;
    await this.journal.slowGate;
  }
}

@Module({ controllers: [UsersController], providers: [Journal] })
class AuthModule {}

describe('NatsJetStreamServer in a NestJS microservice', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let app: INestMicroservice;
  let journal: Journal;
  let client: NatsRpcClient;

  beforeAll(async () => {
    nats = await testNats();
    app = await NestFactory.createMicroservice(AuthModule, {
      logger: ['error', 'warn'],
      strategy: new NatsJetStreamServer({
        name: 'auth',
        servers: nats.url,
        streams: [eventStreamConfig('tasks')],
        consumers: [
          { stream: 'TASKS', durable: 'auth-task-queued', filterSubject: 'tasks.events.task-queued.>' },
          { stream: 'TASKS', durable: 'auth-task-failed', filterSubject: 'tasks.events.task-failed.>', maxDeliver: 2, backoffMs: [10] },
          { stream: 'TASKS', durable: 'auth-task-started', filterSubject: 'tasks.events.task-started.>' },
          { stream: 'TASKS', durable: 'auth-audit', filterSubject: 'tasks.events.task-queued.>' },
          { stream: 'TASKS', durable: 'auth-batch', filterSubject: 'tasks.events.task-updated.>', batch: true, concurrency: 64, backoffMs: [10] },
        ],
        pullExpiresMs: 1_000,
      }),
    });
    app.useGlobalFilters(new RpcErrorPassthroughFilter());
    await app.listen();
    journal = app.get(Journal);
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    client = new NatsRpcClient(nc);
  });

  afterAll(async () => {
    journal?.openSlowGate();
    await app?.close();
    await nc?.close();
    await nats?.stop();
  });

  it('answers a request with the @MessagePattern handler and its @Ctx()', async () => {
    await expect(client.request('auth.commands.register-user', { email: 'ada@example.com' })).resolves.toEqual({
      userId: 'u-ada@example.com',
      subject: 'auth.commands.register-user',
    });
  });

  it('replies with the DomainError a controller throws, code and message intact', async () => {
    await expect(client.request('auth.commands.register-user', { email: 'taken@example.com' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'email already registered',
    });
  });

  it('hands a JetStream event to the matching @EventPattern handler with its context', async () => {
    const envelope = testEnvelope('TaskQueued', { taskId: 't1' });
    await publishEvent(js, 'tasks.events.task-queued.t1', envelope);
    const seen = await eventually(() => journal.queued.find((q) => q.envelope.id === envelope.id), 10_000, 'the event');
    expect(seen).toEqual({ envelope, subject: 'tasks.events.task-queued.t1', deliveryCount: 1 });
  });

  it('calls a handler bound to a consumer (extras) only for that consumer, once per event', async () => {
    const first = testEnvelope('TaskQueued', { taskId: 't4' });
    const second = testEnvelope('TaskQueued', { taskId: 't5' });
    await publishEvent(js, 'tasks.events.task-queued.t4', first);
    await publishEvent(js, 'tasks.events.task-queued.t5', second);
    // Each consumer runs in order: once both saw `second`, any extra call for `first` would have happened.
    await eventually(() => journal.audited.includes(second.id) && journal.queued.some((q) => q.envelope.id === second.id), 10_000, 'both consumers');
    expect(journal.audited.filter((id) => id === first.id)).toHaveLength(1);
    expect(journal.queued.filter((q) => q.envelope.id === first.id)).toHaveLength(1);
  });

  it('hands a batch consumer its messages in stream order, several per call, and redelivers only the items that failed', async () => {
    const envelopes = Array.from({ length: 40 }, (_, i) => testEnvelope('TaskUpdated', { taskId: `b${i}`, failOnce: i === 7 }));
    // Published without awaiting each ack, so they wait for the handler together.
    await Promise.all(envelopes.map((e) => publishEvent(js, `tasks.events.task-updated.${e.data.taskId}`, e)));
    await eventually(() => journal.batches.flat().filter((b) => b.deliveryCount === 2).length === 1, 10_000, 'the failed item again');

    const firstDeliveries = journal.batches
      .flat()
      .filter((b) => b.deliveryCount === 1)
      .map((b) => b.id);
    expect(firstDeliveries).toEqual(envelopes.map((e) => e.id));
    expect(Math.max(...journal.batches.map((b) => b.length))).toBeGreaterThan(1);
    expect(journal.batches.flat().filter((b) => b.deliveryCount === 2)).toEqual([{ id: envelopes[7]!.id, deliveryCount: 2 }]);
    const info = await jsm.consumers.info('TASKS', 'auth-batch');
    expect(info.num_ack_pending).toBe(0);
  });

  it('retries an event whose handler throws and dead-letters it after maxDeliver', async () => {
    const envelope = testEnvelope('TaskFailed', { taskId: 't2' });
    await publishEvent(js, 'tasks.events.task-failed.t2', envelope);
    const dead = await eventually(
      () => jsm.streams.getMessage('DLQ', { last_by_subj: 'dlq.TASKS.auth-task-failed' }).catch(() => null),
      10_000,
      'the dead letter',
    );
    expect(dead.json<Envelope>().id).toBe(envelope.id);
    expect(journal.failures).toBe(2);
  });

  it('on close, waits for a running handler and acks its event before draining', async () => {
    const ack = await publishEvent(js, 'tasks.events.task-started.t3', testEnvelope('TaskStarted', { taskId: 't3' }));
    await eventually(() => journal.slowStarted, 10_000, 'the slow handler to start');

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    journal.openSlowGate();
    await closing;

    const info = await jsm.consumers.info('TASKS', 'auth-task-started');
    expect(info.ack_floor.stream_seq).toBe(ack.seq);
    expect(info.num_ack_pending).toBe(0);
  });
});

describe('NatsJetStreamServer with deferConsumers (a replica standing by for its lease)', () => {
  it('answers requests at once, but pulls events only between startConsumers() and stopConsumers()', async () => {
    const nats = await testNats();
    const server = new NatsJetStreamServer({
      name: 'auth',
      servers: nats.url,
      streams: [eventStreamConfig('tasks')],
      consumers: [{ stream: 'TASKS', durable: 'auth-task-queued', filterSubject: 'tasks.events.task-queued.>' }],
      pullExpiresMs: 1_000,
      deferConsumers: true,
    });
    const app = await NestFactory.createMicroservice(AuthModule, { logger: ['error'], strategy: server });
    await app.listen();
    const nc = await connect({ servers: nats.url });
    try {
      const js = jetstream(nc);
      const journal = app.get(Journal);
      const seen = (id: string) => journal.queued.some((q) => q.envelope.id === id);
      await expect(new NatsRpcClient(nc).request('auth.commands.register-user', { email: 'bo@example.com' })).resolves.toMatchObject({
        userId: 'u-bo@example.com',
      });

      const first = testEnvelope('TaskQueued', { taskId: 'd1' });
      await publishEvent(js, 'tasks.events.task-queued.d1', first);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(seen(first.id)).toBe(false);

      await server.startConsumers();
      await eventually(() => seen(first.id), 10_000, 'the event once consumers started');

      await server.stopConsumers();
      const second = testEnvelope('TaskQueued', { taskId: 'd2' });
      await publishEvent(js, 'tasks.events.task-queued.d2', second);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(seen(second.id)).toBe(false);

      await server.startConsumers();
      await eventually(() => seen(second.id), 10_000, 'the event once consumers started again');
      expect(journal.queued.map((q) => q.envelope.id)).toEqual([first.id, second.id]);
    } finally {
      await app.close();
      await nc.close();
      await nats.stop();
    }
  }, 60_000);
});
