import { testNats, type NatsServer } from '@agentyard/local-infra';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { consumerConfigFor, deadLetterStreamConfig, ensureConsumer, ensureStream, eventStreamConfig, ProvisioningMismatchError } from './provisioning';

describe('JetStream provisioning', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    server = await testNats();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  describe('when run twice with the same config', () => {
    it('creates the stream and consumer once and leaves them untouched the second time', async () => {
      const first = await ensureStream(jsm, eventStreamConfig('tasks'));
      const consumer = consumerConfigFor({ stream: 'TASKS', durable: 'allocation-task-queued', filterSubject: 'tasks.events.task-queued.>', maxDeliver: 4 });
      const c1 = await ensureConsumer(jsm, 'TASKS', consumer);

      const second = await ensureStream(jsm, eventStreamConfig('tasks'));
      const c2 = await ensureConsumer(jsm, 'TASKS', consumer);

      expect(second.created).toBe(first.created);
      expect(second.config).toEqual(first.config);
      expect(c2.created).toBe(c1.created);
      expect(c2.config).toEqual(c1.config);
      expect(first.config).toMatchObject({ storage: 'file', retention: 'limits', duplicate_window: nanos(600_000), subjects: ['tasks.events.>'] });
      expect(c1.config).toMatchObject({ ack_policy: 'explicit', max_deliver: 4, filter_subject: 'tasks.events.task-queued.>' });
    });
  });

  describe('when the asked config differs from what exists', () => {
    it('updates the stream and the consumer in place', async () => {
      await ensureStream(jsm, deadLetterStreamConfig());
      const updated = await ensureStream(jsm, deadLetterStreamConfig({ max_msgs: 10_000 }));
      expect(updated.config.max_msgs).toBe(10_000);

      await ensureConsumer(jsm, 'DLQ', consumerConfigFor({ stream: 'DLQ', durable: 'dlq-reader', maxDeliver: 2 }));
      const consumer = await ensureConsumer(jsm, 'DLQ', consumerConfigFor({ stream: 'DLQ', durable: 'dlq-reader', maxDeliver: 7 }));
      expect(consumer.config.max_deliver).toBe(7);
    });

    it('fails loudly when the server cannot apply the change', async () => {
      await ensureStream(jsm, eventStreamConfig('workers'));
      await expect(ensureStream(jsm, eventStreamConfig('workers', { storage: 'memory' as never }))).rejects.toThrow(/cannot update stream WORKERS/);
    });
  });

  describe('when nats-server 2.9 silently drops or overrides a field', () => {
    it('detects a stream field it does not know (allow_msg_ttl)', async () => {
      const attempt = ensureStream(jsm, eventStreamConfig('workflows', { allow_msg_ttl: true }));
      await expect(attempt).rejects.toBeInstanceOf(ProvisioningMismatchError);
      await expect(attempt).rejects.toThrow(/allow_msg_ttl: asked true, server has undefined/);
    });

    it('detects a consumer field it does not know (pause_until)', async () => {
      await ensureStream(jsm, eventStreamConfig('auth'));
      const config = { ...consumerConfigFor({ stream: 'AUTH', durable: 'paused' }), pause_until: new Date(Date.now() + 60_000).toISOString() };
      await expect(ensureConsumer(jsm, 'AUTH', config)).rejects.toThrow(/consumer AUTH\/paused .*pause_until/);
    });

    it('detects a consumer backoff replacing ack_wait', async () => {
      const config = { ...consumerConfigFor({ stream: 'AUTH', durable: 'with-backoff', ackWaitMs: 30_000 }), backoff: [nanos(100), nanos(1_000)] };
      await expect(ensureConsumer(jsm, 'AUTH', config)).rejects.toThrow(/ack_wait: asked 30000000000, server has 100000000/);
    });
  });

  describe('when the stream of a consumer is missing', () => {
    it('says which stream to provision first', async () => {
      await expect(ensureConsumer(jsm, 'NOPE', consumerConfigFor({ stream: 'NOPE', durable: 'x' }))).rejects.toThrow('stream NOPE does not exist');
    });
  });
});
