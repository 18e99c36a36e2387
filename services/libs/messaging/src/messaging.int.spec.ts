import { DomainError, type Envelope } from '@agentyard/contracts';
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { of } from 'rxjs';
import { deadLetterHeaders } from './dead-letter';
import { publishEvent } from './event-publisher';
import { ERROR_HEADER, STATUS_HEADER } from './error-reply';
import { NatsRpcClient } from './nats-rpc.client';
import type { JetStreamEventContext, NatsRequestContext } from './nats-jetstream.context';
import { NatsJetStreamServer } from './nats-jetstream.server';
import { eventStreamConfig } from './provisioning';
import { eventually, listening, testEnvelope } from './testing/eventually';
import { currentTrace, newSpan } from './trace-context';

interface Seen {
  subject: string;
  envelope: Envelope;
  deliveryCount: number;
  traceId: string;
  handlerTraceId: string | undefined;
}

describe('NatsJetStreamServer with NatsRpcClient and publishEvent', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let client: NatsRpcClient;
  const servers: NatsJetStreamServer[] = [];

  const failing: number[] = [];
  const failedAt: number[] = [];
  const queued: Seen[] = [];
  let active = 0;
  let maxActive = 0;
  let started = 0;
  const stuck: number[] = [];
  const slow: number[] = [];
  const stuckGate: (() => void)[] = [];
  const gate: (() => void)[] = [];
  const servedBy: string[] = [];

  /** One instance of a service; only instance `a` runs the JetStream consumers. */
  function service(instance: string): NatsJetStreamServer {
    const withConsumers = instance === 'a';
    const server = new NatsJetStreamServer({
      name: 'auth',
      servers: nats.url,
      streams: [eventStreamConfig('tasks')],
      consumers: withConsumers
        ? [
            { stream: 'TASKS', durable: 'flaky', filterSubject: 'tasks.events.task-failed.>', maxDeliver: 3, backoffMs: [50, 100], ackWaitMs: 10_000 },
            { stream: 'TASKS', durable: 'recorder', filterSubject: 'tasks.events.task-queued.>', ackWaitMs: 10_000 },
            { stream: 'TASKS', durable: 'parallel', filterSubject: 'tasks.events.task-started.>', concurrency: 3, ackWaitMs: 10_000 },
            // Two deliveries hang (each kept for maxHandleMs); the third slot's pull is what makes the server give up and advise.
            { stream: 'TASKS', durable: 'hung', filterSubject: 'tasks.events.task-stuck.>', concurrency: 3, maxDeliver: 2, ackWaitMs: 300, maxHandleMs: 900 },
            // A handler five times slower than the ack wait, within maxHandleMs (default 30 s); free slots keep a pull open for a redelivery.
            { stream: 'TASKS', durable: 'slow', filterSubject: 'tasks.events.task-slow.>', concurrency: 3, ackWaitMs: 300 },
          ]
        : [],
      pullExpiresMs: 1_000,
    });
    server.addHandler('auth.commands.register-user', async (data: { email: string }, ctx: NatsRequestContext) => {
      servedBy.push(instance);
      return { userId: `u-${data.email}`, subject: ctx.getSubject() };
    });
    server.addHandler('auth.commands.conflict', () => {
      throw new DomainError('CONFLICT', 'email already registered', { field: 'email' });
    });
    server.addHandler('auth.commands.bug', () => {
      throw new Error('connection to postgres://admin:hunter2@db failed');
    });
    server.addHandler('auth.queries.count', async () => of(1, 2, 3));
    server.addHandler('auth.commands.slow', () => new Promise((r) => setTimeout(() => r('late'), 400)));
    server.addHandler('auth.commands.queue-task', async (data: { taskId: string }) => {
      // No traceparent passed: it must come from the handler's context.
      await publishEvent(js, `tasks.events.task-queued.${data.taskId}`, testEnvelope('TaskQueued', data));
      return { traced: currentTrace()?.traceId };
    });
    servers.push(server);
    if (!withConsumers) return server;
    server.addHandler(
      'tasks.events.task-failed.>',
      async (_data: Envelope, ctx: JetStreamEventContext) => {
        failing.push(ctx.getDeliveryCount());
        failedAt.push(performance.now());
        throw new Error('handler exploded');
      },
      true,
    );
    server.addHandler(
      'tasks.events.task-queued.>',
      async (envelope: Envelope, ctx: JetStreamEventContext) => {
        queued.push({
          subject: ctx.getSubject(),
          envelope,
          deliveryCount: ctx.getDeliveryCount(),
          traceId: ctx.getTrace().traceId,
          handlerTraceId: currentTrace()?.traceId,
        });
      },
      true,
    );
    server.addHandler(
      'tasks.events.task-started.>',
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => gate.push(r));
        active--;
        started++;
      },
      true,
    );
    server.addHandler(
      'tasks.events.task-slow.>',
      async (_data: Envelope, ctx: JetStreamEventContext) => {
        slow.push(ctx.getDeliveryCount());
        await new Promise((r) => setTimeout(r, 1_500));
      },
      true,
    );
    server.addHandler(
      'tasks.events.task-stuck.>',
      async (_data: Envelope, ctx: JetStreamEventContext) => {
        stuck.push(ctx.getDeliveryCount());
        await new Promise<void>((r) => stuckGate.push(r));
      },
      true,
    );
    return server;
  }

  beforeAll(async () => {
    nats = await testNats();
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    client = new NatsRpcClient(nc, { defaultTimeoutMs: 2_000 });
    await listening(service('a'));
  });

  afterAll(async () => {
    [...gate.splice(0), ...stuckGate.splice(0)].forEach((open) => open());
    await Promise.all(servers.map((s) => s.close()));
    await nc?.close();
    await nats?.stop();
  });

  describe('request/reply', () => {
    it('replies with the JSON of the handler result', async () => {
      await expect(client.request('auth.commands.register-user', { email: 'ada@example.com' })).resolves.toEqual({
        userId: 'u-ada@example.com',
        subject: 'auth.commands.register-user',
      });
    });

    it('rebuilds a thrown DomainError with the same code, message and details', async () => {
      const error = await client.request('auth.commands.conflict', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'CONFLICT', message: 'email already registered', details: { field: 'email' } });
    });

    it('marks an error reply with a header and the HTTP status of its code', async () => {
      const reply = await nc.request('auth.commands.conflict', '{}', { timeout: 2_000 });
      expect(reply.headers?.get(ERROR_HEADER)).toBe('1');
      expect(reply.headers?.get(STATUS_HEADER)).toBe('409');
      expect(reply.json()).toMatchObject({ error: 'CONFLICT', message: 'email already registered' });
    });

    it('answers INTERNAL with a generic message for any other error, leaking nothing', async () => {
      const reply = await nc.request('auth.commands.bug', '{}', { timeout: 2_000 });
      expect(reply.string()).not.toMatch(/hunter2|postgres|at /);
      const error = await client.request('auth.commands.bug', {}).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    });

    it('replies with the last value when the handler returns an Observable', async () => {
      await expect(client.request('auth.queries.count', {})).resolves.toBe(3);
    });

    it('throws UNAVAILABLE naming the subject when no service listens', async () => {
      const error = await client.request('auth.commands.nobody-home', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('auth.commands.nobody-home') });
    });

    it('throws UNAVAILABLE naming the subject when the reply does not come in time', async () => {
      const error = await client.request('auth.commands.slow', {}, { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('auth.commands.slow within 100 ms') });
    });

    it('shares requests between instances of one service instead of doubling them', async () => {
      await listening(service('b'));
      servedBy.length = 0;
      await Promise.all(Array.from({ length: 40 }, (_, i) => client.request('auth.commands.register-user', { email: `u${i}` })));
      expect(servedBy).toHaveLength(40);
      expect(new Set(servedBy)).toEqual(new Set(['a', 'b']));
    });
  });

  describe('JetStream events', () => {
    it('redelivers a failing event up to maxDeliver, then dead-letters it with its payload', async () => {
      const envelope = testEnvelope('TaskFailed', { taskId: 't-dlq' });
      const ack = await publishEvent(js, 'tasks.events.task-failed.t-dlq', envelope);

      const dead = await eventually(() => jsm.streams.getMessage('DLQ', { last_by_subj: 'dlq.TASKS.flaky' }).catch(() => null), 10_000, 'the dead letter');
      expect(failing).toEqual([1, 2, 3]);
      // nak(delay) with backoffMs [50, 100]: a bare nak() would redeliver at once.
      expect(failedAt[1]! - failedAt[0]!).toBeGreaterThanOrEqual(45);
      expect(failedAt[2]! - failedAt[1]!).toBeGreaterThanOrEqual(95);
      expect(dead.json<Envelope>()).toEqual(envelope);
      expect(dead.header.get(deadLetterHeaders.stream)).toBe('TASKS');
      expect(dead.header.get(deadLetterHeaders.subject)).toBe('tasks.events.task-failed.t-dlq');
      expect(dead.header.get(deadLetterHeaders.sequence)).toBe(String(ack.seq));
      expect(dead.header.get(deadLetterHeaders.deliveries)).toBe('3');
      expect(dead.header.get(deadLetterHeaders.error)).toContain('handler exploded');
      expect(dead.header.get(deadLetterHeaders.originalMsgId)).toBe(envelope.id);
      // Terminated, so never delivered again.
      const info = await eventually(async () => {
        const i = await jsm.consumers.info('TASKS', 'flaky');
        return i.num_ack_pending === 0 && i.num_pending === 0 ? i : undefined;
      });
      expect(info.num_redelivered).toBe(0);
      expect(failing).toHaveLength(3);
    });

    it('keeps a slow handler’s delivery past the ack wait, so it is handled once', async () => {
      await publishEvent(js, 'tasks.events.task-slow.t-slow', testEnvelope('TaskSlow', { taskId: 't-slow' }));
      const info = await eventually(
        async () => {
          const i = await jsm.consumers.info('TASKS', 'slow');
          return i.delivered.stream_seq > 0 && i.num_ack_pending === 0 ? i : undefined;
        },
        10_000,
        'the slow event acked',
      );
      // Without progress signals the server would have redelivered it four times meanwhile.
      expect(slow).toEqual([1]);
      expect(info.num_redelivered).toBe(0);
    });

    it('dead-letters an event whose handler never settles once the server gives up on it', async () => {
      const envelope = testEnvelope('TaskStuck', { taskId: 't-hung' });
      await publishEvent(js, 'tasks.events.task-stuck.t-hung', envelope);

      const dead = await eventually(() => jsm.streams.getMessage('DLQ', { last_by_subj: 'dlq.TASKS.hung' }).catch(() => null), 10_000, 'the dead letter');
      expect(stuck).toEqual([1, 2]);
      expect(dead.json<Envelope>()).toEqual(envelope);
      expect(dead.header.get(deadLetterHeaders.deliveries)).toBe('2');
      expect(dead.header.get(deadLetterHeaders.error)).toContain('ran past ack_wait');
    });

    it('delivers an event published twice with the same Nats-Msg-Id once', async () => {
      const twice = testEnvelope('TaskQueued', { taskId: 'dup' });
      const after = testEnvelope('TaskQueued', { taskId: 'after' });
      const first = await publishEvent(js, 'tasks.events.task-queued.dup', twice);
      const second = await publishEvent(js, 'tasks.events.task-queued.dup', twice);
      await publishEvent(js, 'tasks.events.task-queued.after', after);

      expect(first.duplicate).toBe(false);
      expect(second).toMatchObject({ duplicate: true, seq: first.seq });
      // One consumer, concurrency 1: once `after` is handled, anything before it has been too.
      await eventually(() => queued.some((s) => s.envelope.id === after.id), 10_000, 'the later event');
      expect(queued.filter((s) => s.envelope.id === twice.id)).toHaveLength(1);
    });

    it('carries the traceparent from the client through the handler to the event it publishes', async () => {
      const caller = newSpan();
      const reply = await client.request<{ traced: string }>('auth.commands.queue-task', { taskId: 'traced' }, { traceparent: caller.traceparent });
      expect(reply.traced).toBe(caller.traceId);

      const seen = await eventually(() => queued.find((s) => s.subject === 'tasks.events.task-queued.traced'), 10_000, 'the traced event');
      expect(seen.traceId).toBe(caller.traceId);
      expect(seen.handlerTraceId).toBe(caller.traceId);
    });

    it('handles at most `concurrency` events of a consumer at once and pulls no more', async () => {
      for (let i = 0; i < 6; i++) await publishEvent(js, `tasks.events.task-started.p${i}`, testEnvelope('TaskStarted', { i }));

      await eventually(() => active === 3, 10_000, 'three running handlers');
      const info = await jsm.consumers.info('TASKS', 'parallel');
      expect(info.num_ack_pending).toBe(3);
      expect(info.num_pending).toBe(3);

      await eventually(
        () => {
          gate.splice(0).forEach((open) => open());
          return started === 6;
        },
        10_000,
        'all six handled',
      );
      expect(maxActive).toBe(3);
    });
  });
});
