/*
 * The tasks service as a real process (its compiled dist/main.js) against a real nats-server and
 * Postgres, driven only through NATS — the way the gateway (request/reply), allocation
 * (ALLOCATION events), the workers service (WORKERS events) and worker agents (WORK reports)
 * drive it. Timers are shrunk through the service's env (lease 3 s, scan every 100 ms, 1 s
 * run-timeout grace). Waits are on observable facts (events, orders, consumer state), never on
 * guessed sleeps.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  DomainError,
  eventSubject,
  newId,
  taskSubjects,
  workReportSubject,
  workSubjects,
  type Assignment,
  type Envelope,
  type TaskPage,
  type TaskResult,
  type TaskView,
  type WorkOrder,
} from '@agentyard/contracts';
import { freePort, startService, testDatabase, testNats, type NatsServer, type ServiceProcess } from '@agentyard/local-infra';
import { NatsRpcClient, publishEvent } from '@agentyard/messaging';

const repoRoot = join(__dirname, '..', '..', '..');
const LEASE_MS = 3_000;

let nats: NatsServer;
let service: ServiceProcess;
let databaseUrl: string;
let port: number;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let rpc: NatsRpcClient;

interface Actor {
  userId: string;
}
const actors: Actor[] = [];
function user(name: string): Actor {
  const actor = { userId: `${name}-${newId()}` };
  actors.push(actor);
  return actor;
}
const workerId = (name: string): string => `${name}-${newId().slice(-12)}`;

const startTasks = (): Promise<ServiceProcess> =>
  startService(
    'tasks',
    {
      NATS_URL: nats.url,
      DATABASE_URL: databaseUrl,
      HTTP_PORT: String(port),
      TASK_LEASE_MS: String(LEASE_MS),
      TIMEOUT_SCAN_INTERVAL_MS: '100',
      RUN_TIMEOUT_GRACE_SECONDS: '1',
    },
    `http://127.0.0.1:${port}/health/ready`,
  );

beforeAll(async () => {
  // The service under test is the compiled one, as in production; the build skips what is current.
  execFileSync(process.execPath, [join(repoRoot, 'infra', 'scripts', 'build.mjs')], { stdio: 'pipe' });
  nats = await testNats();
  databaseUrl = await testDatabase('tasks');
  port = await freePort();
  service = await startTasks();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  rpc = new NatsRpcClient(nc, { defaultTimeoutMs: 10_000 });
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await service?.stop();
  await nats?.stop();
});

// --- helpers ------------------------------------------------------------------------------------

/** Polls `check` every 25 ms until it returns a truthy value. */
async function until<T>(what: string, check: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}\n--- tasks service output ---\n${service.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

const create = (actor: Actor, task: Record<string, unknown> = {}): Promise<TaskView> =>
  rpc.request<TaskView>(taskSubjects.create, { actor, task: { description: 'say hi', tool: 'shell', input: { command: 'echo hi' }, ...task } });
const get = (actor: Actor, taskId: string) => rpc.request<TaskView>(taskSubjects.get, { actor, taskId });
const list = (actor: Actor, query: Record<string, unknown> = {}) => rpc.request<TaskPage>(taskSubjects.list, { actor, query });
const history = async (actor: Actor, taskId: string): Promise<Envelope[]> =>
  (await rpc.request<{ items: Envelope[] }>(taskSubjects.history, { actor, taskId })).items;
const typesOf = (events: Envelope[]): string[] => events.map((e) => e.type);

/** The task's history once it holds `n` events of `type`. */
const withEvent = (actor: Actor, taskId: string, type: string, n = 1, timeoutMs = 10_000) =>
  until(
    `${n} × ${type} on ${taskId}`,
    async () => {
      const events = await history(actor, taskId);
      return events.filter((e) => e.type === type).length >= n ? events : undefined;
    },
    timeoutMs,
  );

function envelope(type: string, streamId: string, data: Record<string, unknown>): Envelope {
  const id = newId();
  return { id, type, version: 1, streamId, streamVersion: 1, occurredAt: new Date().toISOString(), data, metadata: { correlationId: id, causationId: id } };
}

/** Publishes AllocationDecided as the allocation service's relay would. */
async function decide(
  taskId: string,
  attempt: number,
  worker: string,
  event = envelope('AllocationDecided', `allocation-${taskId}`, { allocationId: newId(), taskId, attempt, workerId: worker, candidates: [] }),
) {
  await publishEvent(js, eventSubject('allocation', 'AllocationDecided', taskId), event);
  return event;
}

async function workerWentOffline(worker: string, occurredAt = new Date()): Promise<void> {
  const event = {
    ...envelope('WorkerWentOffline', `worker-${worker}`, { workerId: worker, reason: 'heartbeat-silence' }),
    occurredAt: occurredAt.toISOString(),
  };
  await publishEvent(js, eventSubject('workers', 'WorkerWentOffline', worker), event);
}

/** A worker agent's report on `work.report.<workerId>`. */
async function report(worker: string, body: Record<string, unknown>): Promise<void> {
  await js.publish(workReportSubject(worker), JSON.stringify({ workerId: worker, ...body }));
}
const reportStarted = (worker: string, taskId: string, attempt = 1) => report(worker, { kind: 'started', taskId, attempt, at: new Date().toISOString() });
const reportFinished = (
  worker: string,
  taskId: string,
  attempt = 1,
  outcome = 'succeeded',
  result: TaskResult = { exitCode: 0, outputTail: 'hi\n', durationMs: 5 },
) => report(worker, { kind: 'finished', taskId, attempt, outcome, result });

/** Every message a stream holds on `subject`, read through a throwaway consumer. */
async function streamMessages(stream: string, subject: string): Promise<JsMsg[]> {
  const info = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subject,
    inactive_threshold: nanos(30_000),
  });
  const messages: JsMsg[] = [];
  try {
    if (info.num_pending > 0) {
      const consumer = await js.consumers.get(stream, info.name);
      const batch = await consumer.fetch({ max_messages: info.num_pending, expires: 2_000 });
      for await (const m of batch) {
        messages.push(m);
        if (messages.length >= info.num_pending) break;
      }
    }
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return messages;
}

/** The work orders sent to a worker, with their msg ids. */
async function ordersFor(worker: string): Promise<Array<{ order: WorkOrder; msgId: string | undefined }>> {
  return (await streamMessages('WORK', workSubjects.assign(worker))).map((m) => ({ order: m.json<WorkOrder>(), msgId: m.headers?.get('Nats-Msg-Id') }));
}
const orderOf = (worker: string, kind: 'assign' | 'cancel', taskId: string, attempt: number) =>
  until(`a ${kind} order for ${taskId}#${attempt} to ${worker}`, async () =>
    (await ordersFor(worker)).find(({ order }) => order.kind === kind && order.taskId === taskId && order.attempt === attempt),
  );

const tasksConsumers: Array<[string, string]> = [
  ['ALLOCATION', 'tasks-allocation-decided'],
  ['WORK', 'tasks-work-reports'],
  ['WORKERS', 'tasks-worker-offline'],
  ['TASKS', 'tasks-dispatcher'],
  ['WORKFLOWS', 'tasks-workflow-nodes'],
];

/** A task's events on TASKS: `tasks.events.<event>.<taskId>`, or with `.<runId>` after it for a workflow task's. */
async function relayedOf(taskId: string): Promise<JsMsg[]> {
  const [plain, ofRun] = await Promise.all([streamMessages('TASKS', `tasks.events.*.${taskId}`), streamMessages('TASKS', `tasks.events.*.${taskId}.*`)]);
  return [...plain, ...ofRun].sort((a, b) => a.seq - b.seq);
}

/**
 * Waits until everything published so far has been handled: the inbound consumers are drained,
 * every event of `tasks` has been relayed to TASKS, and the dispatcher has handled them.
 */
async function settled(actor: Actor, taskIds: string[]): Promise<void> {
  const drained = async () => {
    for (const [stream, durable] of tasksConsumers) {
      const info = await jsm.consumers.info(stream, durable);
      if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
    }
    return true;
  };
  await until('the inbound consumers to drain', drained);
  for (const id of taskIds) {
    const stored = (await history(actor, id)).length;
    await until(`every event of ${id} on TASKS`, async () => (await relayedOf(id)).length === stored);
  }
  await until('the dispatcher to drain', drained);
}

/** A task assigned to `worker` (the Assignment sent), optionally started. */
async function assignedTask(actor: Actor, worker: string, options: { started?: boolean; task?: Record<string, unknown> } = {}): Promise<TaskView> {
  const task = await create(actor, options.task);
  await decide(task.id, 1, worker);
  await orderOf(worker, 'assign', task.id, 1);
  if (options.started) {
    await reportStarted(worker, task.id);
    await until(`${task.id} running`, async () => (await get(actor, task.id)).status === 'running');
  }
  return get(actor, task.id);
}

async function query<T extends Record<string, unknown>>(text: string): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

// --- specs --------------------------------------------------------------------------------------

describe('The tasks service', () => {
  describe('when a user creates a task', () => {
    it('replies with the queued view folded from the new events and relays TaskCreated and TaskQueued to TASKS', async () => {
      const alice = user('alice');
      const view = await create(alice, { description: 'say hi', priority: 70 });
      expect(view).toMatchObject({
        ownerId: alice.userId,
        status: 'queued',
        attempt: 1,
        maxAttempts: 3,
        priority: 70,
        workerId: null,
        version: 2,
        result: null,
      });
      const relayed = await until('TaskCreated and TaskQueued on TASKS', async () => {
        const messages = await streamMessages('TASKS', `tasks.events.*.${view.id}`);
        return messages.length === 2 ? messages : undefined;
      });
      expect(relayed.map((m) => m.subject)).toEqual([eventSubject('tasks', 'TaskCreated', view.id), eventSubject('tasks', 'TaskQueued', view.id)]);
      expect(relayed[1]!.json<Envelope>().data).toEqual({ taskId: view.id, attempt: 1, reason: 'created' });
      expect(await get(alice, view.id)).toEqual(view);
    });

    it('refuses an invalid task with VALIDATION_FAILED naming the field, and stores nothing', async () => {
      const error = await refusal(create(user('alice'), { tool: 'rm-rf' }));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toMatch(/task.tool: tool must be one of/);
    });
  });

  describe('when allocation decides a worker', () => {
    it('assigns the attempt and sends the worker an Assignment whose msg id is the TaskAssigned event id', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await create(alice, { description: 'build it', tool: 'ollama', input: { prompt: 'hi' }, timeoutSeconds: 120 });
      await decide(task.id, 1, w);
      const events = await withEvent(alice, task.id, 'TaskAssigned');
      const assigned = events.find((e) => e.type === 'TaskAssigned')!;
      expect(assigned.data).toMatchObject({ taskId: task.id, workerId: w, attempt: 1 });
      expect(Date.parse(String(assigned.data.leaseExpiresAt)) - Date.parse(assigned.occurredAt)).toBe(LEASE_MS);
      const { order, msgId } = await orderOf(w, 'assign', task.id, 1);
      expect(order).toEqual<Assignment>({
        kind: 'assign',
        taskId: task.id,
        attempt: 1,
        tool: 'ollama',
        input: { prompt: 'hi' },
        description: 'build it',
        timeoutSeconds: 120,
        heartbeatTimeoutSeconds: 30,
        ownerId: alice.userId,
      });
      expect(msgId).toBe(assigned.id);
      expect(await get(alice, task.id)).toMatchObject({ status: 'assigned', workerId: w });
    });

    it('ignores a repeated decision and one for a stale attempt: one TaskAssigned, one Assignment', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await create(alice);
      const other = workerId('other');
      const first = await decide(task.id, 1, w);
      await decide(task.id, 1, w, first); // the same message again: JetStream drops it by msg id
      await decide(task.id, 1, other); // a second decision for the same attempt: whichever is decided first wins
      await decide(task.id, 7, w); // a decision for an attempt that is not queued
      await withEvent(alice, task.id, 'TaskAssigned');
      await settled(alice, [task.id]);
      const assigned = (await history(alice, task.id)).filter((e) => e.type === 'TaskAssigned');
      expect(assigned).toHaveLength(1);
      const winner = String(assigned[0]!.data.workerId);
      const loser = winner === w ? other : w;
      expect((await ordersFor(winner)).filter(({ order }) => order.taskId === task.id)).toHaveLength(1);
      expect((await ordersFor(loser)).filter(({ order }) => order.taskId === task.id)).toHaveLength(0);
    });
  });

  describe('when its worker reports', () => {
    it('records started, then success with the result', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await assignedTask(alice, w);
      await reportStarted(w, task.id);
      await until('running', async () => (await get(alice, task.id)).status === 'running');
      await reportFinished(w, task.id, 1, 'succeeded', { exitCode: 0, outputTail: 'hello\n', durationMs: 42 });
      const done = await until('succeeded', async () => {
        const view = await get(alice, task.id);
        return view.status === 'succeeded' ? view : undefined;
      });
      expect(done).toMatchObject({ attempt: 1, workerId: w, progress: 100, result: { exitCode: 0, outputTail: 'hello\n', durationMs: 42 } });
      expect(done.startedAt).not.toBeNull();
      expect(done.finishedAt).not.toBeNull();
      expect(typesOf(await history(alice, task.id))).toEqual(['TaskCreated', 'TaskQueued', 'TaskAssigned', 'TaskStarted', 'TaskSucceeded']);
    });

    it('fences off a report for a stale attempt or from another worker: TaskReportRejected once, status unchanged', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const intruder = workerId('intruder');
      const task = await assignedTask(alice, w, { started: true });
      await reportFinished(w, task.id, 2, 'failed');
      await reportFinished(intruder, task.id, 1, 'succeeded');
      const events = await withEvent(alice, task.id, 'TaskReportRejected', 2);
      expect(events.filter((e) => e.type === 'TaskReportRejected').map((e) => e.data)).toEqual([
        { taskId: task.id, attempt: 2, currentAttempt: 1, workerId: w, report: 'result', reason: 'attempt 2 is not the current attempt 1' },
        { taskId: task.id, attempt: 1, currentAttempt: 1, workerId: intruder, report: 'result', reason: 'attempt 1 is assigned to another worker' },
      ]);
      await reportFinished(w, task.id, 2, 'failed'); // redelivered stale report
      await settled(alice, [task.id]);
      expect(typesOf(await history(alice, task.id)).filter((t) => t === 'TaskReportRejected')).toHaveLength(2);
      expect(await get(alice, task.id)).toMatchObject({ status: 'running', attempt: 1, workerId: w, result: null });
    });

    it('drops a malformed report or one whose body names another worker, without redelivering it', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await assignedTask(alice, w);
      await js.publish(workReportSubject(w), JSON.stringify({ kind: 'started', taskId: task.id })); // no attempt, no workerId
      await js.publish(
        workReportSubject(w),
        JSON.stringify({ kind: 'started', taskId: task.id, attempt: 1, workerId: workerId('someone-else'), at: new Date().toISOString() }),
      );
      await reportStarted(w, task.id);
      await until('running', async () => (await get(alice, task.id)).status === 'running');
      await settled(alice, [task.id]);
      const info = await jsm.consumers.info('WORK', 'tasks-work-reports');
      expect(info.num_redelivered).toBe(0);
      expect(await jsm.streams.getMessage('DLQ', { last_by_subj: 'dlq.WORK.tasks-work-reports' }).catch(() => null)).toBeNull();
      expect(typesOf(await history(alice, task.id))).toEqual(['TaskCreated', 'TaskQueued', 'TaskAssigned', 'TaskStarted']);
    });
  });

  describe('when its owner cancels it', () => {
    it('cancels a running task and sends its worker a Cancellation; a second cancel is a CONFLICT', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await assignedTask(alice, w, { started: true });
      const cancelled = await rpc.request<TaskView>(taskSubjects.cancel, { actor: alice, taskId: task.id });
      expect(cancelled).toMatchObject({ status: 'cancelled', workerId: w });
      const { order } = await orderOf(w, 'cancel', task.id, 1);
      expect(order).toEqual({ kind: 'cancel', taskId: task.id, attempt: 1 });
      const again = await refusal(rpc.request(taskSubjects.cancel, { actor: alice, taskId: task.id }));
      expect(again).toMatchObject({ code: 'CONFLICT', message: 'task already finished' });
      // The agent confirms the cancel: nothing more is recorded.
      await reportFinished(w, task.id, 1, 'cancelled');
      await settled(alice, [task.id]);
      expect(typesOf(await history(alice, task.id)).at(-1)).toBe('TaskCancelled');
    });
  });

  describe('when another user asks for a task', () => {
    it('answers NOT_FOUND to every command and query, and lists none of it', async () => {
      const alice = user('alice');
      const bob = user('bob');
      const task = await create(alice);
      const ref = { actor: bob, taskId: task.id };
      for (const [subject, body] of [
        [taskSubjects.get, ref],
        [taskSubjects.history, ref],
        [taskSubjects.cancel, ref],
        [taskSubjects.retry, ref],
        [taskSubjects.delete, ref],
        [taskSubjects.update, { ...ref, patch: { priority: 1 } }],
      ] as const) {
        expect({ subject, code: (await refusal(rpc.request(subject, body))).code }).toEqual({ subject, code: 'NOT_FOUND' });
      }
      await until('alice sees her task listed', async () => (await list(alice)).items.some((t) => t.id === task.id));
      expect((await list(bob)).items).toEqual([]);
      expect((await refusal(get(alice, newId()))).code).toBe('NOT_FOUND');
      expect(await get(alice, task.id)).toMatchObject({ status: 'queued' });
    });
  });

  describe('when its worker goes offline', () => {
    it('requeues every task the worker held as attempt 2 after a backoff, tells the worker to stop, fences the lost attempt, and leaves work given after a worker came back', async () => {
      const alice = user('alice');
      const lost = workerId('lost');
      const healthy = workerId('healthy');
      const assigned = await assignedTask(alice, lost);
      const running = await assignedTask(alice, lost, { started: true });
      const elsewhere = await assignedTask(alice, healthy, { started: true });
      await until('the running task in task_view', async () => (await list(alice, { status: 'running', workerId: lost })).items.length === 1);

      // Handled in stream order, so by the time `lost`'s tasks are requeued this one is handled
      // too: `healthy` went offline a minute ago and came back before it got its task.
      await workerWentOffline(healthy, new Date(Date.now() - 60_000));
      await workerWentOffline(lost);
      // A decision that arrives inside the requeue backoff is held until the backoff ends, not dropped.
      const requeuedEvents = await withEvent(alice, running.id, 'TaskRequeued');
      await decide(running.id, 2, healthy);
      const notBefore = Date.parse(String(requeuedEvents.at(-1)!.data.notBefore));
      const reassigned = await withEvent(alice, running.id, 'TaskAssigned', 2);
      expect(Date.parse(reassigned.filter((e) => e.type === 'TaskAssigned').at(-1)!.occurredAt)).toBeGreaterThanOrEqual(notBefore);
      await orderOf(healthy, 'assign', running.id, 2);

      for (const task of [assigned, running]) {
        const events = await withEvent(alice, task.id, 'TaskRequeued');
        const requeued = events.find((e) => e.type === 'TaskRequeued')!;
        expect(requeued.data).toEqual({ taskId: task.id, fromAttempt: 1, reason: 'worker-lost', workerId: lost });
        const queued = events[events.indexOf(requeued) + 1]!;
        expect(queued.type).toBe('TaskQueued');
        expect(queued.data).toMatchObject({ attempt: 2, reason: 'requeued' });
        expect(Date.parse(String(queued.data.notBefore)) - Date.parse(queued.occurredAt)).toBe(1_000);
        await orderOf(lost, 'cancel', task.id, 1);
      }
      expect(await get(alice, assigned.id)).toMatchObject({ status: 'queued', attempt: 2, workerId: null });
      expect(await get(alice, running.id)).toMatchObject({ status: 'assigned', attempt: 2, workerId: healthy });
      expect(await get(alice, elsewhere.id)).toMatchObject({ status: 'running', workerId: healthy });

      // The lost worker's late result for attempt 1 is fenced off.
      await reportFinished(lost, running.id, 1, 'succeeded');
      const fenced = await withEvent(alice, running.id, 'TaskReportRejected');
      expect(fenced.at(-1)!.data).toMatchObject({ attempt: 1, currentAttempt: 2, workerId: lost });
      expect(await get(alice, running.id)).toMatchObject({ status: 'assigned', attempt: 2, workerId: healthy });
    });
  });

  describe('when a lease expires', () => {
    it('requeues a task whose worker never reported started', async () => {
      const alice = user('alice');
      const w = workerId('silent');
      const task = await assignedTask(alice, w);
      const events = await withEvent(alice, task.id, 'TaskRequeued', 1, LEASE_MS + 5_000);
      const assignedAt = Date.parse(events.find((e) => e.type === 'TaskAssigned')!.occurredAt);
      const requeued = events.find((e) => e.type === 'TaskRequeued')!;
      expect(requeued.data).toMatchObject({ reason: 'lease-expired', fromAttempt: 1, workerId: w });
      expect(Date.parse(requeued.occurredAt) - assignedAt).toBeGreaterThanOrEqual(LEASE_MS);
      expect(await get(alice, task.id)).toMatchObject({ status: 'queued', attempt: 2 });
    });
  });

  describe('when a task waits or runs too long', () => {
    it('times out a task queued longer than its queueTimeoutSeconds', async () => {
      const alice = user('alice');
      const task = await create(alice, { queueTimeoutSeconds: 1 });
      const events = await withEvent(alice, task.id, 'TaskTimedOut', 1, 5_000);
      expect(events.at(-1)!.data).toEqual({ taskId: task.id, attempt: 1, kind: 'queue', workerId: null });
      expect(Date.parse(events.at(-1)!.occurredAt) - Date.parse(task.createdAt)).toBeGreaterThanOrEqual(1_000);
      expect(await get(alice, task.id)).toMatchObject({ status: 'timed_out' });
    });

    it('times out a task running past timeoutSeconds plus the grace, and tells its worker to stop', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await assignedTask(alice, w, { started: true, task: { timeoutSeconds: 1 } });
      const events = await withEvent(alice, task.id, 'TaskTimedOut', 1, 6_000);
      expect(events.at(-1)!.data).toEqual({ taskId: task.id, attempt: 1, kind: 'run', workerId: w });
      expect(Date.parse(events.at(-1)!.occurredAt) - Date.parse(task.startedAt!)).toBeGreaterThanOrEqual(2_000);
      await orderOf(w, 'cancel', task.id, 1);
    });
  });

  describe('when its owner updates, retries or deletes it', () => {
    it('updates only a queued task, retries a finished one as the next attempt, and deletes only a finished one', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const task = await create(alice, { priority: 10 });
      expect(await rpc.request(taskSubjects.update, { actor: alice, taskId: task.id, patch: { priority: 90, description: 'say hi louder' } })).toMatchObject({
        priority: 90,
        description: 'say hi louder',
      });
      await decide(task.id, 1, w);
      await withEvent(alice, task.id, 'TaskAssigned');
      const late = await refusal(rpc.request(taskSubjects.update, { actor: alice, taskId: task.id, patch: { priority: 1 } }));
      expect(late).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('task that is assigned') });

      expect((await refusal(rpc.request(taskSubjects.delete, { actor: alice, taskId: task.id }))).code).toBe('CONFLICT');
      expect((await refusal(rpc.request(taskSubjects.retry, { actor: alice, taskId: task.id }))).code).toBe('CONFLICT');
      await rpc.request(taskSubjects.cancel, { actor: alice, taskId: task.id });
      expect(await rpc.request(taskSubjects.retry, { actor: alice, taskId: task.id })).toMatchObject({ status: 'queued', attempt: 2, workerId: null });
      await rpc.request(taskSubjects.cancel, { actor: alice, taskId: task.id });
      expect(await rpc.request(taskSubjects.delete, { actor: alice, taskId: task.id })).toEqual({ taskId: task.id, deleted: true });

      expect((await refusal(get(alice, task.id))).code).toBe('NOT_FOUND');
      expect((await refusal(history(alice, task.id))).code).toBe('NOT_FOUND');
      const other = await create(alice);
      await until('the other task listed', async () => (await list(alice)).items.some((t) => t.id === other.id));
      await until('the deleted task gone from the list', async () => !(await list(alice)).items.some((t) => t.id === task.id));
    });
  });

  describe('when a worker polls instead of holding a connection', () => {
    it('hands it its oldest assigned task as an Assignment until it reports started, then the next, then nothing', async () => {
      const alice = user('alice');
      const w = workerId('poller');
      const pull = () => rpc.request<Assignment | null>(taskSubjects.pull, { workerId: w });
      expect(await pull()).toBeNull();
      const first = await assignedTask(alice, w, { task: { description: 'first' } });
      const second = await assignedTask(alice, w, { task: { description: 'second' } });
      const next = await until('the first task pullable', async () => {
        const offered = await pull();
        return offered?.taskId === first.id ? offered : undefined;
      });
      expect(next).toMatchObject({ kind: 'assign', taskId: first.id, attempt: 1, tool: 'shell', description: 'first', heartbeatTimeoutSeconds: 30 });
      await reportStarted(w, first.id);
      await until('the second task next', async () => (await pull())?.taskId === second.id);
      await reportStarted(w, second.id);
      await until('nothing left to pull', async () => (await pull()) === null);
    });
  });

  describe('when its owner lists tasks', () => {
    it('filters by status, tool, worker, text and creation time, sorts both ways, and pages with an opaque cursor', async () => {
      const carol = user('carol');
      const w = workerId('w');
      const specs = [
        { description: 'alpha one', priority: 10 },
        { description: 'beta two', priority: 50, tool: 'ollama', input: { prompt: 'x' } },
        { description: 'ALPHA three', priority: 90 },
        { description: '100% done', priority: 50 },
        { description: '100 percent', priority: 30, tool: 'ollama', input: { prompt: 'y' } },
      ];
      const created: TaskView[] = [];
      for (const spec of specs) created.push(await create(carol, spec));
      await decide(created[2]!.id, 1, w);
      await withEvent(carol, created[2]!.id, 'TaskAssigned');
      await until('all five listed, one assigned', async () => {
        const page = await list(carol, { status: 'assigned' });
        return page.items.length === 1 && (await list(carol)).items.length === 5;
      });
      const ids = async (q: Record<string, unknown>) => (await list(carol, q)).items.map((t) => t.id);
      const byIndex = (...i: number[]) => i.map((n) => created[n]!.id);

      expect(await ids({ sort: 'created' })).toEqual(byIndex(0, 1, 2, 3, 4));
      expect(await ids({})).toEqual(byIndex(4, 3, 2, 1, 0));
      expect(await ids({ status: 'assigned' })).toEqual(byIndex(2));
      expect(await ids({ status: 'queued,assigned', sort: 'created' })).toEqual(byIndex(0, 1, 2, 3, 4));
      expect(await ids({ status: ['queued'], sort: 'created' })).toEqual(byIndex(0, 1, 3, 4)); // as a caller that parsed the query sends it
      expect(await ids({ tool: 'ollama', sort: 'created' })).toEqual(byIndex(1, 4));
      expect(await ids({ workerId: w })).toEqual(byIndex(2));
      expect(await ids({ q: 'alpha', sort: 'created' })).toEqual(byIndex(0, 2));
      expect(await ids({ q: '100%' })).toEqual(byIndex(3));
      expect(await ids({ createdFrom: created[3]!.createdAt, sort: 'created' })).toEqual(byIndex(3, 4));
      expect(await ids({ createdTo: created[1]!.createdAt, sort: 'created' })).toEqual(byIndex(0, 1));

      // Pages of 2 by priority, highest first; ties broken by id in the same direction.
      const expected = [...created].sort((a, b) => b.priority - a.priority || (a.id < b.id ? 1 : -1)).map((t) => t.id);
      const seen: string[] = [];
      let cursor: string | null | undefined;
      let pages = 0;
      do {
        const page: TaskPage = await list(carol, { sort: '-priority', limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((t) => t.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(expected);
      expect(pages).toBe(3);
      const ascending = await ids({ sort: 'priority' });
      expect(ascending).toEqual([...created].sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : 1)).map((t) => t.id));

      const firstPage = await list(carol, { sort: '-priority', limit: 2 });
      expect((await refusal(list(carol, { sort: 'created', cursor: firstPage.nextCursor }))).message).toMatch(/cursor belongs to sort=-priority/);
      expect((await refusal(list(carol, { cursor: 'not-a-cursor' }))).code).toBe('VALIDATION_FAILED');
      expect((await refusal(list(carol, { limit: 201 }))).code).toBe('VALIDATION_FAILED');
    });
  });

  describe('when a workflow run schedules and cancels nodes', () => {
    const nodeTask = {
      description: 'build the node',
      tool: 'shell',
      input: { command: 'make' },
      priority: 60,
      timeoutSeconds: 120,
      maxAttempts: 2,
      requirements: { antiAffinity: 'group-1' },
    };
    /** A run's NodeScheduled, as its relay publishes it: msg id = event id, subject keyed by the run. */
    function nodeScheduled(runId: string, owner: Actor, taskId: string, nodeId = 'build'): Envelope {
      return envelope('NodeScheduled', `run-${runId}`, { runId, nodeId, iteration: 0, generation: 1, taskId, ownerId: owner.userId, task: nodeTask });
    }
    const nodeCancelled = (runId: string, owner: Actor, taskId: string | null) =>
      envelope('NodeCancelled', `run-${runId}`, { runId, nodeId: 'build', iteration: 0, taskId, ownerId: owner.userId, reason: 'run cancelled' });
    const publishRunEvent = (event: Envelope) => publishEvent(js, eventSubject('workflows', event.type, String(event.data.runId)), event);
    /** The same event again under another msg id: a republish after the duplicate window, which JetStream lets through. */
    const republish = (event: Envelope) =>
      js.publish(eventSubject('workflows', event.type, String(event.data.runId)), JSON.stringify(event), { msgID: newId() });
    const nodeTaskId = () => `node-${newId()}`;

    it('creates exactly one task with the derived id, for the run owner, carrying the run and node — however often the event comes, also across a restart', async () => {
      const alice = user('alice');
      const runId = newId();
      const taskId = nodeTaskId();
      const event = nodeScheduled(runId, alice, taskId);
      await publishRunEvent(event);
      await publishRunEvent(event); // deduplicated by the stream (msg id)
      await republish(event); // delivered a second time
      const view = await until('the node task', () => get(alice, taskId).catch(() => undefined));
      expect(view).toMatchObject({
        id: taskId,
        ownerId: alice.userId,
        status: 'queued',
        attempt: 1,
        description: 'build the node',
        tool: 'shell',
        input: { command: 'make' },
        priority: 60,
        timeoutSeconds: 120,
        maxAttempts: 2,
        requirements: { antiAffinity: 'group-1' },
        workflow: { runId, nodeId: 'build', iteration: 0, generation: 1 },
      });
      await settled(alice, [taskId]);
      const events = await history(alice, taskId);
      expect(typesOf(events)).toEqual(['TaskCreated', 'TaskQueued']);
      // The run's correlation carries on into the task; the node event is its cause.
      expect(events[0]!.metadata).toMatchObject({ correlationId: event.metadata.correlationId, causationId: event.id });

      await service.stop();
      await republish(event);
      service = await startTasks();
      await settled(alice, [taskId]);
      expect(typesOf(await history(alice, taskId))).toEqual(['TaskCreated', 'TaskQueued']);
      expect((await list(alice)).items.filter((t) => t.id === taskId)).toHaveLength(1);
      // A later node execution has its own id and its own task.
      const next = nodeTaskId();
      await publishRunEvent({ ...nodeScheduled(runId, alice, next), data: { ...nodeScheduled(runId, alice, next).data, generation: 2 } });
      expect(await until('the next node task', () => get(alice, next).catch(() => undefined))).toMatchObject({ workflow: { generation: 2 } });
    }, 60_000);

    it('acks the run’s other events, a malformed one and a node whose ids cannot name a subject, without creating or redelivering anything', async () => {
      const alice = user('alice');
      const runId = newId();
      await publishRunEvent(envelope('NodeSkipped', `run-${runId}`, { runId, nodeId: 'n', iteration: 0, reason: 'condition false' }));
      await publishRunEvent(envelope('NodeScheduled', `run-${runId}`, { runId, nodeId: 'n' })); // no task
      await publishRunEvent(nodeScheduled(runId, alice, 'not.a.token'));
      await publishRunEvent(nodeScheduled(runId, alice, 'x'.repeat(65)));
      const good = nodeTaskId();
      await publishRunEvent(nodeScheduled(runId, alice, good));
      await until('the good node task', () => get(alice, good).catch(() => undefined));
      await settled(alice, [good]);
      const info = await jsm.consumers.info('WORKFLOWS', 'tasks-workflow-nodes');
      expect(info.num_redelivered).toBe(0);
      expect(await jsm.streams.getMessage('DLQ', { last_by_subj: 'dlq.WORKFLOWS.tasks-workflow-nodes' }).catch(() => null)).toBeNull();
      const streams = await query<{ stream_id: string }>(`select distinct stream_id from event_store.events where data->>'ownerId' = '${alice.userId}'`);
      expect(streams.map((r) => r.stream_id)).toEqual([`task-${good}`]);
    });

    it('cancels the node task on NodeCancelled and tells its worker, and ignores a NodeCancelled of another run or naming no task', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const runId = newId();
      const taskId = nodeTaskId();
      await publishRunEvent(nodeScheduled(runId, alice, taskId));
      await until('the node task', () => get(alice, taskId).catch(() => undefined));
      await decide(taskId, 1, w);
      await orderOf(w, 'assign', taskId, 1);

      await publishRunEvent(nodeCancelled(newId(), alice, taskId)); // another run naming our task
      await publishRunEvent(nodeCancelled(runId, alice, null)); // a node that had no task
      await settled(alice, [taskId]);
      expect(await get(alice, taskId)).toMatchObject({ status: 'assigned', workerId: w });

      await publishRunEvent(nodeCancelled(runId, alice, taskId));
      const events = await withEvent(alice, taskId, 'TaskCancelled');
      expect(events.at(-1)!.data).toEqual({ taskId, attempt: 1, workerId: w, byUserId: `run:${runId}`, runId });
      expect((await orderOf(w, 'cancel', taskId, 1)).order).toEqual({ kind: 'cancel', taskId, attempt: 1 });
      await publishRunEvent(nodeCancelled(runId, alice, taskId)); // again: already cancelled, nothing more
      await settled(alice, [taskId]);
      expect(typesOf(await history(alice, taskId))).toEqual(['TaskCreated', 'TaskQueued', 'TaskAssigned', 'TaskCancelled']);
      expect((await relayedOf(taskId)).at(-1)!.subject).toBe(`tasks.events.task-cancelled.${taskId}.${runId}`);
    });

    it('runs the node task like any other — same work order, same reports — and relays its started and terminal events with the run id as the last token', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const runId = newId();
      const taskId = nodeTaskId();
      await publishRunEvent(nodeScheduled(runId, alice, taskId));
      await until('the node task', () => get(alice, taskId).catch(() => undefined));
      const plain = await create(alice, { description: 'not in a run' });
      for (const id of [taskId, plain.id]) await decide(id, 1, w);
      const { order } = await orderOf(w, 'assign', taskId, 1);
      expect(order).toEqual<Assignment>({
        kind: 'assign',
        taskId,
        attempt: 1,
        tool: 'shell',
        input: { command: 'make' },
        description: 'build the node',
        timeoutSeconds: 120,
        heartbeatTimeoutSeconds: 30,
        ownerId: alice.userId,
      });
      await orderOf(w, 'assign', plain.id, 1);
      const output = { steps: [1, 2] };
      for (const id of [taskId, plain.id]) {
        await reportStarted(w, id);
        await until(`${id} running`, async () => (await get(alice, id)).status === 'running');
        await reportFinished(w, id, 1, 'succeeded', { exitCode: 0, outputTail: 'ok\n', durationMs: 5, output });
      }
      for (const id of [taskId, plain.id]) {
        const done = await until(`${id} succeeded`, async () => {
          const view = await get(alice, id);
          return view.status === 'succeeded' ? view : undefined;
        });
        expect(done.result).toEqual({ exitCode: 0, outputTail: 'ok\n', durationMs: 5, output });
      }
      await settled(alice, [taskId, plain.id]);
      expect((await relayedOf(taskId)).map((m) => m.subject)).toEqual([
        `tasks.events.task-created.${taskId}`,
        `tasks.events.task-queued.${taskId}`,
        `tasks.events.task-assigned.${taskId}`,
        `tasks.events.task-started.${taskId}.${runId}`,
        `tasks.events.task-succeeded.${taskId}.${runId}`,
      ]);
      expect((await relayedOf(plain.id)).map((m) => m.subject)).toEqual(
        ['task-created', 'task-queued', 'task-assigned', 'task-started', 'task-succeeded'].map((e) => `tasks.events.${e}.${plain.id}`),
      );
      // What the workflows service consumes: its tasks' events, and no plain task's.
      const runFilter = (await streamMessages('TASKS', 'tasks.events.*.*.*')).map((m) => m.subject);
      expect(runFilter).toEqual(expect.arrayContaining([`tasks.events.task-started.${taskId}.${runId}`, `tasks.events.task-succeeded.${taskId}.${runId}`]));
      expect(runFilter.filter((subject) => subject.includes(plain.id))).toEqual([]);
      expect((await streamMessages('TASKS', `tasks.events.task-succeeded.${taskId}.${runId}`))[0]!.json<Envelope>().data).toMatchObject({
        runId,
        result: { output },
      });
    });
  });

  describe('when the service restarts mid-flow', () => {
    it('handles everything published while it was down, each exactly once', async () => {
      const alice = user('alice');
      const w = workerId('w');
      const a = await create(alice);
      const b = await create(alice);
      const c = await assignedTask(alice, w, { started: true });
      await settled(alice, [a.id, b.id, c.id]);

      await service.stop();
      const decisionA = await decide(a.id, 1, w);
      await decide(a.id, 1, w, decisionA);
      await decide(a.id, 1, w);
      await decide(b.id, 1, w);
      await reportFinished(w, c.id, 1, 'succeeded');
      await reportFinished(w, c.id, 1, 'succeeded');
      await workerWentOffline(workerId('unrelated'));
      service = await startTasks();

      await withEvent(alice, a.id, 'TaskAssigned');
      await withEvent(alice, b.id, 'TaskAssigned');
      await withEvent(alice, c.id, 'TaskSucceeded');
      await settled(alice, [a.id, b.id, c.id]);
      for (const task of [a, b]) {
        expect(typesOf(await history(alice, task.id))).toEqual(['TaskCreated', 'TaskQueued', 'TaskAssigned']);
        expect((await ordersFor(w)).filter(({ order }) => order.taskId === task.id)).toHaveLength(1);
      }
      expect(typesOf(await history(alice, c.id))).toEqual(['TaskCreated', 'TaskQueued', 'TaskAssigned', 'TaskStarted', 'TaskSucceeded']);
      expect((await ordersFor(w)).filter(({ order }) => order.taskId === c.id)).toHaveLength(1);
    }, 60_000);
  });

  describe('when task_view is rebuilt from the event store (replay)', () => {
    it('equals the live one', async () => {
      // Each owner's unfinished count (owner_active, kept by the runner) is task_view's own count.
      const counted = `select owner_id, count(*)::int as active from task_view
        where status in ('queued', 'assigned', 'running') and not deleted group by owner_id order by owner_id`;
      const kept = 'select owner_id, active from owner_active where active <> 0 order by owner_id';
      expect((await query(counted)).length).toBeGreaterThan(0);
      await until('owner_active agrees with task_view', async () => JSON.stringify(await query(kept)) === JSON.stringify(await query(counted)));
      // Quiesce: end every task still in flight so no timer changes the model mid-comparison.
      for (const actor of actors) {
        for (const task of (await list(actor, { status: 'queued,assigned,running', limit: 200 })).items) {
          await rpc.request(taskSubjects.cancel, { actor, taskId: task.id }).catch(() => undefined);
        }
      }
      const head = async () => (await query<{ p: string | null }>('select max(position)::text as p from event_store.events'))[0]!.p;
      const checkpoint = async () =>
        (await query<{ p: string }>(`select position::text as p from event_store.checkpoints where name = 'projection:task_view'`))[0]?.p;
      await until('task_view caught up with the store', async () => (await head()) === (await checkpoint()));
      const live = await query('select * from task_view order by id');
      expect(live.length).toBeGreaterThan(20);
      // An owner whose count went back to 0 keeps a row live; a rebuild folding a task's whole life
      // in one batch may not write one: the counts compared are those that are not 0.
      const liveActive = await query(kept);
      expect(liveActive).toEqual(await query(counted));

      const out = execFileSync(process.execPath, [join(repoRoot, 'services', 'tasks', 'dist', 'replay.js')], {
        env: { ...process.env, DATABASE_URL: databaseUrl },
        encoding: 'utf8',
      });
      expect(out).toMatch(/task_view rebuilt from the event store: \d+ row\(s\)/);
      expect(await query('select * from task_view order by id')).toEqual(live);
      expect(await query(kept)).toEqual(liveActive);
    });
  });
});
