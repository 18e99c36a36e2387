import { workerInboxPrefix } from '@agentyard/contracts';
import {
  createNatsAuth,
  foreignSubjects,
  ownSubjects,
  probeNatsPermissions,
  startNatsServer,
  type NatsAuthSetup,
  type NatsServer,
} from '@agentyard/local-infra';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { issueWorkerCreds } from './nats-auth';

const asAuthenticator = (creds: string) => credsAuthenticator(new TextEncoder().encode(creds));

describe('NATS auth for services and worker agents (operator mode, nats-server 2.9)', () => {
  let auth: NatsAuthSetup;
  let server: NatsServer;
  let services: NatsConnection;
  const workers: NatsConnection[] = [];

  async function connectWorker(workerId: string): Promise<NatsConnection> {
    const { creds } = await issueWorkerCreds({
      accountPublicKey: auth.accountPublicKey,
      workerSigningSeed: auth.workerSigningSeed,
      workerId,
      expiresInSeconds: 600,
    });
    const nc = await connect({ servers: server.url, authenticator: asAuthenticator(creds), inboxPrefix: workerInboxPrefix(workerId) });
    workers.push(nc);
    return nc;
  }

  beforeAll(async () => {
    auth = await createNatsAuth();
    server = await startNatsServer({ extraConfig: auth.serverConfig });
    services = await connect({ servers: server.url, authenticator: asAuthenticator(auth.serviceCreds) });
    const jsm = await jetstreamManager(services);
    await jsm.streams.add({ name: 'WORK', subjects: ['work.assign.>', 'work.report.>'], storage: StorageType.File, retention: RetentionPolicy.Limits });
    for (const id of ['w1', 'w2'])
      await jsm.consumers.add('WORK', { durable_name: `worker-${id}`, ack_policy: AckPolicy.Explicit, filter_subject: `work.assign.${id}` });
    const js = jetstream(services);
    await js.publish('work.assign.w1', JSON.stringify({ kind: 'assign', taskId: 't1' }));
    await js.publish('work.assign.w2', JSON.stringify({ kind: 'assign', taskId: 't2', input: { secret: 'of another user' } }));
  });

  afterAll(async () => {
    for (const nc of workers) await nc.close().catch(() => undefined);
    await services?.close();
    await server?.stop();
  });

  describe('a client without credentials', () => {
    it('is refused', async () => {
      await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    });
  });

  describe("a worker's own subjects", () => {
    it('pulls and acks its own orders, publishes its reports to JetStream and its heartbeat', async () => {
      const nc = await connectWorker('w1');
      const js = jetstream(nc);
      const consumer = await js.consumers.get('WORK', 'worker-w1');
      const order = await consumer.next({ expires: 2_000 });
      expect(order?.json()).toEqual({ kind: 'assign', taskId: 't1' });
      order!.ack();
      const ack = await js.publish('work.report.w1', JSON.stringify({ kind: 'started', taskId: 't1' }));
      expect(ack.stream).toBe('WORK');

      const heard = new Promise<string>((resolve) => services.subscribe('work.heartbeat.w1', { max: 1, callback: (_e, m) => resolve(m.string()) }));
      const output = new Promise<string>((resolve) => services.subscribe('work.output.w1.t1', { max: 1, callback: (_e, m) => resolve(m.string()) }));
      await services.flush();
      nc.publish('work.heartbeat.w1', 'alive');
      nc.publish('work.output.w1.t1', 'hello');
      await expect(heard).resolves.toBe('alive');
      await expect(output).resolves.toBe('hello');
    });
  });

  describe("another worker's subjects and the platform's", () => {
    it("cannot read another worker's orders, listen on the assignment subjects, or publish as the platform or another worker", async () => {
      const nc = await connectWorker('w1');
      const js = jetstream(nc);
      await expect(js.consumers.get('WORK', 'worker-w2')).rejects.toThrow(/permission|timeout|503|no responders/i);

      const errors: string[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: unknown }).error));
      })();
      nc.subscribe('work.assign.>');
      await nc.flush().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      expect(errors.join(' ')).toMatch(/Permissions Violation for Subscription to "work\.assign\.>"/);

      // Core publishes outside its own subjects are dropped by the server (a violation, no delivery).
      const leaked: string[] = [];
      services.subscribe('tasks.events.>', { callback: (_e, m) => void leaked.push(m.subject) });
      services.subscribe('work.heartbeat.w2', { callback: (_e, m) => void leaked.push(m.subject) });
      services.subscribe('work.output.w2.*', { callback: (_e, m) => void leaked.push(m.subject) });
      await services.flush();
      const other = await connectWorker('w1');
      other.publish('tasks.events.task-succeeded.t2', '{}');
      other.publish('work.heartbeat.w2', 'forged');
      other.publish('work.output.w2.t2', "forged output for another worker's task");
      await other.flush().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await services.flush();
      expect(leaked).toEqual([]);
    });
  });

  describe('every subject family the contracts name', () => {
    it("is refused to a worker unless it is the worker's own (streams, commands, queries, work, $JS API, KV, inboxes, $SYS)", async () => {
      const nc = await connectWorker('w1');
      const foreign = foreignSubjects('w1', 'w2');
      expect(foreign.publish.length).toBeGreaterThan(50);
      expect(await probeNatsPermissions(nc, foreign)).toEqual({ publish: [], subscribe: [] });
    });

    it('leaves the worker its own subjects (so the refusals above are not a dead connection)', async () => {
      const nc = await connectWorker('w1');
      const own = ownSubjects('w1');
      expect(await probeNatsPermissions(nc, own)).toEqual(own);
    });
  });

  describe('expired worker credentials', () => {
    it('are refused', async () => {
      const { creds } = await issueWorkerCreds({
        accountPublicKey: auth.accountPublicKey,
        workerSigningSeed: auth.workerSigningSeed,
        workerId: 'w1',
        expiresInSeconds: 60,
        now: new Date(Date.now() - 3_600_000),
      });
      await expect(connect({ servers: server.url, authenticator: asAuthenticator(creds), reconnect: false })).rejects.toThrow(
        /Authorization Violation|expired/i,
      );
    });
  });
});
