// Allocation independent of the backlog and of the fleet's history (issue #14): the allocation
// service's CPU per decided task with 10 vs 10,000 queued tasks and 2 vs 2,000 registered (all but
// two offline) workers, four settings measured in the same run.
//
// Each setting is its own allocation process (services/allocation/dist, as `npm start` runs it)
// with its own nats-server and Postgres cluster, so the figures of one never include another's
// work. The bench plays the tasks and workers services, as the allocation int test does: it
// publishes their events (the envelopes their relays publish) to TASKS and WORKERS and puts the
// two online workers' heartbeats in the `worker-liveness` KV bucket. Seeding is bulk publishing
// of those events (128 in flight): per worker WorkerRegistered + WorkerRoleGranted(owner), and
// WorkerWentOnline for the two online ones; then per queued task TaskCreated + TaskQueued (the
// first 2 × SLOTS are decided and held, the rest wait for a slot). Allocation projects them
// through its normal consumers (the bench waits until both are drained).
//
// Then ROUNDS rounds; in each, the settings take turns (order rotating, so the machine's drift
// hits each alike). A turn lets DECISIONS tasks be decided: for every AllocationDecided the bench
// answers as the tasks service and a worker would — TaskAssigned, TaskStarted, TaskSucceeded — and
// queues one new task, so the backlog stays at its size. The two online workers have SLOTS slots
// each. Outside its turn a setting's decisions are held unanswered (its slots stay full, so it
// idles). Measured per turn: CPU time of the allocation process (utime + stime from
// /proc/<pid>/stat) and of its Postgres cluster (postmaster and its backends), divided by the
// decisions of the turn. Reported: per-setting medians over the rounds and the ratios
// 10k/10 (same fleet) and 2000/2 (same backlog); the goal is ≈ 1.0×.
//
// Usage: npm run bench:allocation   (env: DECISIONS=600 ROUNDS=3 SLOTS=8 BACKLOG=10000 FLEET=2000 ONLY=1,2,3,4)
//        ALLOCATION_ROOT=<dir> measures another build of the service, <dir>/services/allocation/dist
//        (e.g. an earlier commit's src compiled with swc; it resolves packages from this checkout).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { root, sleep } from '../tasks/bench-platform.mjs';

const require = createRequire(import.meta.url);
const infra = require(join(root, 'services/libs/local-infra/dist/index.js'));
const { publishEvent } = require(join(root, 'services/libs/messaging/dist/index.js'));
const { eventSubject, workerLivenessBucket } = require(join(root, 'contracts/dist/index.js'));
const { connect } = require('@nats-io/transport-node');
const { jetstream, jetstreamManager } = require('@nats-io/jetstream');
const { Kvm } = require('@nats-io/kv');

const DECISIONS = Number(process.env.DECISIONS ?? 600);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SLOTS = Number(process.env.SLOTS ?? 8);
const BACKLOG = Number(process.env.BACKLOG ?? 10_000);
const FLEET = Number(process.env.FLEET ?? 2_000);
const ONLINE = 2;
const OWNER = 'bench-owner';
const TICK_MS = 1000 / 100; // CLK_TCK is 100 on Linux
const say = (m) => process.stderr.write(`[allocation-scale] ${m}\n`);

const allSettings = [
  { name: `10 queued, ${ONLINE} workers`, queued: 10, workers: ONLINE },
  { name: `${BACKLOG} queued, ${ONLINE} workers`, queued: BACKLOG, workers: ONLINE },
  { name: `10 queued, ${FLEET} workers`, queued: 10, workers: FLEET },
  { name: `${BACKLOG} queued, ${FLEET} workers`, queued: BACKLOG, workers: FLEET },
];
/** ONLY=1,2,3 measures those settings alone (numbered from 1 as listed above), e.g. for an older build too slow for the fourth. */
const settings = process.env.ONLY ? process.env.ONLY.split(',').map((n) => allSettings[Number(n) - 1]) : allSettings;

/** CPU ticks of a process, and optionally of its reaped children (a postmaster's exited backends). */
function ticksOf(pid, withChildren = false) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0;
  }
}

/** CPU ticks of a Postgres cluster: its postmaster (with exited backends) and every live child. */
function postgresTicks(dataDir) {
  const postmaster = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0].trim();
  let ticks = ticksOf(postmaster, true);
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1] === postmaster) ticks += ticksOf(pid);
    } catch {}
  }
  return ticks;
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function concurrently(items, n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function startSetting(setting, index) {
  // Listed for stopAll before anything starts: a setting that fails halfway leaves nothing running.
  const own = {};
  started.push(own);
  const pg = (own.pg = await infra.startPostgresServer({ ephemeral: false }));
  const dbUrl = await infra.createDatabase(pg.url, `allocation_scale_${index}`);
  const nats = (own.nats = await infra.startNatsServer());
  const port = await infra.freePort();
  const env = { NATS_URL: nats.url, DATABASE_URL: dbUrl, HTTP_PORT: String(port), LOG_LEVEL: 'warn' };
  const service = (own.service = await startAllocation(env, port));
  const nc = (own.nc = await connect({ servers: nats.url }));
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const kv = await new Kvm(nc).create(workerLivenessBucket, { history: 1 });
  const versions = new Map();
  const emit = (context, key, type, data) => {
    const streamId = `${context === 'tasks' ? 'task' : 'worker'}-${key}`;
    const streamVersion = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, streamVersion);
    const id = randomUUID();
    const envelope = {
      id,
      type,
      version: 1,
      streamId,
      streamVersion,
      occurredAt: new Date().toISOString(),
      data,
      metadata: { correlationId: id, causationId: id },
    };
    return publishEvent(js, eventSubject(context, type, key), envelope);
  };
  const s = Object.assign(own, { ...setting, pg, nats, service, nc, js, jsm, kv, emit, decided: 0, held: [], active: false, tasksMade: 0 });

  // Workers: the first ONLINE are online with SLOTS slots; the rest registered and offline.
  const workerIds = Array.from({ length: setting.workers }, (_, i) => `w${index}-${String(i).padStart(5, '0')}`);
  await concurrently(workerIds, 128, async (workerId) => {
    await emit('workers', workerId, 'WorkerRegistered', {
      workerId,
      ownerId: OWNER,
      name: workerId,
      hostname: `${workerId}.local`,
      platform: 'linux',
      arch: 'x64',
      tools: [{ name: 'shell', version: '5.2' }],
      slots: SLOTS,
      resources: { cpus: 8, memoryMb: 16_000, diskMb: 100_000 },
      labels: [],
      agentVersion: '0.1.0',
    });
    await emit('workers', workerId, 'WorkerRoleGranted', { workerId, userId: OWNER, role: 'owner' });
  });
  for (const workerId of workerIds.slice(0, ONLINE)) {
    await kv.put(
      workerId,
      JSON.stringify({
        workerId,
        sentAt: new Date().toISOString(),
        cpuPercent: 10,
        memUsedMb: 2_000,
        memTotalMb: 16_000,
        diskFreeMb: 80_000,
        diskTotalMb: 100_000,
        slots: { total: SLOTS, used: 0 },
        running: [],
        tools: [],
        draining: false,
        isolation: 'bubblewrap',
      }),
    );
    await emit('workers', workerId, 'WorkerWentOnline', { workerId });
  }
  // Decisions, as the tasks service would see them: answered at once during the setting's turn, held otherwise.
  const messages = await (await js.consumers.get('ALLOCATION')).consume();
  void (async () => {
    for await (const m of messages) {
      const e = m.json();
      if (e.type !== 'AllocationDecided') continue;
      s.decided++;
      if (s.active) answerLater(s, e.data);
      else s.held.push(e.data);
    }
  })();
  await drained(s);
  // The backlog, queued once the online workers' slots are there: the first SLOTS × ONLINE are
  // decided (and held), the rest wait for a slot — queued, with no deferral recorded.
  await concurrently(
    Array.from({ length: setting.queued }, () => undefined),
    128,
    () => queueTask(s),
  );
  await drained(s);
  await until(() => s.decided >= Math.min(ONLINE * SLOTS, setting.queued), `${setting.name}: the first decisions`);
  return s;
}

async function startAllocation(env, port) {
  if (!process.env.ALLOCATION_ROOT) return infra.startService('allocation', env, `http://127.0.0.1:${port}/health/ready`);
  // Another checkout's build (a before/after comparison): the same start, from its dist.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [join(process.env.ALLOCATION_ROOT, 'services/allocation/dist/main.js')], {
    env: { ...process.env, NODE_PATH: join(root, 'node_modules'), ...env },
    stdio: 'ignore',
  });
  await until(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null))?.ok, 'the allocation service to be ready');
  return {
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function queueTask(s) {
  const taskId = randomUUID();
  s.tasksMade++;
  await s.emit('tasks', taskId, 'TaskCreated', {
    taskId,
    ownerId: OWNER,
    description: 'noop',
    tool: 'shell',
    input: { command: 'true' },
    priority: 50,
    timeoutSeconds: 60,
    maxAttempts: 3,
    queueTimeoutSeconds: 86_400,
    heartbeatTimeoutSeconds: 30,
    requirements: {},
  });
  await s.emit('tasks', taskId, 'TaskQueued', { taskId, attempt: 1, reason: 'created' });
}

/** A decision answered as the tasks service and the worker would: assigned, started, succeeded; and one more task queued. */
async function answer(s, d) {
  const now = new Date().toISOString();
  await s.emit('tasks', d.taskId, 'TaskAssigned', {
    taskId: d.taskId,
    workerId: d.workerId,
    attempt: d.attempt,
    allocationId: d.allocationId,
    leaseExpiresAt: now,
  });
  await s.emit('tasks', d.taskId, 'TaskStarted', { taskId: d.taskId, workerId: d.workerId, attempt: d.attempt, startedAt: now });
  await s.emit('tasks', d.taskId, 'TaskSucceeded', {
    taskId: d.taskId,
    attempt: d.attempt,
    workerId: d.workerId,
    result: { exitCode: 0, outputTail: '', durationMs: 1 },
  });
  await queueTask(s);
}

async function until(check, what, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Allocation consumed everything published to TASKS and WORKERS. */
async function drained(s) {
  await until(async () => {
    for (const [stream, durable] of [
      ['TASKS', 'allocation-tasks'],
      ['WORKERS', 'allocation-workers'],
    ]) {
      const info = await s.jsm.consumers.info(stream, durable).catch(() => null);
      if (!info || info.num_pending > 0 || info.num_ack_pending > 0) return false;
    }
    return true;
  }, 'allocation to consume the seeded events');
}

/** One turn: DECISIONS decisions answered, CPU per decision of allocation and of its Postgres. */
async function turn(s) {
  await drained(s);
  await sleep(500);
  const start = s.decided;
  const cpu0 = ticksOf(s.service.pid);
  const pg0 = postgresTicks(s.pg.dataDir);
  const t0 = performance.now();
  s.active = true;
  for (const d of s.held.splice(0)) answerLater(s, d);
  await until(() => s.decided >= start + DECISIONS, `${s.name}: ${DECISIONS} decisions`);
  s.active = false;
  const seconds = (performance.now() - t0) / 1000;
  const n = s.decided - start;
  return {
    allocationMs: ((ticksOf(s.service.pid) - cpu0) * TICK_MS) / n,
    postgresMs: ((postgresTicks(s.pg.dataDir) - pg0) * TICK_MS) / n,
    perSecond: n / seconds,
  };
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const started = [];
let stopping = false;
/** Answers in the background; an answer cut off by the shutdown (its connection closed) is no error. */
function answerLater(s, d) {
  answer(s, d).catch((error) => {
    if (!stopping) throw error;
  });
}
const stopAll = async () => {
  stopping = true;
  for (const s of started) {
    await s.nc?.close().catch(() => undefined);
    await s.service?.stop().catch(() => undefined);
    await s.nats?.stop().catch(() => undefined);
    await s.pg?.stop().catch(() => undefined);
  }
};
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.once(event, async (e) => {
    console.error(e);
    await stopAll();
    process.exit(1);
  });
}

try {
  for (const [i, setting] of settings.entries()) {
    const t0 = performance.now();
    await startSetting(setting, i);
    say(`${setting.name}: seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const results = new Map(settings.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < started.length; k++) {
      const s = started[(k + round) % started.length];
      const r = await turn(s);
      results.get(s.name).push(r);
      say(
        `round ${round + 1} ${s.name}: allocation ${r.allocationMs.toFixed(2)} ms CPU/decision, postgres ${r.postgresMs.toFixed(2)} ms, ${r.perSecond.toFixed(0)} decisions/s`,
      );
    }
  }
  const summary = Object.fromEntries(
    [...results].map(([name, rs]) => [
      name,
      {
        allocationCpuMsPerDecision: Number(median(rs.map((r) => r.allocationMs)).toFixed(2)),
        postgresCpuMsPerDecision: Number(median(rs.map((r) => r.postgresMs)).toFixed(2)),
        decisionsPerSecond: Number(median(rs.map((r) => r.perSecond)).toFixed(0)),
      },
    ]),
  );
  const [small, backlog, fleet, both] = allSettings.map((s) => summary[s.name]);
  const ratio = (a, b, key) => (a && b ? Number((a[key] / b[key]).toFixed(2)) : null);
  const report = {
    decisionsPerTurn: DECISIONS,
    rounds: ROUNDS,
    slots: `${ONLINE} online workers × ${SLOTS}`,
    settings: summary,
    ratios: {
      [`allocation ${BACKLOG}/10 queued (${ONLINE} workers)`]: ratio(backlog, small, 'allocationCpuMsPerDecision'),
      [`allocation ${BACKLOG}/10 queued (${FLEET} workers)`]: ratio(both, fleet, 'allocationCpuMsPerDecision'),
      [`allocation ${FLEET}/${ONLINE} workers (10 queued)`]: ratio(fleet, small, 'allocationCpuMsPerDecision'),
      [`allocation ${FLEET}/${ONLINE} workers (${BACKLOG} queued)`]: ratio(both, backlog, 'allocationCpuMsPerDecision'),
      [`postgres ${BACKLOG}/10 queued (${ONLINE} workers)`]: ratio(backlog, small, 'postgresCpuMsPerDecision'),
      [`postgres ${FLEET}/${ONLINE} workers (10 queued)`]: ratio(fleet, small, 'postgresCpuMsPerDecision'),
    },
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await stopAll();
}
