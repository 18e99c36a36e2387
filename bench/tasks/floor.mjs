#!/usr/bin/env node
// The floor: what the brief's task protocol costs at its leanest, against BullMQ in the same run.
// Same hops and the same guarantees as Agentyard — every state change a durable Postgres commit
// (fsync on) before it is published, every hop between roles a JetStream message (file storage,
// explicit acks) — but none of the platform's code: no NestJS, no HTTP gateway, no validation,
// no kysely, no relay read-back, all roles in this one process on raw `pg` and nats.js, and every
// write group-committed (one multi-row INSERT per batch). So its figures bound from above what
// any implementation of this protocol can reach on this machine:
//   tasks:      create → append TaskCreated + TaskQueued → publish both on TASKS
//   allocation: consume TASKS; a queued task is decided in memory (no query) → append
//               AllocationDecided → publish on ALLOCATION; a succeeded task frees its slot
//   tasks:      consume ALLOCATION → append TaskAssigned → publish it on TASKS and the
//               assignment on WORK (`work.assign.<worker>`)
//   agents:     consume their assignment subject → publish started and finished reports on WORK
//   tasks:      consume the reports → append TaskStarted / TaskSucceeded and upsert task_view in
//               one transaction → publish both on TASKS
// Measures: dispatch latency (create called → agent started) one task at a time and at a steady
// RATE, sustained tasks/s over BURST (until task_view shows all succeeded), and the CPU per task
// of this process + postgres + nats-server.
// Usage: node bench/tasks/floor.mjs   (env: RATE=200 SECONDS=10 BURST=5000 WORKERS=2 SLOTS=8)
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

async function startFloor(natsUrl, pgUrl) {
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
  await durable('ALLOCATION', 'tasks-decisions', 'allocation.events.>');
  await durable('WORK', 'tasks-reports', 'work.report.>');
  const workers = Array.from({ length: WORKERS }, (_, i) => ({ id: `w${i}`, free: SLOTS }));
  for (const w of workers) await durable('WORK', `agent-${w.id}`, `work.assign.${w.id}`);

  const tasksJs = jetstream(tasksNc);
  const allocationJs = jetstream(allocationNc);
  const agentsJs = jetstream(agentsNc);
  const publishAll = (js, messages) => Promise.all(messages.map(([subject, body]) => js.publish(subject, JSON.stringify(body), { msgID: randomUUID() })));
  const subs = [];
  const started = new Map(); // taskId → agent's start time (ms)

  // allocation: an in-memory queue and slot count, fed by TASKS.
  const pending = [];
  subs.push(
    await consumeBatches(allocationJs, 'TASKS', 'allocation-tasks', async (batch) => {
      for (const { body } of batch) {
        if (body.type === 'TaskQueued') pending.push(body.taskId);
        if (body.type === 'TaskSucceeded') workers.find((w) => w.id === body.workerId).free++;
      }
      const decided = [];
      while (pending.length > 0) {
        const best = workers.reduce((a, b) => (b.free > a.free ? b : a));
        if (best.free === 0) break;
        best.free--;
        const taskId = pending.shift();
        const candidates = workers.map((w) => ({
          workerId: w.id,
          eligible: true,
          scores: { match: 40, availability: Math.round((30 * w.free) / SLOTS), balance: 20, affinity: 0 },
        }));
        decided.push({ taskId, workerId: best.id, candidates });
      }
      if (decided.length === 0) return;
      await allocationDb.append(decided.map((d) => ({ streamId: `allocation-${d.taskId}`, version: 1, type: 'AllocationDecided', data: d })));
      await publishAll(
        allocationJs,
        decided.map((d) => [`allocation.events.${d.taskId}`, { type: 'AllocationDecided', ...d }]),
      );
    }),
  );

  // tasks: decisions → TaskAssigned + the assignment; reports → TaskStarted / TaskSucceeded.
  subs.push(
    await consumeBatches(tasksJs, 'ALLOCATION', 'tasks-decisions', async (batch) => {
      const decisions = batch.map((m) => m.body);
      await tasksDb.append(
        decisions.map((d) => ({
          streamId: `task-${d.taskId}`,
          version: 3,
          type: 'TaskAssigned',
          data: { taskId: d.taskId, workerId: d.workerId, attempt: 1 },
        })),
      );
      await publishAll(
        tasksJs,
        decisions.flatMap((d) => [
          [`tasks.events.${d.taskId}`, { type: 'TaskAssigned', taskId: d.taskId, workerId: d.workerId }],
          [`work.assign.${d.workerId}`, { kind: 'assign', taskId: d.taskId, attempt: 1, tool: 'noop', input: {} }],
        ]),
      );
    }),
  );
  subs.push(
    await consumeBatches(tasksJs, 'WORK', 'tasks-reports', async (batch) => {
      const reports = batch.map((m) => m.body);
      const events = reports.map((r) => ({
        streamId: `task-${r.taskId}`,
        version: r.kind === 'started' ? 4 : 5,
        type: r.kind === 'started' ? 'TaskStarted' : 'TaskSucceeded',
        data: r,
      }));
      const view = reports.map((r) => ({
        id: r.taskId,
        status: r.kind === 'started' ? 'running' : 'succeeded',
        startedAt: r.kind === 'started' ? new Date(r.at).toISOString() : null,
      }));
      await tasksDb.append(events, view);
      await publishAll(
        tasksJs,
        reports.map((r) => [
          `tasks.events.${r.taskId}`,
          { type: r.kind === 'started' ? 'TaskStarted' : 'TaskSucceeded', taskId: r.taskId, workerId: r.workerId },
        ]),
      );
    }),
  );

  // agents: started and finished at once (the no-op).
  for (const w of workers) {
    subs.push(
      await consumeBatches(agentsJs, 'WORK', `agent-${w.id}`, async (batch) => {
        await publishAll(
          agentsJs,
          batch.flatMap(({ body }) => {
            const at = Date.now();
            started.set(body.taskId, at);
            return [
              [`work.report.${w.id}`, { kind: 'started', taskId: body.taskId, workerId: w.id, at }],
              [`work.report.${w.id}`, { kind: 'finished', taskId: body.taskId, workerId: w.id, at: Date.now(), exitCode: 0 }],
            ];
          }),
        );
      }),
    );
  }

  const create = async () => {
    const taskId = randomUUID();
    const createdAt = Date.now();
    const data = { taskId, ownerId: 'bench', description: 'noop', tool: 'noop', input: {}, priority: 50 };
    await tasksDb.append(
      [
        { streamId: `task-${taskId}`, version: 1, type: 'TaskCreated', data },
        { streamId: `task-${taskId}`, version: 2, type: 'TaskQueued', data: { taskId, attempt: 1 } },
      ],
      [{ id: taskId, status: 'queued' }],
    );
    await publishAll(tasksJs, [
      [`tasks.events.${taskId}`, { type: 'TaskCreated', taskId }],
      [`tasks.events.${taskId}`, { type: 'TaskQueued', taskId }],
    ]);
    return { taskId, createdAt };
  };
  const counter = new pg.Client({ connectionString: pgUrl });
  await counter.connect();
  const succeeded = async () => Number((await counter.query("select count(*)::int n from task_view where status = 'succeeded'")).rows[0].n);
  const stop = async () => {
    for (const s of subs) await s.close();
    await counter.end();
    await Promise.all([tasksNc, allocationNc, agentsNc].map((nc) => nc.close()));
    await Promise.all(pools.map((pool) => pool.end()));
  };
  return { create, started, succeeded, stop };
}

/** CPU ticks (user + system) of postgres and nats-server processes, summed. */
function serverTicks() {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!/^postgres|nats-server/.test(cmd.replace(/^.*\//, ''))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += Number(stat[11]) + Number(stat[12]);
    } catch {}
  }
  return total;
}

async function benchFloor() {
  const nats = await infra.startNatsServer();
  const pgServer = await infra.startPostgresServer({ ephemeral: false });
  const floor = await startFloor(nats.url, pgServer.url);
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
    const cpu0 = process.cpuUsage();
    const ticks0 = serverTicks();
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
    const serverMs = (serverTicks() - ticks0) * 10;
    return {
      idle,
      latency,
      throughput: BURST / seconds,
      cpuPerTaskMs: (nodeMs + serverMs) / BURST,
      nodePerTaskMs: nodeMs / BURST,
      serversPerTaskMs: serverMs / BURST,
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
const f = await benchFloor();
const ms = (x) => `${x.toFixed(1)} ms`;
console.log(
  `floor of the brief's protocol vs BullMQ — workers=${WORKERS} slots=${SLOTS}, rate ${RATE}/s for ${SECONDS} s, burst ${BURST}, node ${process.version}`,
);
console.log('| measure | floor | BullMQ | floor/BullMQ |');
console.log('|---|---:|---:|---:|');
console.log(
  `| dispatch p50, one at a time | ${ms(pct(f.idle, 50))} | ${ms(pct(bullIdle.latency, 50))} | ${(pct(f.idle, 50) / Math.max(1, pct(bullIdle.latency, 50))).toFixed(1)} |`,
);
console.log(
  `| dispatch p50 at ${RATE}/s | ${ms(pct(f.latency, 50))} | ${ms(pct(bull.latency, 50))} | ${(pct(f.latency, 50) / Math.max(1, pct(bull.latency, 50))).toFixed(1)} |`,
);
console.log(
  `| dispatch p99 at ${RATE}/s | ${ms(pct(f.latency, 99))} | ${ms(pct(bull.latency, 99))} | ${(pct(f.latency, 99) / Math.max(1, pct(bull.latency, 99))).toFixed(1)} |`,
);
console.log(`| sustained tasks/s | ${f.throughput.toFixed(0)} | ${bull.throughput.toFixed(0)} | ${(f.throughput / bull.throughput).toFixed(2)} |`);
console.log(
  `BullMQ with Redis fsyncing every write: dispatch p50 ${ms(pct(bullDurable.latency, 50))}, p99 ${ms(pct(bullDurable.latency, 99))} at ${RATE}/s; ${bullDurable.throughput.toFixed(0)} tasks/s (floor/durable BullMQ ${(f.throughput / bullDurable.throughput).toFixed(2)})`,
);
console.log(
  `floor CPU per task: ${f.cpuPerTaskMs.toFixed(2)} ms (node roles ${f.nodePerTaskMs.toFixed(2)}, postgres + nats-server ${f.serversPerTaskMs.toFixed(2)}): even with every core busy, at most ${Math.round(2000 / f.cpuPerTaskMs)} tasks/s on 2 cores`,
);
process.exit(0);
