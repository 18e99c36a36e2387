/*
 * The allocation service as a real process (its compiled dist, `npm test` builds first) against
 * a real nats-server and Postgres. We play the tasks and workers services: real envelopes
 * published to TASKS / WORKERS with publishEvent, heartbeats put in the `worker-liveness` KV
 * bucket. Decisions are read back from the ALLOCATION stream (what the relay published) and
 * from the service's own event store (the record of truth).
 *
 * Each scenario uses its own users, workers and tool, so the owner filter keeps scenarios from
 * placing tasks on each other's workers.
 */
import { Kvm, type KV } from '@nats-io/kv';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import {
  allocationSubjects,
  DomainError,
  eventSubject,
  newId,
  workerLivenessBucket,
  type AllocationView,
  type Candidate,
  type CountedCandidates,
  type Envelope,
  type Heartbeat,
  type TaskRequirements,
  type ToolName,
} from '@agentyard/contracts';
import { freePort, startService, testDatabase, testNats, type NatsServer, type ServiceProcess } from '@agentyard/local-infra';
import { NatsRpcClient, publishEvent } from '@agentyard/messaging';

let nats: NatsServer;
let dbUrl: string;
let httpPort: number;
let service: ServiceProcess;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let kv: KV;
let rpc: NatsRpcClient;
const published: Envelope[] = [];

const SAFETY_NET_MS = 300;
/** Small pages, so a queue longer than a pass reads is a few hundred tasks, not thousands. */
const PAGE_SIZE = 40;

async function startAllocation(): Promise<ServiceProcess> {
  return startService(
    'allocation',
    {
      NATS_URL: nats.url,
      DATABASE_URL: dbUrl,
      HTTP_PORT: String(httpPort),
      SAFETY_NET_INTERVAL_MS: String(SAFETY_NET_MS),
      ALLOCATION_PAGE_SIZE: String(PAGE_SIZE),
    },
    `http://127.0.0.1:${httpPort}/health/ready`,
  );
}

async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n--- service output ---\n${service?.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Producers: the tasks and workers services as allocation sees them ---------------------------

const streamVersions = new Map<string, number>();

async function emit(context: 'tasks' | 'workers', streamId: string, key: string, type: string, data: Record<string, unknown>): Promise<Envelope> {
  const streamVersion = (streamVersions.get(streamId) ?? 0) + 1;
  streamVersions.set(streamId, streamVersion);
  const id = newId();
  const envelope: Envelope = {
    id,
    type,
    version: 1,
    streamId,
    streamVersion,
    occurredAt: new Date().toISOString(),
    data,
    metadata: { correlationId: id, causationId: id },
  };
  await publishEvent(js, eventSubject(context, type, key), envelope);
  return envelope;
}

const taskEvent = (taskId: string, type: string, data: Record<string, unknown> = {}) => emit('tasks', `task-${taskId}`, taskId, type, { taskId, ...data });
const workerEvent = (workerId: string, type: string, data: Record<string, unknown> = {}) =>
  emit('workers', `worker-${workerId}`, workerId, type, { workerId, ...data });

async function submitTask(
  taskId: string,
  ownerId: string,
  tool: ToolName,
  options: { priority?: number; requirements?: TaskRequirements; notBefore?: string; input?: Record<string, unknown> } = {},
): Promise<Envelope> {
  await taskEvent(taskId, 'TaskCreated', {
    ownerId,
    description: `task ${taskId}`,
    tool,
    input: options.input ?? (tool === 'shell' ? { command: 'true' } : { prompt: 'hello' }),
    priority: options.priority ?? 50,
    timeoutSeconds: 60,
    maxAttempts: 3,
    queueTimeoutSeconds: 3600,
    heartbeatTimeoutSeconds: 30,
    requirements: options.requirements ?? {},
  });
  return taskEvent(taskId, 'TaskQueued', { attempt: 1, reason: 'created', ...(options.notBefore ? { notBefore: options.notBefore } : {}) });
}

async function registerWorker(workerId: string, ownerId: string, tools: ToolName[], options: { slots?: number; online?: boolean } = {}): Promise<void> {
  const slots = options.slots ?? 2;
  await workerRegistered(workerId, ownerId, tools, slots);
  await workerEvent(workerId, 'WorkerRoleGranted', { userId: ownerId, role: 'owner' });
  await beat(workerId, { slots: { total: slots, used: 0 }, running: [] });
  if (options.online !== false) await workerEvent(workerId, 'WorkerWentOnline');
  // TASKS and WORKERS are consumed independently: without this, a task submitted next could be
  // deferred once before allocation knows the worker, and the scenario would see two deferrals.
  await consumed();
}

const workerRegistered = (workerId: string, ownerId: string, tools: ToolName[], slots = 2) =>
  workerEvent(workerId, 'WorkerRegistered', {
    ownerId,
    name: workerId,
    hostname: `${workerId}.local`,
    platform: 'linux',
    arch: 'x64',
    tools: tools.map((name) => ({ name, version: '1.0' })),
    slots,
    resources: { cpus: 8, memoryMb: 16_000, diskMb: 100_000 },
    labels: [],
    agentVersion: '0.1.0',
  });

async function beat(workerId: string, load: Pick<Heartbeat, 'slots' | 'running'> & Partial<Pick<Heartbeat, 'isolation'>>): Promise<void> {
  const hb: Heartbeat = {
    workerId,
    sentAt: new Date().toISOString(),
    cpuPercent: 10,
    memUsedMb: 2_000,
    memTotalMb: 16_000,
    diskFreeMb: 80_000,
    diskTotalMb: 100_000,
    tools: [],
    draining: false,
    // What current agents report; a worker that runs tasks unisolated would take only its owners' tasks.
    isolation: 'bubblewrap',
    ...load,
  };
  await kv.put(workerId, JSON.stringify(hb));
}

// What allocation did --------------------------------------------------------------------------

type Decided = { allocationId: string; taskId: string; attempt: number; workerId: string; candidates: Candidate[]; others: CountedCandidates[] };
type Deferred = { taskId: string; attempt: number; candidates: Candidate[]; others: CountedCandidates[] };

const decisions = (taskId: string): Decided[] =>
  published.filter((e) => e.type === 'AllocationDecided' && e.data.taskId === taskId).map((e) => e.data as unknown as Decided);
const deferrals = (taskId: string): Deferred[] =>
  published.filter((e) => e.type === 'AllocationDeferred' && e.data.taskId === taskId).map((e) => e.data as unknown as Deferred);
const decisionFor = (taskId: string, timeoutMs?: number): Promise<Decided> => eventually(() => decisions(taskId)[0], `a decision for ${taskId}`, timeoutMs);
const deferralFor = (taskId: string): Promise<Deferred> => eventually(() => deferrals(taskId)[0], `a deferral for ${taskId}`);

async function passesSoFar(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const match = /^agentyard_allocation_passes_total (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** Resolves after `n` more complete allocation passes: what "it did not happen" can wait for. */
async function afterPasses(n: number): Promise<void> {
  const start = await passesSoFar();
  await eventually(async () => (await passesSoFar()) >= start + n, `${n} allocation passes`);
}

/** Resolves once allocation consumed everything published to TASKS and WORKERS. */
async function consumed(): Promise<void> {
  await eventually(async () => {
    for (const [stream, durable] of [
      ['TASKS', 'allocation-tasks'],
      ['WORKERS', 'allocation-workers'],
    ] as const) {
      const info = await jsm.consumers.info(stream, durable);
      if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
    }
    return true;
  }, 'allocation to consume every published event');
}

async function storedDecisionCounts(): Promise<{ stream_id: string; attempt: string; n: string }[]> {
  const client = new Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ stream_id: string; attempt: string; n: string }>(
      `select stream_id, data->>'attempt' as attempt, count(*) as n from event_store.events where type = 'AllocationDecided' group by 1, 2`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

const getAllocation = (userId: string, taskId: string) => rpc.request<AllocationView>(allocationSubjects.getDecision, { actor: { userId }, taskId });

beforeAll(async () => {
  nats = await testNats();
  dbUrl = await testDatabase('allocation');
  httpPort = await freePort();
  // Allocation boots first: it creates TASKS/WORKERS when absent and waits for the KV bucket.
  service = await startAllocation();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  kv = await new Kvm(nc).create(workerLivenessBucket, { history: 1 });
  rpc = new NatsRpcClient(nc);
  const messages = await (await js.consumers.get('ALLOCATION')).consume();
  void (async () => {
    for await (const m of messages) published.push(m.json<Envelope>());
  })();
});

afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.stop();
});

describe('Allocation', () => {
  describe('when only worker B has the tool a task needs', () => {
    it('decides for B and records both candidates with their verdicts and scores', async () => {
      await registerWorker('w1-a', 'u1', ['shell']);
      await registerWorker('w1-b', 'u1', ['shell', 'claude-code']);
      await submitTask('t1', 'u1', 'claude-code');

      const decision = await decisionFor('t1');
      expect(decision).toMatchObject({ taskId: 't1', attempt: 1, workerId: 'w1-b' });
      const a = decision.candidates.find((c) => c.workerId === 'w1-a')!;
      const b = decision.candidates.find((c) => c.workerId === 'w1-b')!;
      expect(a).toMatchObject({ eligible: false, rejectedBecause: ['lacks tool claude-code'], scores: { total: 0 } });
      expect(b).toMatchObject({ eligible: true, rejectedBecause: [] });
      expect(b.scores.match).toBeCloseTo(1);
      const { match, availability, balance, affinity, total } = b.scores;
      expect(total).toBeCloseTo(0.4 * match + 0.3 * availability + 0.2 * balance + 0.1 * affinity, 3);
    });
  });

  describe('when someone asks for a decision', () => {
    it("answers the task's owner with the latest decision, and 404 to anyone else or for an unknown task", async () => {
      const view = await getAllocation('u1', 't1');
      expect(view).toMatchObject({ taskId: 't1', attempt: 1, workerId: 'w1-b' });
      expect(view.candidates.map((c) => c.workerId).sort()).toEqual(['w1-a', 'w1-b']);
      expect(typeof view.decidedAt).toBe('string');
      await expect(getAllocation('intruder', 't1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(getAllocation('u1', 'no-such-task')).rejects.toBeInstanceOf(DomainError);
      await expect(getAllocation('u1', 'no-such-task')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('when no worker is eligible', () => {
    it('defers once, stays quiet while nothing changes, and decides when a worker comes online', async () => {
      await registerWorker('w2', 'u2', ['ollama'], { online: false });
      await submitTask('t2', 'u2', 'ollama');
      const deferral = await deferralFor('t2');
      // An offline worker is counted, not loaded and scored.
      expect(deferral.candidates.map((c) => c.workerId)).not.toContain('w2');
      expect(deferral.others).toContainEqual({ reasons: ['offline'], count: 1 });

      await afterPasses(4);
      expect(deferrals('t2')).toHaveLength(1);
      expect(decisions('t2')).toHaveLength(0);
      await expect(getAllocation('u2', 't2')).resolves.toMatchObject({ workerId: null, attempt: 1 });

      await workerEvent('w2', 'WorkerWentOnline');
      expect(await decisionFor('t2')).toMatchObject({ workerId: 'w2', attempt: 1 });
    });
  });

  describe('when the only capable worker is drained right after a pass placed a task on it', () => {
    it('defers the next task instead of deciding it from the picture that pass read', async () => {
      await registerWorker('w20', 'u20', ['shell'], { slots: 4 });
      await submitTask('t20a', 'u20', 'shell');
      expect(await decisionFor('t20a')).toMatchObject({ workerId: 'w20' });

      await workerEvent('w20', 'WorkerDrained', { byUserId: 'u20' });
      await consumed();
      await submitTask('t20b', 'u20', 'shell');
      const deferral = await deferralFor('t20b');
      expect(deferral.candidates.map((c) => c.workerId)).not.toContain('w20');
      expect(deferral.others).toContainEqual({ reasons: ['drained'], count: 1 });
      expect(decisions('t20b')).toHaveLength(0);
    });
  });

  describe('when three tasks queue for a worker with two slots', () => {
    it('decides two, and the third — waiting, with no deferral recorded — once a heartbeat shows a slot freed', async () => {
      await registerWorker('w3', 'u3', ['gemini-cli'], { slots: 2 });
      for (const id of ['t3-a', 't3-b', 't3-c']) await submitTask(id, 'u3', 'gemini-cli');

      await decisionFor('t3-a');
      await decisionFor('t3-b');
      // w3 would take t3-c but for its busy slots: t3-c is queued, not stuck, so no deferral.
      await afterPasses(3);
      expect(deferrals('t3-c')).toHaveLength(0);
      expect(decisions('t3-c')).toHaveLength(0);

      // The tasks service assigns both; they start; the heartbeat shows both running.
      for (const id of ['t3-a', 't3-b']) {
        const { allocationId } = decisions(id)[0]!;
        await taskEvent(id, 'TaskAssigned', { workerId: 'w3', attempt: 1, allocationId, leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() });
        await taskEvent(id, 'TaskStarted', { workerId: 'w3', attempt: 1, startedAt: new Date().toISOString() });
      }
      await beat('w3', {
        slots: { total: 2, used: 2 },
        running: [
          { taskId: 't3-a', attempt: 1 },
          { taskId: 't3-b', attempt: 1 },
        ],
      });
      await consumed();
      await afterPasses(3);
      expect(decisions('t3-c')).toHaveLength(0);

      // t3-a finishes: the heartbeat shows it first, before the tasks service reports TaskSucceeded.
      await beat('w3', { slots: { total: 2, used: 1 }, running: [{ taskId: 't3-b', attempt: 1 }] });
      expect(await decisionFor('t3-c')).toMatchObject({ workerId: 'w3', attempt: 1 });
    });
  });

  describe('when tasks of different priority wait for one slot', () => {
    it('gives it to the higher priority first, although it was queued later', async () => {
      await registerWorker('w7', 'u7', ['claude-code'], { slots: 1, online: false });
      await submitTask('t7-low', 'u7', 'claude-code', { priority: 10 });
      await submitTask('t7-high', 'u7', 'claude-code', { priority: 90 });
      await deferralFor('t7-low');
      await deferralFor('t7-high');

      await workerEvent('w7', 'WorkerWentOnline');
      expect(await decisionFor('t7-high')).toMatchObject({ workerId: 'w7' });
      await afterPasses(2);
      expect(decisions('t7-low')).toHaveLength(0);
    });
  });

  describe('when more tasks than a pass reads wait ahead of one a worker can take', () => {
    it('still places the one behind them', async () => {
      // 450 tasks for a tool no worker of u9 has, all ahead of the noop task by priority: more
      // than one pass reads (10 pages of PAGE_SIZE), so the pass must page past them and the
      // next one go on from where it stopped.
      await registerWorker('w9', 'u9', ['noop'], { slots: 2 });
      const ahead = Array.from({ length: 450 }, (_, i) => `t9-stuck-${String(i).padStart(3, '0')}`);
      await Promise.all(ahead.map((id) => submitTask(id, 'u9', 'gemini-api', { priority: 90 })));
      await submitTask('t9-noop', 'u9', 'noop', { priority: 10 });
      expect(await decisionFor('t9-noop', 60_000)).toMatchObject({ workerId: 'w9', attempt: 1 });
      expect(decisions(ahead[0]!)).toHaveLength(0);
    }, 90_000);
  });

  describe('when one user has a long queue on a worker another user may use too', () => {
    it('gives the other user’s later task the next turn, not a place behind the whole queue; each user’s own order holds', async () => {
      await registerWorker('w12', 'u12-a', ['codex'], { slots: 1, online: false });
      // Co-owner: this scenario is about turns, not about the isolation a 'user' role also needs.
      await workerEvent('w12', 'WorkerRoleGranted', { userId: 'u12-b', role: 'owner' });
      const backlog = Array.from({ length: 30 }, (_, i) => `t12-a-${String(i).padStart(2, '0')}`);
      for (const id of backlog) await submitTask(id, 'u12-a', 'codex');
      await submitTask('t12-b', 'u12-b', 'codex');
      await consumed();
      await workerEvent('w12', 'WorkerWentOnline');

      // One slot: decide, run and finish one task at a time, and record the order.
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        const next = await eventually(() => [...backlog, 't12-b'].find((id) => !order.includes(id) && decisions(id).length > 0), `decision ${i + 1}`);
        order.push(next);
        const { allocationId } = decisions(next)[0]!;
        await taskEvent(next, 'TaskAssigned', { workerId: 'w12', attempt: 1, allocationId, leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() });
        await taskEvent(next, 'TaskStarted', { workerId: 'w12', attempt: 1, startedAt: new Date().toISOString() });
        await beat('w12', { slots: { total: 1, used: 1 }, running: [{ taskId: next, attempt: 1 }] });
        await consumed();
        await taskEvent(next, 'TaskSucceeded', { workerId: 'w12', attempt: 1, result: { exitCode: 0, outputTail: '', durationMs: 1 } });
        await beat('w12', { slots: { total: 1, used: 0 }, running: [] });
      }
      // Without turns the order would be t12-a-00 … t12-a-03 (created first, same priority).
      expect(order).toEqual(['t12-a-00', 't12-b', 't12-a-01', 't12-a-02']);
    }, 60_000);
  });

  describe('when three tasks of one anti-affinity group queue for two workers', () => {
    it('places two on distinct workers in one pass, keeps the third waiting with the reason even once a copy finished, and places it on a third worker', async () => {
      await registerWorker('w30-a', 'u30', ['shell'], { slots: 2 });
      await registerWorker('w30-b', 'u30', ['shell'], { slots: 2 });
      const requirements = { antiAffinity: 'run-30:copy' };
      // One notBefore for all three: they come due together, so one pass decides them.
      const notBefore = new Date(Date.now() + 1_000).toISOString();
      for (const id of ['t30-1', 't30-2', 't30-3']) await submitTask(id, 'u30', 'shell', { requirements, notBefore });

      const [first, second] = [await decisionFor('t30-1'), await decisionFor('t30-2')];
      expect([first.workerId, second.workerId].sort()).toEqual(['w30-a', 'w30-b']);
      const waiting = await deferralFor('t30-3');
      const reason = 'anti-affinity: already has a task of group run-30:copy';
      expect(waiting.candidates.filter((c) => c.workerId.startsWith('w30-')).map((c) => [c.workerId, c.rejectedBecause])).toEqual([
        ['w30-a', [reason]],
        ['w30-b', [reason]],
      ]);
      const at = (taskId: string) => published.find((e) => e.type.startsWith('Allocation') && e.data.taskId === taskId)!.occurredAt;
      expect(new Set([at('t30-1'), at('t30-2'), at('t30-3')]).size).toBe(1);
      await expect(getAllocation('u30', 't30-3')).resolves.toMatchObject({
        workerId: null,
        candidates: [{ rejectedBecause: [reason] }, { rejectedBecause: [reason] }],
      });

      // A copy that has run keeps its worker out of the group's reach.
      const { allocationId } = decisions('t30-1')[0]!;
      await taskEvent('t30-1', 'TaskAssigned', {
        workerId: first.workerId,
        attempt: 1,
        allocationId,
        leaseExpiresAt: new Date(Date.now() + 30_000).toISOString(),
      });
      await taskEvent('t30-1', 'TaskStarted', { workerId: first.workerId, attempt: 1, startedAt: new Date().toISOString() });
      await taskEvent('t30-1', 'TaskSucceeded', { workerId: first.workerId, attempt: 1, result: { exitCode: 0, outputTail: '', durationMs: 1 } });
      await consumed();
      await afterPasses(3);
      expect(decisions('t30-3')).toHaveLength(0);
      // A task outside the group still goes to either worker.
      await submitTask('t30-plain', 'u30', 'shell');
      expect(['w30-a', 'w30-b']).toContain((await decisionFor('t30-plain')).workerId);

      await registerWorker('w30-c', 'u30', ['shell'], { slots: 2 });
      expect(await decisionFor('t30-3')).toMatchObject({ workerId: 'w30-c', attempt: 1 });
    });
  });

  describe('when TaskQueued is delivered again', () => {
    it('still records one decision', async () => {
      await registerWorker('w4', 'u4', ['claude-api']);
      const queued = await submitTask('t4', 'u4', 'claude-api');
      await decisionFor('t4');
      // Same envelope under a new Nats-Msg-Id: JetStream's dedup cannot help, only the consumer can.
      await js.publish(eventSubject('tasks', 'TaskQueued', 't4'), JSON.stringify(queued), { msgID: `${queued.id}-again` });
      await consumed();
      await afterPasses(3);
      expect(decisions('t4')).toHaveLength(1);
    });
  });

  describe('when the only capable worker belongs to another user', () => {
    it("never chooses it for the task, until its owner grants the task's owner a role", async () => {
      await registerWorker('w5-x', 'user-x', ['gemini-api']);
      await submitTask('t5-y', 'user-y', 'gemini-api');
      const deferral = await deferralFor('t5-y');
      expect(deferral.candidates.find((c) => c.workerId === 'w5-x')!.rejectedBecause).toEqual(["not allowed for the task's owner: no role on this worker"]);
      await afterPasses(3);
      expect(decisions('t5-y')).toHaveLength(0);
      // The owner's view does not reveal a worker the owner may not use.
      const view = await getAllocation('user-y', 't5-y');
      expect(view.candidates.map((c) => c.workerId)).not.toContain('w5-x');
      // Only how many workers the owner cannot use, listed or counted, not which or why.
      expect(view.others).toEqual([{ reasons: ["not allowed for the task's owner"], count: expect.any(Number) }]);
      expect(JSON.stringify(view)).not.toContain('w5-x');

      await workerEvent('w5-x', 'WorkerRoleGranted', { userId: 'user-y', role: 'user' });
      expect(await decisionFor('t5-y')).toMatchObject({ workerId: 'w5-x' });
      await submitTask('t5-z', 'user-z', 'gemini-api');
      await deferralFor('t5-z');
      await afterPasses(2);
      expect(decisions('t5-z')).toHaveLength(0);
    });
  });

  describe("when a shared worker's agent runs tasks unisolated", () => {
    it("keeps the shared user's task off it until its heartbeat says it isolates tasks", async () => {
      await registerWorker('w8-shared', 'u8-owner', ['claude-code']);
      await beat('w8-shared', { slots: { total: 2, used: 0 }, running: [], isolation: 'none' });
      await workerEvent('w8-shared', 'WorkerRoleGranted', { userId: 'u8-guest', role: 'user' });
      await consumed();
      await submitTask('t8-guest', 'u8-guest', 'claude-code');
      // A pass may still hold a picture read before the worker's events were applied (it then
      // defers for "offline" first); the deferral that matters is the one naming the isolation.
      const reasons = await eventually(
        () => deferrals('t8-guest').find((d) => d.candidates.some((c) => c.rejectedBecause.some((r) => r.startsWith('not isolated'))))?.candidates,
        "a deferral naming the worker's isolation",
      );
      // The detail is "(none)", or "(not reported)" when the pass saw no heartbeat yet: either way not isolated.
      expect(reasons.find((c) => c.workerId === 'w8-shared')!.rejectedBecause).toEqual([
        expect.stringMatching(/^not isolated: its agent runs tasks without isolation \((none|not reported)\), so only its owners' tasks$/),
      ]);
      await afterPasses(2);
      expect(decisions('t8-guest')).toHaveLength(0);

      await beat('w8-shared', { slots: { total: 2, used: 0 }, running: [], isolation: 'task-user' });
      expect(await decisionFor('t8-guest')).toMatchObject({ workerId: 'w8-shared' });
    });
  });

  describe('when a follow-up resumes the tool session of an attempt whose branch was pushed', () => {
    it('places it on the worker that ran the attempt (the session is kept there only), and waits for that worker while it is offline', async () => {
      await registerWorker('w9-idle', 'u9', ['claude-code'], { slots: 4 });
      await registerWorker('w9-ran', 'u9', ['claude-code'], { slots: 4 });
      const first = newId();
      await submitTask(first, 'u9', 'claude-code', { requirements: { workerId: 'w9-ran' } });
      const { allocationId } = await decisionFor(first);
      await taskEvent(first, 'TaskAssigned', { workerId: 'w9-ran', attempt: 1, allocationId, leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() });
      const branch = `agentyard/${first}-1`;
      const repo = 'https://git.example.test/app.git';
      const workspace = {
        repo,
        baseRef: 'main',
        baseCommit: 'a'.repeat(40),
        branch,
        commit: 'b'.repeat(40),
        filesChanged: 1,
        insertions: 1,
        deletions: 0,
        pushed: true,
      };
      await taskEvent(first, 'TaskSucceeded', { attempt: 1, workerId: 'w9-ran', result: { exitCode: 0, outputTail: '', durationMs: 5, workspace } });
      // The worker that ran it is now the busier one: by score alone a task goes to the other.
      await beat('w9-ran', { slots: { total: 4, used: 3 }, running: [] });
      await consumed();
      const followUp = (resumeSession?: string) => ({ prompt: 'go on', workspace: { repo, ref: branch }, ...(resumeSession ? { resumeSession } : {}) });

      await submitTask('t9-branch-only', 'u9', 'claude-code', { input: followUp() });
      expect(await decisionFor('t9-branch-only')).toMatchObject({ workerId: 'w9-idle' });

      await submitTask('t9-resume', 'u9', 'claude-code', { input: followUp('session-1') });
      const decided = await decisionFor('t9-resume');
      expect(decided.workerId).toBe('w9-ran');
      expect(decided.candidates.find((c) => c.workerId === 'w9-idle')?.rejectedBecause).toEqual([`session of ${branch} is kept only on worker w9-ran`]);

      await workerEvent('w9-ran', 'WorkerWentOffline', { reason: 'heartbeat-silence' });
      await consumed();
      await submitTask('t9-waits', 'u9', 'claude-code', { input: followUp('session-1') });
      const waiting = await deferralFor('t9-waits');
      expect(waiting.candidates.find((c) => c.workerId === 'w9-ran')?.rejectedBecause).toContain('offline');
      expect(waiting.candidates.find((c) => c.workerId === 'w9-idle')?.rejectedBecause).toEqual([
        `session of ${branch} is kept only on worker w9-ran: it is offline, the task waits for it`,
      ]);
      // Listed as the worker it waits for, and not counted among the offline ones as well.
      expect(waiting.others.filter((o) => !o.reasons.includes("not allowed for the task's owner"))).toEqual([]);
      await afterPasses(3);
      expect(decisions('t9-waits')).toHaveLength(0);

      await beat('w9-ran', { slots: { total: 4, used: 0 }, running: [] });
      await workerEvent('w9-ran', 'WorkerWentOnline');
      expect(await decisionFor('t9-waits')).toMatchObject({ workerId: 'w9-ran' });
    });
  });

  describe('when hundreds of registered workers are offline', () => {
    it('records the best few candidates with their scores and counts the rest by reason, not one entry per worker', async () => {
      const offline = Array.from({ length: 300 }, (_, i) => `w10-off-${String(i).padStart(3, '0')}`);
      for (let i = 0; i < offline.length; i += 50) await Promise.all(offline.slice(i, i + 50).map((id) => workerRegistered(id, 'u10', ['shell'])));
      for (const id of ['w10-a', 'w10-b', 'w10-c', 'w10-d', 'w10-e', 'w10-f']) await registerWorker(id, 'u10', ['shell']);
      await consumed();
      await submitTask('t10', 'u10', 'shell');
      const decision = await decisionFor('t10');
      expect(decision.candidates).toHaveLength(5);
      expect(decision.candidates.every((c) => c.eligible)).toBe(true);
      expect(decision.candidates.map((c) => c.workerId)).toContain(decision.workerId);
      expect(decision.others).toContainEqual({ reasons: ['offline'], count: 300 });
      expect(decision.others).toContainEqual({ reasons: [], count: 1 });
      // The owner sees the same, with the other users' workers as one count.
      const view = await getAllocation('u10', 't10');
      expect(view.candidates.map((c) => c.workerId)).toEqual(decision.candidates.map((c) => c.workerId));
      expect(view.others).toContainEqual({ reasons: ['offline'], count: 300 });
      expect(view.others.filter((o) => o.reasons.includes("not allowed for the task's owner"))).toHaveLength(1);
    });
  });

  describe('when the service is killed mid-run and restarted', () => {
    it('decides nothing twice, and decides a requeued task again at its next attempt', async () => {
      await registerWorker('w6', 'u6', ['shell'], { slots: 50 });
      await beat('w6', { slots: { total: 50, used: 0 }, running: [] });
      const first = Array.from({ length: 8 }, (_, i) => `t6-${i}`);
      for (const id of first) await submitTask(id, 'u6', 'shell');
      await decisionFor('t6-0');
      await service.kill();

      const second = Array.from({ length: 8 }, (_, i) => `t6-${i + 8}`);
      for (const id of second) await submitTask(id, 'u6', 'shell');
      service = await startAllocation();
      // The delivery the killed process held unacked comes back after the consumers' 10 s ack wait.
      for (const id of [...first, ...second]) await decisionFor(id, 25_000);

      // t6-0 is assigned, its worker is lost, and the tasks service queues attempt 2.
      const { allocationId } = decisions('t6-0')[0]!;
      await taskEvent('t6-0', 'TaskAssigned', { workerId: 'w6', attempt: 1, allocationId, leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() });
      await taskEvent('t6-0', 'TaskRequeued', { fromAttempt: 1, reason: 'worker-lost', workerId: 'w6' });
      await taskEvent('t6-0', 'TaskQueued', { attempt: 2, reason: 'requeued', notBefore: new Date(Date.now() + 300).toISOString() });
      await eventually(() => decisions('t6-0').some((d) => d.attempt === 2), 'the decision for attempt 2');

      await consumed();
      await afterPasses(3);
      // Across every scenario: one decision per (task, attempt), on the stream and in the store.
      const perAttempt = new Map<string, number>();
      for (const e of published.filter((p) => p.type === 'AllocationDecided')) {
        const key = `${String(e.data.taskId)}#${String(e.data.attempt)}`;
        perAttempt.set(key, (perAttempt.get(key) ?? 0) + 1);
      }
      expect([...perAttempt.values()].every((n) => n === 1)).toBe(true);
      expect(perAttempt.get('t6-0#2')).toBe(1);
      const stored = await storedDecisionCounts();
      expect(stored.length).toBe(perAttempt.size);
      expect(stored.every((r) => Number(r.n) === 1)).toBe(true);
    });
  });
});
