#!/usr/bin/env node
// The floor: what the task protocol costs at its leanest, against BullMQ in the same run.
// Same hops and the same guarantees as Agentyard — every state change a durable Postgres commit
// (fsync on) before it is published, every hop between roles a JetStream message (file storage,
// explicit acks), reports fenced by their attempt — but none of the platform's code: no NestJS,
// no HTTP gateway, no validation, no kysely, no relay read-back, all roles in this one process on
// raw `pg` and nats.js, and every write group-committed (one multi-row INSERT per batch). So its
// figures bound from above what any implementation of the protocol can reach on this machine.
// v1, the brief's protocol (today's platform):
//   tasks:      create → append TaskCreated + TaskQueued → publish both on TASKS
//   allocation: consume TASKS; a queued task is decided in memory (no query) → append
//               AllocationDecided → publish on ALLOCATION; a succeeded task frees its slot
//   tasks:      consume ALLOCATION → append TaskAssigned → publish it on TASKS and the
//               assignment on WORK (`work.assign.<worker>`)
//   agents:     consume their assignment subject → publish started and finished reports on WORK
//   tasks:      consume the reports → append TaskStarted / TaskSucceeded and upsert task_view in
//               one transaction → publish both on TASKS
// v2, issue #14's shorter path — allocation's committed decision *is* the assignment:
//   allocation: as v1, but AllocationDecided carries the task's tool and input (from TaskCreated;
//               secrets are references the agent resolves) and is published as the assignment on
//               `work.assign.<worker>` (and, for auditors, the decision record on ALLOCATION) — one
//               durable commit and one JetStream hop fewer before the agent starts
//   tasks:      ONE ordered consumer of WORK (`work.>`): an assignment → TaskAssigned (recorded
//               while the agent starts, and always before that attempt's reports, which follow it
//               in the stream), a report → TaskStarted / TaskSucceeded, or TaskReportRejected when
//               its attempt or worker is not the recorded one
//   cancel:     a task tasks still sees queued is not cancelled by tasks alone — only allocation
//               knows whether it decided: tasks records TaskCancelRequested; allocation withdraws
//               the task if undecided (AllocationWithdrawn, published on `work.withdrawn.<task>`
//               → tasks: TaskCancelled, it never reaches an agent), and if it had decided, the
//               assignment wins: tasks records TaskAssigned, then TaskCancelled, and sends a cancel
//               order behind the assignment (a cancel of an assigned task, as in v1)
// Measures, per protocol: dispatch latency (create called → agent started) one task at a time and
// at a steady RATE, sustained tasks/s over BURST (until task_view shows all succeeded), the CPU per
// task of this process + this run's postgres and nats-server; then a fence check (tasks cancelled
// at random moments, forged reports) that fails the run when a guarantee is broken.
// Usage: node bench/tasks/floor.mjs
//   (env: PROTOCOL=v1,v2 ROUNDS=2 CHECK=1 RATE=200 SECONDS=10 BURST=5000 WORKERS=2 SLOTS=8)
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { root, sleep } from './bench-platform.mjs';
import { benchBullmq, paced, pct } from './bullmq-peer.mjs';

const require = createRequire(import.meta.url);
const infra = require(join(root, 'services/libs/local-infra/dist/index.js'));
const pg = require('pg');
const { connect, nanos } = require('@nats-io/transport-node');
const { jetstream, jetstreamManager, AckPolicy, StorageType, RetentionPolicy } = require('@nats-io/jetstream');

const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 10);
const BURST = Number(process.env.BURST ?? 5000);
const WORKERS = Number(process.env.WORKERS ?? 2);
const SLOTS = Number(process.env.SLOTS ?? 8);
const PROTOCOLS = (process.env.PROTOCOL ?? 'v1,v2').split(',');
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CHECK = process.env.CHECK !== '0';

/** Group commit: rows appended while a commit runs go in the next one, one statement each. */
class Appender {
  constructor(pool) {
    this.pool = pool;
    this.waiting = [];
    this.running = false;
  }
  /** `events`: [{ streamId, version, type, data }]; `view`: task_view rows to upsert with them. */
  append(events, view = []) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, view, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.flush());
      }
    });
  }
  async flush() {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      const events = batch.flatMap((b) => b.events);
      // One row per task (a no-op's started and succeeded often share a batch): the later status, any start.
      const byId = new Map();
      for (const v of batch.flatMap((b) => b.view)) byId.set(v.id, { ...v, startedAt: v.startedAt ?? byId.get(v.id)?.startedAt });
      const view = [...byId.values()];
      const client = await this.pool.connect();
      try {
        await client.query('begin');
        await client.query(
          `insert into events (stream_id, stream_version, event_id, type, data)
             select * from unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::jsonb[])`,
          [
            events.map((e) => e.streamId),
            events.map((e) => e.version),
            events.map(() => randomUUID()),
            events.map((e) => e.type),
            events.map((e) => JSON.stringify(e.data)),
          ],
        );
        if (view.length > 0) {
          await client.query(
            `insert into task_view (id, status, started_at) select * from unnest($1::uuid[], $2::text[], $3::timestamptz[])
               on conflict (id) do update set status = excluded.status, started_at = coalesce(excluded.started_at, task_view.started_at)`,
            [view.map((v) => v.id), view.map((v) => v.status), view.map((v) => v.startedAt ?? null)],
          );
        }
        await client.query('commit');
        for (const b of batch) b.resolve();
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        for (const b of batch) b.reject(error);
      } finally {
        client.release();
      }
    }
    this.running = false;
  }
}

/** Feeds `handle` the messages of a durable consumer in batches (what arrived while the last ran), then acks them. */
async function consumeBatches(js, stream, durable, handle) {
  const consumer = await js.consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: 512 });
  let queued = [];
  let running = false;
  const drain = async () => {
    while (queued.length > 0) {
      const batch = queued;
      queued = [];
      await handle(batch.map((m) => ({ subject: m.subject, body: m.json() })));
      for (const m of batch) m.ack();
    }
    running = false;
  };
  void (async () => {
    for await (const m of messages) {
      queued.push(m);
      if (!running) {
        running = true;
        setImmediate(() => void drain());
      }
    }
  })();
  return messages;
}

/**
 * tasks' side of the protocol, pure and in memory (what the platform's StateCache folds): each
 * task's version, status, attempt and worker. Every step returns the events to append, the
 * task_view rows to upsert with them and the messages to publish once they are committed.
 * Fencing as in the platform: a report whose attempt or worker is not the one recorded becomes
 * TaskReportRejected and changes nothing.
 */
function taskBook(protocol) {
  const book = new Map(); // taskId → { version, status, attempt, workerId, data, cancelRequested }
  const step = () => ({ events: [], view: [], publish: [] });
  const record = (out, t, type, data) => {
    out.events.push({ streamId: `task-${data.taskId}`, version: ++t.version, type, data });
    out.publish.push([`tasks.events.${data.taskId}`, { type, ...data }]);
  };
  const cancelOrder = (out, t, taskId) => out.publish.push([`work.assign.${t.workerId}`, { kind: 'cancel', taskId, attempt: t.attempt }]);
  return {
    get: (taskId) => book.get(taskId),
    created(data) {
      const out = step();
      const t = { version: 0, status: 'queued', attempt: 1, data };
      book.set(data.taskId, t);
      record(out, t, 'TaskCreated', data);
      record(out, t, 'TaskQueued', { taskId: data.taskId, attempt: 1 });
      out.view.push({ id: data.taskId, status: 'queued' });
      return out;
    },
    /** v1: allocation's decision; v2: the assignment allocation already sent to the worker. */
    assigned({ taskId, attempt, workerId }) {
      const out = step();
      const t = book.get(taskId);
      if (t.status !== 'queued' || t.attempt !== attempt) {
        // v1: cancelled meanwhile, nothing was sent. v2 never gets here (a queued task is withdrawn by allocation, not cancelled by tasks).
        if (protocol === 'v2') cancelOrder(out, { ...t, workerId }, taskId);
        return out;
      }
      Object.assign(t, { status: 'assigned', workerId });
      record(out, t, 'TaskAssigned', { taskId, attempt, workerId });
      if (protocol === 'v1') out.publish.push([`work.assign.${workerId}`, { kind: 'assign', attempt, workerId, ...t.data }]);
      if (t.cancelRequested) {
        // v2: the cancel came after allocation's decision: a cancel of an assigned task, as in v1 (the order follows the assignment).
        t.status = 'cancelled';
        record(out, t, 'TaskCancelled', { taskId, fromStatus: 'assigned' });
        cancelOrder(out, t, taskId);
        out.view.push({ id: taskId, status: 'cancelled' });
      }
      return out;
    },
    /** v2: allocation withdrew a task it had not decided: it never reaches a worker. */
    withdrawn({ taskId }) {
      const out = step();
      const t = book.get(taskId);
      if (t.status !== 'queued') return out;
      t.status = 'cancelled';
      record(out, t, 'TaskCancelled', { taskId, fromStatus: 'queued' });
      out.view.push({ id: taskId, status: 'cancelled' });
      return out;
    },
    report(r) {
      const out = step();
      const t = book.get(r.taskId);
      const current = t && t.attempt === r.attempt && t.workerId === r.workerId && (t.status === 'assigned' || t.status === 'running');
      if (!current) {
        if (t) record(out, t, 'TaskReportRejected', { taskId: r.taskId, attempt: r.attempt, workerId: r.workerId, kind: r.kind });
        return out;
      }
      const started = r.kind === 'started';
      t.status = started ? 'running' : 'succeeded';
      record(out, t, started ? 'TaskStarted' : 'TaskSucceeded', r);
      out.view.push({ id: r.taskId, status: t.status, startedAt: started ? new Date(r.at).toISOString() : null });
      return out;
    },
    cancel(taskId) {
      const out = step();
      const t = book.get(taskId);
      if (t.status === 'queued' && protocol === 'v2') {
        // Only allocation knows whether it decided already: it withdraws the task or its assignment wins.
        if (!t.cancelRequested) record(out, t, 'TaskCancelRequested', { taskId });
        t.cancelRequested = true;
      } else if (t.status === 'queued' || t.status === 'assigned' || t.status === 'running') {
        const fromStatus = t.status;
        t.status = 'cancelled';
        record(out, t, 'TaskCancelled', { taskId, fromStatus });
        if (fromStatus !== 'queued') cancelOrder(out, t, taskId);
        out.view.push({ id: taskId, status: 'cancelled' });
      }
      return out;
    },
  };
}

/**
 * One run of `protocol` on fresh servers: 'v1' is the brief's (tasks assigns after allocation's
 * decision), 'v2' the issue's shorter path (allocation's decision is the assignment).
 */
async function startFloor(natsUrl, pgUrl, protocol) {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`
    create table events (position bigserial primary key, stream_id text not null, stream_version int not null, event_id uuid not null unique,
      type text not null, data jsonb not null, occurred_at timestamptz not null default now(), unique (stream_id, stream_version));
    create table task_view (id uuid primary key, status text not null, created_at timestamptz not null default now(), started_at timestamptz);`);
  await admin.end();
  const pools = [new pg.Pool({ connectionString: pgUrl, max: 4 }), new pg.Pool({ connectionString: pgUrl, max: 2 })];
  const [tasksDb, allocationDb] = pools.map((pool) => new Appender(pool));

  // One connection per role, as separate services would have.
  const [tasksNc, allocationNc, agentsNc] = await Promise.all([1, 2, 3].map(() => connect({ servers: natsUrl, noAsyncTraces: true })));
  const jsm = await jetstreamManager(tasksNc);
  for (const [name, subjects] of [
    ['TASKS', ['tasks.events.>']],
    ['ALLOCATION', ['allocation.events.>']],
    ['WORK', ['work.>']],
  ]) {
    await jsm.streams.add({ name, subjects, storage: StorageType.File, retention: RetentionPolicy.Limits, duplicate_window: nanos(120_000) });
  }
  const durable = (stream, name, filter) =>
    jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit, filter_subject: filter, max_ack_pending: 10_000 });
  await durable('TASKS', 'allocation-tasks', 'tasks.events.>');
  if (protocol === 'v1') {
    await durable('ALLOCATION', 'tasks-decisions', 'allocation.events.>');
    await durable('WORK', 'tasks-reports', 'work.report.>');
  } else {
    // v2: assignments, withdrawals and reports in one ordered consumer, so an attempt's TaskAssigned is recorded before its reports are judged.
    await durable('WORK', 'tasks-work', 'work.>');
  }
  const workers = Array.from({ length: WORKERS }, (_, i) => ({ id: `w${i}`, free: SLOTS }));
  for (const w of workers) await durable('WORK', `agent-${w.id}`, `work.assign.${w.id}`);

  const tasksJs = jetstream(tasksNc);
  const allocationJs = jetstream(allocationNc);
  const agentsJs = jetstream(agentsNc);
  const publishAll = (js, messages) => Promise.all(messages.map(([subject, body]) => js.publish(subject, JSON.stringify(body), { msgID: randomUUID() })));
  const subs = [];
  const started = new Map(); // taskId → agent's start time (ms)
  const book = taskBook(protocol);
  /** tasks: the steps' events and view rows in one group commit, then their messages. */
  const commit = async (steps) => {
    const events = steps.flatMap((s) => s.events);
    if (events.length > 0)
      await tasksDb.append(
        events,
        steps.flatMap((s) => s.view),
      );
    await publishAll(
      tasksJs,
      steps.flatMap((s) => s.publish),
    );
  };

  // allocation: an in-memory queue and slot count, fed by TASKS.
  const pending = [];
  const inputs = new Map(); // v2: taskId → the task's tool and input (from TaskCreated), for the assignment
  const decidedOn = new Map(); // taskId → worker holding a slot for it
  subs.push(
    await consumeBatches(allocationJs, 'TASKS', 'allocation-tasks', async (batch) => {
      const withdrawn = [];
      for (const { body } of batch) {
        if (body.type === 'TaskCreated' && protocol === 'v2') inputs.set(body.taskId, body);
        if (body.type === 'TaskQueued') pending.push(body);
        if (body.type === 'TaskCancelRequested' && pending.some((q) => q.taskId === body.taskId)) {
          pending.splice(
            pending.findIndex((q) => q.taskId === body.taskId),
            1,
          );
          withdrawn.push(body.taskId);
        }
        if ((body.type === 'TaskSucceeded' || body.type === 'TaskCancelled') && decidedOn.has(body.taskId)) {
          workers.find((w) => w.id === decidedOn.get(body.taskId)).free++;
          decidedOn.delete(body.taskId);
        }
        if (body.type === 'TaskCancelled') pending.splice(0, pending.length, ...pending.filter((q) => q.taskId !== body.taskId));
      }
      const decided = [];
      while (pending.length > 0) {
        const best = workers.reduce((a, b) => (b.free > a.free ? b : a));
        if (best.free === 0) break;
        best.free--;
        const { taskId, attempt } = pending.shift();
        decidedOn.set(taskId, best.id);
        const candidates = workers.map((w) => ({
          workerId: w.id,
          eligible: true,
          scores: { match: 40, availability: Math.round((30 * w.free) / SLOTS), balance: 20, affinity: 0 },
        }));
        const d = { taskId, attempt, workerId: best.id, candidates };
        if (protocol === 'v2') {
          const { type, ...task } = inputs.get(taskId);
          void type;
          inputs.delete(taskId);
          // The decision carries the assignment: the task's tool and input (secrets stay references the agent resolves).
          d.assignment = { kind: 'assign', attempt, workerId: best.id, ...task };
        }
        decided.push(d);
      }
      if (decided.length + withdrawn.length === 0) return;
      await allocationDb.append([
        ...decided.map((d) => ({ streamId: `allocation-${d.taskId}`, version: 1, type: 'AllocationDecided', data: d })),
        ...withdrawn.map((taskId) => ({ streamId: `allocation-${taskId}`, version: 1, type: 'AllocationWithdrawn', data: { taskId } })),
      ]);
      // v2 publishes the decision record too (its candidates are for auditors and the dashboard, not for the agent):
      // as many messages as v1, beside the assignment rather than in series with it.
      await publishAll(allocationJs, [
        ...decided.flatMap(({ assignment, ...d }) => [
          ...(assignment ? [[`work.assign.${d.workerId}`, assignment]] : []),
          [`allocation.events.${d.taskId}`, { type: 'AllocationDecided', ...d }],
        ]),
        ...withdrawn.map((taskId) => [`work.withdrawn.${taskId}`, { kind: 'withdrawn', taskId }]),
      ]);
    }),
  );

  // tasks: v1 — decisions → TaskAssigned + the assignment, reports → TaskStarted / TaskSucceeded.
  // v2 — WORK in order: assignments → TaskAssigned, withdrawals → TaskCancelled, reports → fenced results.
  if (protocol === 'v1') {
    subs.push(await consumeBatches(tasksJs, 'ALLOCATION', 'tasks-decisions', (batch) => commit(batch.map(({ body }) => book.assigned(body)))));
    subs.push(await consumeBatches(tasksJs, 'WORK', 'tasks-reports', (batch) => commit(batch.map(({ body }) => book.report(body)))));
  } else {
    const onWork = { assign: book.assigned, withdrawn: book.withdrawn, started: book.report, finished: book.report };
    subs.push(
      await consumeBatches(tasksJs, 'WORK', 'tasks-work', (batch) =>
        // tasks' own cancel orders pass by on work.assign.* too: nothing to record.
        commit(batch.filter(({ body }) => onWork[body.kind]).map(({ body }) => onWork[body.kind](body))),
      ),
    );
  }

  // agents: started and finished at once (the no-op); a cancel order finds nothing left to stop.
  for (const w of workers) {
    subs.push(
      await consumeBatches(agentsJs, 'WORK', `agent-${w.id}`, async (batch) => {
        await publishAll(
          agentsJs,
          batch
            .filter(({ body }) => body.kind === 'assign')
            .flatMap(({ body }) => {
              const at = Date.now();
              started.set(body.taskId, at);
              const report = { taskId: body.taskId, attempt: body.attempt, workerId: w.id };
              return [
                [`work.report.${w.id}`, { kind: 'started', ...report, at }],
                [`work.report.${w.id}`, { kind: 'finished', ...report, at: Date.now(), exitCode: 0 }],
              ];
            }),
        );
      }),
    );
  }

  const create = async () => {
    const taskId = randomUUID();
    const createdAt = Date.now();
    await commit([book.created({ taskId, ownerId: 'bench', description: 'noop', tool: 'noop', input: {}, priority: 50 })]);
    return { taskId, createdAt };
  };
  const cancel = (taskId) => commit([book.cancel(taskId)]);
  /** A report no agent of this attempt sent (a late or foreign one): it must be rejected. */
  const forgeReport = (taskId) =>
    publishAll(agentsJs, [[`work.report.w0`, { kind: 'finished', taskId, attempt: 7, workerId: 'w0', at: Date.now(), exitCode: 0 }]]);
  const counter = new pg.Client({ connectionString: pgUrl });
  await counter.connect();
  const succeeded = async () => Number((await counter.query("select count(*)::int n from task_view where status = 'succeeded'")).rows[0].n);
  const eventsOf = async (ids) =>
    (await counter.query('select stream_id, type, data from events where stream_id = any($1) order by position', [ids.map((id) => `task-${id}`)])).rows;
  const stop = async () => {
    for (const s of subs) await s.close();
    await counter.end();
    await Promise.all([tasksNc, allocationNc, agentsNc].map((nc) => nc.close()));
    await Promise.all(pools.map((pool) => pool.end()));
  };
  return { create, cancel, forgeReport, started, succeeded, eventsOf, stop };
}

/**
 * What must hold whichever protocol runs: tasks cancelled at random moments right after their
 * creation — a cancel tasks (v1) or allocation (v2) decided before the assignment never reaches
 * an agent — and reports of an attempt nobody was given rejected. Returns the counts; `violations`
 * must be empty.
 */
async function fenceCheck(floor, count = 200) {
  const ids = [];
  await Promise.all(
    Array.from({ length: count }, async () => {
      const { taskId } = await floor.create();
      ids.push(taskId);
      await sleep(Math.random() * 40);
      await floor.cancel(taskId);
    }),
  );
  const forged = ids.slice(0, 20);
  await Promise.all(forged.map((id) => floor.forgeReport(id)));
  let byTask;
  const deadline = Date.now() + 20_000;
  for (;;) {
    byTask = new Map(ids.map((id) => [id, []]));
    for (const e of await floor.eventsOf(ids)) byTask.get(e.stream_id.slice(5)).push(e);
    const ended = (list) => list.some((e) => e.type === 'TaskCancelled' || e.type === 'TaskSucceeded');
    const rejected = forged.filter((id) => byTask.get(id).some((e) => e.type === 'TaskReportRejected' && e.data.attempt === 7)).length;
    if (([...byTask.values()].every(ended) && rejected === forged.length) || Date.now() > deadline) break;
    await sleep(100);
  }
  const violations = [];
  let beforeAssignment = 0;
  for (const [id, list] of byTask) {
    const cancelled = list.find((e) => e.type === 'TaskCancelled');
    if (!cancelled && !list.some((e) => e.type === 'TaskSucceeded')) violations.push(`${id}: neither cancelled nor succeeded`);
    if (cancelled?.data.fromStatus === 'queued') {
      beforeAssignment++;
      if (floor.started.has(id) || list.some((e) => e.type === 'TaskAssigned')) violations.push(`${id}: cancelled while queued, yet assigned or started`);
    }
  }
  const rejected = forged.filter((id) => byTask.get(id).some((e) => e.type === 'TaskReportRejected' && e.data.attempt === 7)).length;
  if (rejected !== forged.length) violations.push(`${forged.length - rejected} forged report(s) accepted or not judged`);
  return { count, beforeAssignment, afterAssignment: count - beforeAssignment, forged: forged.length, rejected, violations };
}

/** The pids of one run's servers: its nats-server, and its Postgres postmaster with every backend. */
function serverPids(nats, pgServer) {
  const master = Number(readFileSync(join(pgServer.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [nats.pid, master];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) pids.push(Number(pid));
    } catch {}
  }
  return pids;
}

/** CPU ticks (user + system) of `pids`, summed — only this run's servers: other work on the machine runs Postgres and nats-server too. */
function serverTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return total;
}

async function benchFloor(protocol) {
  const nats = await infra.startNatsServer();
  const pgServer = await infra.startPostgresServer({ ephemeral: false });
  const floor = await startFloor(nats.url, pgServer.url, protocol);
  try {
    // 1. one task at a time
    const idle = [];
    for (let i = 0; i < 30; i++) {
      const { taskId, createdAt } = await floor.create();
      while (!floor.started.has(taskId)) await sleep(1);
      idle.push(floor.started.get(taskId) - createdAt);
      await sleep(150);
    }
    // 2. at a steady RATE
    const steady = await paced(RATE * SECONDS, RATE, () => floor.create());
    while (steady.some((t) => !floor.started.has(t.taskId))) await sleep(20);
    const latency = steady.map((t) => floor.started.get(t.taskId) - t.createdAt);
    // 3. sustained: BURST as fast as 64 concurrent callers create them
    while ((await floor.succeeded()) < 30 + steady.length) await sleep(50);
    const before = await floor.succeeded();
    const pids = serverPids(nats, pgServer); // backends of the pools, all connected by now
    const cpu0 = process.cpuUsage();
    const ticks0 = serverTicks(pids);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < BURST) {
          next++;
          await floor.create();
        }
      }),
    );
    while ((await floor.succeeded()) < before + BURST) await sleep(20);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const nodeMs = (cpu.user + cpu.system) / 1000;
    const serverMs = (serverTicks(pids) - ticks0) * 10;
    // 4. after the measurements: the guarantees the protocol must keep
    const fence = CHECK ? await fenceCheck(floor) : undefined;
    return {
      protocol,
      idle,
      latency,
      throughput: BURST / seconds,
      cpuPerTaskMs: (nodeMs + serverMs) / BURST,
      nodePerTaskMs: nodeMs / BURST,
      serversPerTaskMs: serverMs / BURST,
      fence,
    };
  } finally {
    await floor.stop().catch(() => undefined);
    await nats.stop().catch(() => undefined);
    await pgServer.stop().catch(() => undefined);
  }
}

const bull = await benchBullmq({ rate: RATE, seconds: SECONDS, burst: BURST, workers: WORKERS, slots: SLOTS });
const bullIdle = await benchBullmq({ rate: 5, seconds: 6, burst: 100, workers: WORKERS, slots: SLOTS });
// BullMQ with Redis fsyncing every write (appendfsync always): durability nearer to ours.
const bullDurable = await benchBullmq({ rate: RATE, seconds: SECONDS, burst: BURST, workers: WORKERS, slots: SLOTS, durable: true });
// Rounds interleaved, in ABBA order, so a machine whose load drifts during the run favours neither protocol.
const runs = Object.fromEntries(PROTOCOLS.map((p) => [p, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const protocol of r % 2 === 0 ? PROTOCOLS : [...PROTOCOLS].reverse()) {
    process.stderr.write(`[floor] round ${r + 1}/${ROUNDS}: ${protocol}\n`);
    runs[protocol].push(await benchFloor(protocol));
  }
}

const ms = (x) => `${x.toFixed(1)} ms`;
const measures = [
  ['dispatch p50, one at a time', (f) => pct(f.idle, 50), ms, pct(bullIdle.latency, 50)],
  [`dispatch p50 at ${RATE}/s`, (f) => pct(f.latency, 50), ms, pct(bull.latency, 50)],
  [`dispatch p99 at ${RATE}/s`, (f) => pct(f.latency, 99), ms, pct(bull.latency, 99)],
  ['sustained tasks/s', (f) => f.throughput, (x) => x.toFixed(0), bull.throughput],
  ['CPU per task (node + postgres + nats-server)', (f) => f.cpuPerTaskMs, (x) => `${x.toFixed(2)} ms`, undefined],
];
const all = (p, get, fmt) => runs[p].map((f) => fmt(get(f))).join(' / ');
console.log(
  `floor of the task protocol (${PROTOCOLS.join(', ')}; ${ROUNDS} interleaved round(s)) vs BullMQ — workers=${WORKERS} slots=${SLOTS}, rate ${RATE}/s for ${SECONDS} s, burst ${BURST}, node ${process.version}`,
);
const paired = PROTOCOLS.includes('v1') && PROTOCOLS.includes('v2');
console.log(`| measure | ${PROTOCOLS.join(' | ')} |${paired ? ' v2/v1 (per round) |' : ''} BullMQ | ${PROTOCOLS[0]}/BullMQ (round 1) |`);
console.log(`|---|${PROTOCOLS.map(() => '---:|').join('')}${paired ? '---:|' : ''}---:|---:|`);
for (const [name, get, fmt, peer] of measures) {
  const ratios = paired ? runs.v2.map((f, i) => (get(f) / Math.max(1, get(runs.v1[i]))).toFixed(2)).join(' / ') : undefined;
  const peerCells = peer === undefined ? '— | —' : `${fmt(peer)} | ${(get(runs[PROTOCOLS[0]][0]) / Math.max(1, peer)).toFixed(2)}`;
  console.log(`| ${name} | ${PROTOCOLS.map((p) => all(p, get, fmt)).join(' | ')} |${paired ? ` ${ratios} |` : ''} ${peerCells} |`);
}
console.log(
  `BullMQ with Redis fsyncing every write: dispatch p50 ${ms(pct(bullDurable.latency, 50))}, p99 ${ms(pct(bullDurable.latency, 99))} at ${RATE}/s; ${bullDurable.throughput.toFixed(0)} tasks/s`,
);
for (const p of PROTOCOLS) {
  const f = runs[p][0];
  console.log(
    `${p} CPU per task, round 1: ${f.cpuPerTaskMs.toFixed(2)} ms (node roles ${f.nodePerTaskMs.toFixed(2)}, postgres + nats-server ${f.serversPerTaskMs.toFixed(2)}): even with every core busy, at most ${Math.round(2000 / f.cpuPerTaskMs)} tasks/s on 2 cores`,
  );
}
let broken = false;
for (const p of PROTOCOLS) {
  for (const [i, f] of runs[p].entries()) {
    if (!f.fence) continue;
    const { count, beforeAssignment, afterAssignment, forged, rejected, violations } = f.fence;
    broken ||= violations.length > 0;
    console.log(
      `${p} round ${i + 1} fence check: ${count} tasks cancelled 0–40 ms after creation — ${beforeAssignment} before their assignment (none may reach an agent), ${afterAssignment} after (a cancel order follows); ${rejected} of ${forged} forged reports rejected${violations.length ? ` — VIOLATED: ${violations.slice(0, 5).join('; ')}` : ''}`,
    );
  }
}
process.exit(broken ? 1 : 0);
