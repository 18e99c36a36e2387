/*
 * The workers service as a real process (its compiled dist/main.js) against a real nats-server
 * and Postgres, driven over NATS only — as the gateway and the agents drive it. Database reads
 * here only check what must NOT have been written.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  assignmentAckWaitMs,
  assignmentLeaseMs,
  DomainError,
  registrationTokenPattern,
  workerConsumerName,
  workerCredentialPattern,
  workerLivenessBucket,
  workerSubjects,
  workSubjects,
  type Envelope,
  type Heartbeat,
  type RegisterWorkerBody,
  type RegistrationToken,
  type WorkerRegistration,
  type WorkerView,
} from '@agentyard/contracts';
import { replayWorkerView } from '../src/replay';
import { freePort, startService, testDatabase, testNats, type NatsServer, type ServiceProcess } from '@agentyard/local-infra';
import { NatsRpcClient } from '@agentyard/messaging';

const OFFLINE_AFTER_MS = 1_500;
const grantRoleSubject = 'workers.commands.grant-worker-role';
const revokeCredentialSubject = 'workers.commands.revoke-worker-credential';

let nats: NatsServer;
let service: ServiceProcess;
let nc: NatsConnection;
let rpc: NatsRpcClient;
let kv: KV;
let dbUrl: string;
let stream: ConsumerMessages;
const published: Array<Envelope & { subject: string }> = [];

const alice = { userId: 'user-alice' };
const bob = { userId: 'user-bob' };

/** `npm test` builds first; a direct `npx jest` run builds here when the service's dist is stale. */
function ensureBuilt(): void {
  const root = resolve(__dirname, '..', '..', '..');
  const src = join(root, 'services', 'workers', 'src');
  const main = join(root, 'services', 'workers', 'dist', 'main.js');
  const newest = (dir: string): number =>
    readdirSync(dir).reduce((max, name) => {
      const full = join(dir, name);
      const st = statSync(full);
      return Math.max(max, st.isDirectory() ? newest(full) : name.endsWith('.spec.ts') ? 0 : st.mtimeMs);
    }, 0);
  if (existsSync(main) && statSync(main).mtimeMs >= newest(src)) return;
  const build = spawnSync(process.execPath, [join(root, 'infra', 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed (run node infra/scripts/build.mjs):\n${build.stdout}\n${build.stderr}`);
}

async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function sql<T extends Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return (await client.query<T>(query, params)).rows;
  } finally {
    await client.end();
  }
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

const createToken = (actor = alice, body: Record<string, unknown> = {}) =>
  rpc.request<RegistrationToken>(workerSubjects.createRegistrationToken, { actor, body });

const registrationBody = (token: string, overrides: Partial<RegisterWorkerBody> = {}): RegisterWorkerBody => ({
  token,
  name: 'build-box',
  hostname: 'build-box.local',
  platform: 'linux',
  arch: 'x64',
  tools: [{ name: 'shell', version: null, health: 'healthy' as const, auth: 'ok' as const }],
  slots: 2,
  resources: { cpus: 4, memoryMb: 8192, diskMb: 100_000 },
  labels: ['linux'],
  agentVersion: '0.1.0',
  ...overrides,
});

const register = (token: string, overrides: Partial<RegisterWorkerBody> = {}) =>
  rpc.request<WorkerRegistration>(workerSubjects.register, { body: registrationBody(token, overrides) });

async function newWorker(actor = alice): Promise<WorkerRegistration> {
  return register((await createToken(actor)).token);
}

function heartbeat(workerId: string, overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    workerId,
    sentAt: new Date().toISOString(),
    cpuPercent: 12.5,
    memUsedMb: 2048,
    memTotalMb: 8192,
    diskFreeMb: 50_000,
    diskTotalMb: 100_000,
    slots: { total: 2, used: 1 },
    running: [{ taskId: 'task-1', attempt: 1 }],
    tools: [{ name: 'shell', version: null, health: 'healthy' as const, auth: 'ok' as const }],
    draining: false,
    ...overrides,
  };
}

const publishHeartbeat = (subjectWorkerId: string, hb: Heartbeat) => nc.publish(workSubjects.heartbeat(subjectWorkerId), JSON.stringify(hb));

const eventsOf = (workerId: string, type?: string) => published.filter((e) => e.data.workerId === workerId && (!type || e.type === type));

const getWorker = (actor: { userId: string }, workerId: string) => rpc.request<WorkerView>(workerSubjects.get, { actor, workerId });

async function counts(): Promise<{ credentials: number; views: number; events: number; consumers: number }> {
  const [row] = await sql<{ credentials: string; views: string; events: string }>(
    'select (select count(*) from worker_credentials) as credentials, (select count(*) from worker_view) as views, (select count(*) from event_store.events) as events',
  );
  const jsm = await jetstreamManager(nc);
  const consumers = (await jsm.streams.info('WORK')).state.consumer_count;
  return { credentials: Number(row!.credentials), views: Number(row!.views), events: Number(row!.events), consumers };
}

/** The agent package the service reads (as the gateway serves it): a newer version than the test agents'. */
const downloadsDir = mkdtempSync(join(tmpdir(), 'agentyard-downloads-'));
const served = {
  name: '@agentyard/worker',
  version: '0.2.0',
  file: 'agentyard-worker-0.2.0.tgz',
  sha256: 'c'.repeat(64),
  size: 1,
  node: '>=20',
  prerequisites: '',
};
writeFileSync(join(downloadsDir, 'agentyard-worker.json'), JSON.stringify(served));

beforeAll(async () => {
  ensureBuilt();
  nats = await testNats();
  dbUrl = await testDatabase('workers');
  const port = await freePort();
  service = await startService(
    'workers',
    {
      NATS_URL: nats.url,
      NATS_PUBLIC_URL: 'nats://yard.example.com:4222',
      PUBLIC_URL: 'https://yard.example.com',
      DOWNLOADS_DIR: downloadsDir,
      DATABASE_URL: dbUrl,
      HTTP_PORT: String(port),
      OFFLINE_AFTER_MS: String(OFFLINE_AFTER_MS),
      HEARTBEAT_INTERVAL_MS: '500',
      SWEEP_INTERVAL_MS: '100',
    },
    `http://127.0.0.1:${port}/health/ready`,
  );
  nc = await connect({ servers: nats.url, name: 'workers-int-spec' });
  rpc = new NatsRpcClient(nc, { defaultTimeoutMs: 10_000 });
  kv = await new Kvm(nc).open(workerLivenessBucket);
  const consumer = await jetstream(nc).consumers.get('WORKERS');
  stream = await consumer.consume();
  void (async () => {
    for await (const m of stream) published.push({ ...(m.json() as Envelope), subject: m.subject });
  })();
});

afterAll(async () => {
  await stream?.close();
  await nc?.drain();
  await service?.stop();
  await nats?.stop();
});

describe('Workers service', () => {
  describe('when a user creates a registration token and a worker registers with it', () => {
    it('returns a credential that authenticates, and makes the user the worker’s owner', async () => {
      const token = await createToken(alice, { labels: ['gpu'] });
      expect(token.token).toMatch(registrationTokenPattern);
      expect(token.usesLeft).toBe(1);
      // The served package, checked against its sha256, then the installed copy started (install-command.unit.spec.ts has the whole line).
      expect(token.installCommand).toContain(` https://yard.example.com/downloads/agentyard-worker-0.2.0.tgz ${served.sha256} `);
      expect(token.installCommand).toMatch(/ && npm install --global --prefix ~\/\.agentyard-worker\/0\.2\.0 /);
      expect(token.installCommand.endsWith(`bin/agentyard-worker start --url https://yard.example.com --token ${token.token}`)).toBe(true);

      const reg = await register(token.token);
      expect(reg.credential).toMatch(workerCredentialPattern);
      expect(reg).toMatchObject({ natsUrl: 'nats://yard.example.com:4222', heartbeatIntervalMs: 500 });
      expect(await rpc.request(workerSubjects.authenticate, { credential: reg.credential })).toEqual({ workerId: reg.workerId });

      const view = await eventually(() => getWorker(alice, reg.workerId), 'the worker in the read model');
      expect(view).toMatchObject({
        id: reg.workerId,
        ownerId: alice.userId,
        role: 'owner',
        status: 'offline',
        drained: false,
        labels: ['gpu', 'linux'],
        lastHeartbeat: null,
      });
      await eventually(() => eventsOf(reg.workerId).length === 2, 'WorkerRegistered and WorkerRoleGranted on WORKERS');
      expect(eventsOf(reg.workerId).map((e) => [e.type, e.subject])).toEqual([
        ['WorkerRegistered', `workers.events.worker-registered.${reg.workerId}`],
        ['WorkerRoleGranted', `workers.events.worker-role-granted.${reg.workerId}`],
      ]);
      expect(eventsOf(reg.workerId, 'WorkerRoleGranted')[0]!.data).toEqual({ workerId: reg.workerId, userId: alice.userId, role: 'owner' });
    });

    it('creates the worker’s durable WORK consumer, filtered to its own assignments', async () => {
      const { workerId } = await newWorker();
      const info = await (await jetstreamManager(nc)).consumers.info('WORK', workerConsumerName(workerId));
      expect(info.config).toMatchObject({
        durable_name: `worker-${workerId}`,
        filter_subject: `work.assign.${workerId}`,
        ack_policy: AckPolicy.Explicit,
        ack_wait: assignmentAckWaitMs * 1_000_000,
        max_deliver: 10,
      });
    });

    it('delivers an assignment again well inside its lease when the first delivery was never acked (lost in flight)', async () => {
      const { workerId } = await newWorker();
      const js = jetstream(nc);
      await js.publish(workSubjects.assign(workerId), JSON.stringify({ kind: 'cancel', taskId: 'lost-in-flight', attempt: 1 }));
      const consumer = await js.consumers.get('WORK', workerConsumerName(workerId));
      // Taken by a pull and never acked: what the server did when it died handing the order to the agent.
      const first = await consumer.next({ expires: 5_000 });
      expect(first?.info.deliveryCount).toBe(1);
      const deliveredAt = Date.now();
      const again = await consumer.next({ expires: assignmentLeaseMs });
      expect(again?.info.deliveryCount).toBe(2);
      // Twice in a lease: a redelivery that is itself lost still has a second chance before the requeue.
      expect(Date.now() - deliveredAt).toBeLessThan(assignmentLeaseMs / 2);
      again!.ack();
    }, 45_000);
  });

  describe('when a token is used beyond its uses', () => {
    it('refuses a second registration with a single-use token with 401', async () => {
      const { token } = await createToken();
      await register(token);
      const second = await rejection(register(token));
      expect(second.code).toBe('UNAUTHENTICATED');
      expect(second.message).toMatch(/no uses left/);
    });

    it('counts the uses of a multi-use token exactly, even when registrations race', async () => {
      const { token, usesLeft } = await createToken(alice, { uses: 2 });
      expect(usesLeft).toBe(2);
      const results = await Promise.allSettled([register(token), register(token), register(token)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused.map((r) => (r.reason as DomainError).code)).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe('when the token is expired, malformed or unknown', () => {
    it('answers 401 for an expired token', async () => {
      const { id, token } = await createToken();
      await sql(`update registration_tokens set expires_at = now() - interval '1 minute' where id = $1`, [id]);
      const error = await rejection(register(token));
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toMatch(/expired/);
    });

    it('answers 400 naming the token for a malformed one', async () => {
      const error = await rejection(register('not-a-token'));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'body.token' })]));
    });

    it('answers 401 for an unknown token or a wrong secret, and writes nothing', async () => {
      const { id, token } = await createToken();
      const before = await counts();
      const unknown = `ayr_${'0190a6e0-0000-7000-8000-000000000000'}.${'A'.repeat(43)}`;
      const wrongSecret = `ayr_${id}.${'B'.repeat(43)}`;
      for (const bad of [unknown, wrongSecret]) {
        const error = await rejection(register(bad));
        expect(error.code).toBe('UNAUTHENTICATED');
        expect(error.message).toMatch(/not valid/);
      }
      expect(await counts()).toEqual(before);
      const [row] = await sql<{ uses_left: number }>('select uses_left from registration_tokens where id = $1', [id]);
      expect(row!.uses_left).toBe(1);
      await register(token); // the token still works
    });
  });

  describe('when a worker heartbeats', () => {
    it('shows the agent version of its latest heartbeat (sent from every start), outdated while older than the served package', async () => {
      const { workerId } = await newWorker(); // registered as 0.1.0
      expect(await getWorker(alice, workerId)).toMatchObject({ agentVersion: '0.1.0', agentOutdated: true });
      publishHeartbeat(workerId, heartbeat(workerId, { agentVersion: '0.2.0' }));
      await eventually(async () => {
        const v = await getWorker(alice, workerId);
        return v.agentVersion === '0.2.0' ? v : undefined;
      }, 'the heartbeat’s version on the worker');
      expect(await getWorker(alice, workerId)).toMatchObject({ agentVersion: '0.2.0', agentOutdated: false });
      publishHeartbeat(workerId, heartbeat(workerId, { agentVersion: '0.1.9' }));
      const older = await eventually(async () => {
        const v = await getWorker(alice, workerId);
        return v.agentVersion === '0.1.9' ? v : undefined;
      }, 'a restarted older agent’s version');
      expect(older.agentOutdated).toBe(true);
    });

    it('publishes its liveness to KV, brings it online, records the figures, follows tool changes, and declares it offline after silence', async () => {
      const { workerId } = await newWorker();
      const beat = heartbeat(workerId, { cpuPercent: 42 });
      const pump = setInterval(() => publishHeartbeat(workerId, { ...beat, sentAt: new Date().toISOString() }), 200);
      try {
        publishHeartbeat(workerId, beat);
        const entry = await eventually(() => kv.get(workerId), 'the liveness KV entry');
        expect(entry.json<Heartbeat>()).toMatchObject({ workerId, cpuPercent: 42, slots: { total: 2, used: 1 } });
        await eventually(() => eventsOf(workerId, 'WorkerWentOnline').length === 1, 'WorkerWentOnline on WORKERS');
        expect(eventsOf(workerId, 'WorkerWentOnline')[0]!.subject).toBe(`workers.events.worker-went-online.${workerId}`);

        const view = await eventually(async () => {
          const v = await getWorker(alice, workerId);
          return v.status === 'online' ? v : undefined;
        }, 'the worker online in the read model');
        expect(view.lastHeartbeat).toMatchObject({ cpuPercent: 42, memUsedMb: 2048, running: [{ taskId: 'task-1', attempt: 1 }] });
        expect(Date.now() - Date.parse(view.lastSeenAt!)).toBeLessThan(5_000);

        // Many heartbeats, one online event: a heartbeat is not an event.
        await eventually(async () => (await kv.get(workerId))!.revision > entry.revision + 3, 'further heartbeats');
        expect(eventsOf(workerId, 'WorkerWentOnline')).toHaveLength(1);

        const tools = [
          { name: 'shell' as const, version: null, health: 'healthy' as const, auth: 'ok' as const },
          { name: 'claude-code' as const, version: '1.0.0', health: 'healthy' as const, auth: 'ok' as const },
        ];
        publishHeartbeat(workerId, heartbeat(workerId, { tools }));
        await eventually(() => eventsOf(workerId, 'WorkerToolsChanged').length === 1, 'WorkerToolsChanged');
        expect(eventsOf(workerId, 'WorkerToolsChanged')[0]!.data).toEqual({ workerId, tools });
      } finally {
        clearInterval(pump);
      }

      const silentSince = Date.now();
      await eventually(() => eventsOf(workerId, 'WorkerWentOffline').length === 1, 'WorkerWentOffline after silence', 10_000);
      expect(Date.now() - silentSince).toBeGreaterThanOrEqual(OFFLINE_AFTER_MS - 300);
      expect(eventsOf(workerId, 'WorkerWentOffline')[0]!.data).toEqual({ workerId, reason: 'heartbeat-silence' });
      await eventually(async () => (await getWorker(alice, workerId)).status === 'offline', 'the worker offline in the read model');

      // A heartbeat brings it back.
      publishHeartbeat(workerId, heartbeat(workerId));
      await eventually(() => eventsOf(workerId, 'WorkerWentOnline').length === 2, 'WorkerWentOnline again');
    });

    it('ignores a heartbeat whose body names another worker than its subject', async () => {
      const victim = await newWorker();
      const sender = await newWorker();
      publishHeartbeat(sender.workerId, heartbeat(victim.workerId));
      // A well-formed heartbeat sent after it; once that one is handled, so was the forged one.
      publishHeartbeat(sender.workerId, heartbeat(sender.workerId));
      await eventually(() => eventsOf(sender.workerId, 'WorkerWentOnline').length === 1, 'the sender online');
      expect(await kv.get(victim.workerId)).toBeNull();
      expect(eventsOf(victim.workerId, 'WorkerWentOnline')).toHaveLength(0);
      expect((await getWorker(alice, victim.workerId)).lastHeartbeat).toBeNull();
    });

    it('takes heartbeats over request/reply (the HTTP path) with the same checks', async () => {
      const { workerId } = await newWorker();
      expect(await rpc.request(workerSubjects.heartbeat, { workerId, heartbeat: heartbeat(workerId) })).toEqual({ recorded: true });
      await eventually(() => eventsOf(workerId, 'WorkerWentOnline').length === 1, 'WorkerWentOnline');
      const other = await newWorker();
      expect((await rejection(rpc.request(workerSubjects.heartbeat, { workerId, heartbeat: heartbeat(other.workerId) }))).code).toBe('FORBIDDEN');
      const stranger = '0190a6e0-0000-7000-8000-00000000dead';
      expect((await rejection(rpc.request(workerSubjects.heartbeat, { workerId: stranger, heartbeat: heartbeat(stranger) }))).code).toBe('NOT_FOUND');
      expect((await rejection(rpc.request(workerSubjects.heartbeat, { workerId, heartbeat: { workerId } }))).code).toBe('VALIDATION_FAILED');
    });
  });

  describe('when its owner drains it', () => {
    it('records WorkerDrained once and shows the worker drained', async () => {
      const { workerId } = await newWorker();
      const view = await rpc.request<WorkerView>(workerSubjects.drain, { actor: alice, workerId });
      expect(view).toMatchObject({ id: workerId, drained: true, role: 'owner' });
      await eventually(() => eventsOf(workerId, 'WorkerDrained').length === 1, 'WorkerDrained on WORKERS');
      expect(eventsOf(workerId, 'WorkerDrained')[0]!.data).toEqual({ workerId, byUserId: alice.userId });
      await rpc.request(workerSubjects.drain, { actor: alice, workerId });
      const [stored] = await sql<{ n: string }>(`select count(*) as n from event_store.events where stream_id = $1 and type = 'WorkerDrained'`, [
        `worker-${workerId}`,
      ]);
      expect(Number(stored!.n)).toBe(1);
    });
  });

  describe('when its owner resumes a drained worker', () => {
    it('records WorkerResumed and shows the worker undrained', async () => {
      const { workerId } = await newWorker();
      await rpc.request<WorkerView>(workerSubjects.drain, { actor: alice, workerId });
      const view = await rpc.request<WorkerView>(workerSubjects.resume, { actor: alice, workerId });
      expect(view).toMatchObject({ id: workerId, drained: false });
      await eventually(() => eventsOf(workerId, 'WorkerResumed').length === 1, 'WorkerResumed on WORKERS');
      expect(eventsOf(workerId, 'WorkerResumed')[0]!.data).toEqual({ workerId, byUserId: alice.userId });
      // Not drained any more: a second resume writes nothing.
      await rpc.request(workerSubjects.resume, { actor: alice, workerId });
      const [stored] = await sql<{ n: string }>(`select count(*) as n from event_store.events where stream_id = $1 and type = 'WorkerResumed'`, [
        `worker-${workerId}`,
      ]);
      expect(Number(stored!.n)).toBe(1);
    });
  });

  describe('when another user asks about a worker', () => {
    it('answers 404 on get and drain and lists nothing, until the owner shares it; then drain is 403', async () => {
      const { workerId } = await newWorker(alice);
      expect((await rejection(getWorker(bob, workerId))).code).toBe('NOT_FOUND');
      expect((await rejection(rpc.request(workerSubjects.drain, { actor: bob, workerId }))).code).toBe('NOT_FOUND');
      expect(await rpc.request(workerSubjects.list, { actor: bob })).toEqual({ items: [] });
      const unknownWorker = await rejection(getWorker(bob, '0190a6e0-0000-7000-8000-00000000beef'));
      expect(unknownWorker.message.replace(/worker \S+/, 'worker X')).toBe(
        (await rejection(getWorker(bob, workerId))).message.replace(/worker \S+/, 'worker X'),
      );

      const shared = await rpc.request<WorkerView>(grantRoleSubject, { actor: alice, workerId, userId: bob.userId, role: 'user' });
      expect(shared.role).toBe('owner');
      const { items } = await rpc.request<{ items: WorkerView[] }>(workerSubjects.list, { actor: bob });
      expect(items.map((w) => [w.id, w.role])).toEqual([[workerId, 'user']]);
      expect((await getWorker(bob, workerId)).role).toBe('user');
      expect((await rejection(rpc.request(workerSubjects.drain, { actor: bob, workerId }))).code).toBe('FORBIDDEN');

      const mine = await rpc.request<{ items: WorkerView[] }>(workerSubjects.list, { actor: alice });
      expect(mine.items.length).toBeGreaterThan(5);
      expect(mine.items.every((w) => w.role === 'owner')).toBe(true);
    });
  });

  describe('when its owner revokes its credential', () => {
    it('refuses the credential with 401 and ignores its heartbeats from then on', async () => {
      const { workerId, credential } = await newWorker();
      const view = await rpc.request<WorkerView>(revokeCredentialSubject, { actor: alice, workerId });
      expect(view.id).toBe(workerId);
      const error = await rejection(rpc.request(workerSubjects.authenticate, { credential }));
      expect(error.code).toBe('UNAUTHENTICATED');
      await eventually(() => eventsOf(workerId, 'WorkerCredentialRevoked').length === 1, 'WorkerCredentialRevoked');
      expect((await rejection(rpc.request(workerSubjects.heartbeat, { workerId, heartbeat: heartbeat(workerId) }))).code).toBe('UNAUTHENTICATED');
      expect((await kv.get(workerId))?.operation ?? 'none').not.toBe('PUT');
      expect(eventsOf(workerId, 'WorkerWentOnline')).toHaveLength(0);
      const jsm = await jetstreamManager(nc);
      await expect(jsm.consumers.info('WORK', workerConsumerName(workerId))).rejects.toThrow(/consumer not found/);
      // A stranger cannot revoke; a malformed or made-up credential is refused the same way.
      expect((await rejection(rpc.request(revokeCredentialSubject, { actor: bob, workerId }))).code).toBe('NOT_FOUND');
      for (const bad of ['ayw_nope', credential.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
        expect((await rejection(rpc.request(workerSubjects.authenticate, { credential: bad }))).code).toBe('UNAUTHENTICATED');
      }
    });
  });
  describe('when its read model is dropped and replayed from the event store', () => {
    it('rebuilds worker_view and worker_roles equal to the live ones, while the service runs', async () => {
      const snapshot = async () => {
        const client = new Client({ connectionString: dbUrl });
        await client.connect();
        try {
          const views = (await client.query('select * from worker_view order by id')).rows;
          const roles = (await client.query('select * from worker_roles order by worker_id, user_id')).rows;
          return { views, roles };
        } finally {
          await client.end();
        }
      };
      // Compare a quiet model: no heartbeats arrive any more, so once the sweeper has declared
      // every worker offline no further event can change the live rows between the snapshots.
      await eventually(async () => ((await snapshot()).views.every((v) => v.online === false) ? true : undefined), 'every worker offline');
      const live = await snapshot();
      expect(live.views.length).toBeGreaterThan(0);
      const { rows } = await replayWorkerView(dbUrl);
      expect(rows).toBe(live.views.length);
      expect(await snapshot()).toEqual(live);
    });
  });
});
