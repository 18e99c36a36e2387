#!/usr/bin/env node
// The crash matrix (issue #14, "Reliability, as a command"): the whole platform as real processes
// — its own Postgres cluster and nats-server, every service, two worker agents — runs shell tasks
// while one target at a time is killed with SIGKILL at a random moment and restarted (same data
// dir, state dir and port). Then each row checks what must hold whatever was killed:
//   lost     tasks accepted (or created by a POST whose answer was lost) that did not end succeeded
//   twice    tasks whose command ran to its end more than once, counted where the work runs: each
//            task's command reports its attempt directory (<task>-<attempt>) to a counter here over
//            TCP when it finishes — not from events
//   stale    a result accepted from an attempt that was not the task's last one, or accepted twice,
//            or accepted for an attempt the counter never saw finish
//   replay   read models rebuilt from the event stores (tasks, workers, workflows) equal the live ones
//   orphans  task processes still alive after the run (found by the run's marker in /proc/*/cmdline)
// plus a worker agent paused with SIGSTOP past its lease (its late reports must be rejected),
// nats-server killed and restarted 10 times in 60 s during a run, and — with two replicas of tasks
// and of allocation — kill -9 of the replica holding the service's lease (relay, consumers,
// allocation loop): the standby must hold the lease within 5 s (rows `ha tasks`, `ha allocation`).
// Exit code 1 if any row failed.
// Usage: npm run chaos [-- --short] [--seed N] [--tasks N] [--times N] [--targets a,b|ha] [--json file]
// A task run twice or lost is explained in the log (its events, its agent's lines); CHAOS_DEBUG=1
// adds the tasks service's relay, dispatch and error lines.
// Why the tasks report over TCP rather than into a file: the agents run each task in bubblewrap, with
// the host read-only and a private /tmp, so a file the task appends to is not one the host sees.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { root } from '../tasks/bench-platform.mjs';

const require = createRequire(import.meta.url);
const infra = require(join(root, 'services/libs/local-infra/dist/index.js'));
const pg = require('pg');

const { values: opts } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    seed: { type: 'string' },
    tasks: { type: 'string' },
    times: { type: 'string' },
    targets: { type: 'string' },
    json: { type: 'string' },
    'offline-after-ms': { type: 'string' },
  },
});

// --short (CI): every target twice, on fewer tasks so the whole matrix fits in a few minutes on a
// loaded 2-core machine. Default: 20 times each on 1,000 tasks (on demand, about an hour or more).
const SHORT = opts.short;
const TASKS = Number(opts.tasks ?? (SHORT ? 40 : 1000));
const TIMES = Number(opts.times ?? (SHORT ? 2 : 20));
const SEED = Number(opts.seed ?? Math.floor(Math.random() * 2 ** 31));
// Worker liveness: a silent agent is offline after this (the workers service's OFFLINE_AFTER_MS).
// 15 s, the platform's default, in the short run too: with 5 s, a machine loaded to 30 delayed both
// agents' heartbeats past it, the platform requeued their running attempts, and they ran twice.
const OFFLINE_AFTER_MS = Number(opts['offline-after-ms'] ?? 15000);
const WORKERS = 2;
const SLOTS = 8;
/** A round is over when every task is terminal, or when none changed for this long (what is left is lost). */
const STALL_MS = 45_000;
const RUN = `chaos${SEED.toString(36)}${Date.now().toString(36)}`;
const selected = opts.targets ? opts.targets.split(',').map((s) => s.trim()) : undefined;
// The high-availability rows: these services run a standby replica during them (issue #14: "with two
// replicas, kill -9 of the active relay / allocation holder: the standby takes over within 5 s").
const HA_SERVICES = ['tasks', 'allocation'];
// --short: one row and one round that kills each service's holder in turn (a row per service costs
// a round and a replay each: about a minute more); the long run has a row per service.
const HA_GROUPS = SHORT ? [HA_SERVICES] : HA_SERVICES.map((s) => [s]);
const TAKEOVER_LIMIT_MS = 5_000;
const wanted = (name) => !selected || selected.includes(name) || (name.startsWith('ha ') && selected.includes('ha'));
const HA = HA_GROUPS.some((g) => wanted(`ha ${g.join('+')}`));

// Seeded PRNG (mulberry32): the same --seed replays the same kill moments and victims.
let rngState = SEED >>> 0;
function random() {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// The counter: where the work runs reports what ran. `GET /s/<run>/<task>-<attempt>` when a task's
// command starts, `/d/…` when it has done its work (answered only once recorded, so a command that
// exits 0 has been counted).
const starts = new Map(); // "<task>-<attempt>" → count
const dones = new Map();
const counter = createServer((req, res) => {
  const m = /^\/([sd])\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
  if (m && m[2] === RUN) {
    const map = m[1] === 's' ? starts : dones;
    map.set(m[3], (map.get(m[3]) ?? 0) + 1);
  }
  res.end('ok');
});
await new Promise((r) => counter.listen(0, '127.0.0.1', r));
const counterPort = counter.address().port;

/** A task's command: report the start, work a little (so kills find tasks mid-run), report the end. `ms` of sleep. */
function command(ms) {
  const hit = (kind) =>
    `exec 3<>/dev/tcp/127.0.0.1/${counterPort} && printf "GET /${kind}/${RUN}/%s HTTP/1.0\\r\\n\\r\\n" "\${PWD##*/}" >&3 && cat <&3 >/dev/null && exec 3<&-`;
  // The marker (": chaos…") is in every process's command line, so /proc finds what outlives the run.
  // bash for /dev/tcp (the tool's shell is sh); the script holds no single quote.
  return `exec bash -c ': ${RUN}; ${hit('s')} && sleep ${(ms / 1000).toFixed(3)} && ${hit('d')}'`;
}
const dirOf = (taskId, attempt) => `${taskId}-${attempt}`;

// ---------------------------------------------------------------------------------------------
// The platform: its own Postgres cluster (so it can be killed) and nats-server (startPlatform's).
// fsync off for speed, but synchronous_commit stays on: a commit has reached the OS before it is
// acknowledged, so a kill -9 of Postgres loses nothing acknowledged (only an OS crash could).
// Service (re)starts on a loaded machine can take longer than the 30 s tests allow.
process.env.AGENTYARD_SERVICE_READY_TIMEOUT_MS ??= '180000';
process.env.AGENTYARD_PG_SETTINGS = [process.env.AGENTYARD_PG_SETTINGS ?? '', 'fsync=off', 'full_page_writes=off'].join(' ').trim();
const pgDir = mkdtempSync(join(tmpdir(), 'agentyard-chaos-pg-'));
const pgPort = await infra.freePort();
let pgServer = await infra.startPostgresServer({ dataDir: pgDir, port: pgPort });
process.env.AGENTYARD_TEST_PG_URL = pgServer.url;

let platform;
let stopping = false;
async function stopAll() {
  if (stopping) return;
  stopping = true;
  await platform?.stop().catch(() => undefined);
  await pgServer.stop().catch(() => undefined);
  rmSync(pgDir, { recursive: true, force: true });
  counter.close();
}
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.once(event, async (e) => {
    console.error(e);
    await stopAll();
    process.exit(2);
  });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await stopAll();
    process.exit(130);
  });
}

try {
  platform = await infra.startPlatform({
    env: {
      workers: { OFFLINE_AFTER_MS: String(OFFLINE_AFTER_MS), SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' },
      // The production lease ttl, which the 5 s takeover limit is about (tests elsewhere run 10 s).
      tasks: { TIMEOUT_SCAN_INTERVAL_MS: '500', USER_MAX_ACTIVE_TASKS: '1000000', LEASE_TTL_MS: '3000' },
      allocation: { LEASE_TTL_MS: '3000' },
    },
    // Replica 1 of the HA services runs only for the HA rows, which come first; it is stopped
    // after them, so every other row kills the one process of its service.
    ...(HA ? { replicas: Object.fromEntries(HA_SERVICES.map((s) => [s, 2])) } : {}),
    // Enough of each process's output to explain a task of the round (a long round's agent logs
    // ~150 kB); the default 20 kB had lost a round's first tasks by the time it was judged.
    keepOutputBytes: 4_000_000,
  });
} catch (e) {
  // startPlatform stops what it started; the cluster is ours to stop.
  console.error(e);
  await stopAll();
  process.exit(2);
}
const base = platform.url;
/** One JSON request; throws with the status on a non-2xx answer (err.status), or the network error. */
async function api(token, method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok)
    throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`), {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
    });
  return text ? JSON.parse(text) : undefined;
}
/** Retries while the platform is down (connection refused, 5xx, 429): a crash test's client must outlast the crash. */
async function patiently(fn, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline || (e.status && e.status < 500 && e.status !== 429 && e.status !== 401)) throw new Error(`${what}: ${e.message}`);
      await sleep(e.status === 429 ? Number(e.retryAfter ?? 1) * 1000 : 300);
    }
  }
}

await api(null, 'POST', '/api/v1/auth/register', { username: 'chaos', email: 'chaos@example.com', password: 'chaos-password-1' });
let token;
async function login() {
  token = (await api(null, 'POST', '/api/v1/auth/login', { username: 'chaos', password: 'chaos-password-1' })).accessToken;
}
await login();
// Access tokens last 15 min; the long run takes longer.
const relogin = setInterval(() => void patiently(login, 'login').catch(() => undefined), 10 * 60_000);
relogin.unref();

const agents = [];
for (let w = 0; w < WORKERS; w++) {
  const { token: reg } = await api(token, 'POST', '/api/v1/workers/registration-tokens', { uses: 1 });
  agents.push(platform.startWorker({ token: reg, name: `chaos-${w}`, slots: SLOTS }));
}
const workerIds = [];
for (;;) {
  const { items } = await api(token, 'GET', '/api/v1/workers');
  const online = items.filter((w) => w.status === 'online');
  if (online.length === WORKERS) {
    for (let w = 0; w < WORKERS; w++) workerIds[w] = online.find((x) => x.name === `chaos-${w}`).id;
    break;
  }
  await sleep(200);
}
/** Restarts agent `w` on its state dir: it keeps its identity (worker.json) and comes back with no token. */
function restartAgent(w) {
  agents[w] = platform.startWorker({ stateDir: agents[w].stateDir, name: `chaos-${w}`, slots: SLOTS });
}

// ---------------------------------------------------------------------------------------------
// Database access that outlives a Postgres kill: a fresh client per query, retried.
async function query(url, sql, params = [], timeoutMs = 120_000) {
  return patiently(
    async () => {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.query(sql, params)).rows;
      } catch (e) {
        // Only "the server is not there (yet)" is retried; a wrong query is our bug.
        const down = !e.code || /^(ECONN|57P|08)/.test(e.code);
        throw Object.assign(e, { status: down ? 503 : 400 });
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    `query ${sql.slice(0, 60)}`,
    timeoutMs,
  );
}

/** Processes in /proc: pid, ppid, state, cmdline. */
function processes() {
  const list = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      list.push({ pid: Number(entry), state: rest[0], ppid: Number(rest[1]), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // gone meanwhile
    }
  }
  return list;
}
const orphans = () => processes().filter((p) => p.pid !== process.pid && p.state !== 'Z' && p.cmdline.includes(RUN));

// ---------------------------------------------------------------------------------------------
// High availability: a replica's view of its service's lease, from /health/ready's `leader` field
// (as services/gateway/test/high-availability.e2e.spec.ts reads it).
async function leaderOf(service, i) {
  try {
    const res = await fetch(`${platform.replicaUrlOf(service, i)}/health/ready`, { signal: AbortSignal.timeout(1_000) });
    return res.ok ? (await res.json()).leader : undefined;
  } catch {
    return undefined;
  }
}
/** The replica of `replicas` holding the lease, once exactly one does (polled every 50 ms); undefined after `timeoutMs`. */
async function holderOf(service, replicas, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(replicas.map((i) => leaderOf(service, i)));
    const holders = views.flatMap((v, k) => (v?.holding ? [{ index: replicas[k], epoch: v.epoch }] : []));
    if (holders.length === 1) return holders[0];
    await sleep(50);
  }
  return undefined;
}
/** Starts (true) or stops (false) replica 1 of each HA service, and waits until one replica holds each lease. */
async function standbys(on) {
  const t0 = Date.now();
  for (const s of HA_SERVICES) {
    await (on ? platform.restartReplica(s, 1) : platform.replica(s, 1).stop());
    if (!(await holderOf(s, on ? [0, 1] : [0], 30_000)))
      throw new Error(`no ${s} replica holds its lease 30 s after ${on ? 'starting' : 'stopping'} the standby`);
  }
  standbyRunning = on;
  log(`standby replicas of ${HA_SERVICES.join(', ')} ${on ? 'started' : 'stopped'} in ${Date.now() - t0} ms`);
  if (on) haStartedAt = Date.now();
  else log(`the HA rows took ${Math.round((Date.now() - haStartedAt) / 1000)} s with their standbys`);
}
let haStartedAt = Date.now();
let standbyRunning = HA;

// Targets: each can be killed (SIGKILL) and brought back.
const pgPostmasterPid = () => Number(readFileSync(join(pgServer.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const targets = [
  // Two replicas: kill -9 of the lease holder, of each service of the row in turn. Measured from the
  // kill: until the other replica holds the lease (takeover, must be ≤ 5 s), and until a task
  // created right after the kill has started its command (work flows again: the new holder's
  // relay, consumers and — for allocation — loop run). The killed replica comes back as the
  // standby meanwhile. First in the list: the standbys start with the platform.
  ...HA_GROUPS.map((group) => ({
    name: `ha ${group.join('+')}`,
    ha: true,
    kills: group.length,
    times: SHORT ? 1 : TIMES,
    settleMs: 1000,
    crash: async (_rng, probe) => {
      const kills = [];
      const restarts = [];
      for (const name of group) {
        const before = await holderOf(name, [0, 1], 30_000);
        if (!before) {
          kills.push({ service: name, note: `no ${name} replica held the lease before the kill` });
          continue;
        }
        const t0 = performance.now();
        await platform.replica(name, before.index).kill();
        const probed = probe()
          .then(async (id) => {
            while (![1, 2, 3].some((a) => starts.has(dirOf(id, a))) && performance.now() - t0 < 60_000) await sleep(20);
            return [1, 2, 3].some((a) => starts.has(dirOf(id, a))) ? performance.now() - t0 : undefined;
          })
          .catch(() => undefined); // not created within patiently's 2 min: counted as work that did not flow
        const after = await holderOf(name, [1 - before.index], 30_000);
        const takeoverMs = after ? performance.now() - t0 : undefined;
        const flowMs = await probed;
        log(
          `ha ${name}: replica ${before.index} (epoch ${before.epoch}) killed; replica ${1 - before.index} holds ${
            after ? `epoch ${after.epoch} after ${Math.round(takeoverMs)} ms` : 'nothing after 30 s'
          }; a task created at the kill started after ${flowMs === undefined ? '(not within 60 s)' : `${Math.round(flowMs)} ms`}`,
        );
        kills.push({ service: name, takeoverMs, flowMs });
        restarts.push(platform.restartReplica(name, before.index, 'kill'));
      }
      return { kills, restarted: Promise.all(restarts) };
    },
  })),
  ...['gateway', 'auth', 'tasks', 'workers', 'allocation', 'workflows'].map((name) => ({
    name,
    crash: () => platform.restart(name, 'kill'),
  })),
  {
    name: 'worker agent',
    twiceInherent: true,
    crash: async (rng) => {
      const w = Math.floor(rng * WORKERS);
      await agents[w].kill();
      restartAgent(w);
    },
  },
  {
    name: 'nats-server',
    crash: async () => {
      await platform.nats.kill();
      await platform.nats.restart();
    },
  },
  {
    name: 'postgres',
    crash: async () => {
      // The whole cluster dies at once (postmaster and every backend), as on a crash of its host process tree.
      const master = pgPostmasterPid();
      const victims = [
        master,
        ...processes()
          .filter((p) => p.ppid === master)
          .map((p) => p.pid),
      ];
      for (const pid of victims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      while (processes().some((p) => victims.includes(p.pid) && p.state !== 'Z')) await sleep(20);
      pgServer = await infra.startPostgresServer({ dataDir: pgDir, port: pgPort });
    },
  },
];

/** Logs the agents' output lines that `match` (the last `last` of each agent's, when given). */
function logAgentLines(match, last) {
  for (const [w, agent] of agents.entries()) {
    const lines = agent.output().split('\n').filter(match);
    for (const line of last ? lines.slice(-last) : lines) log(`  agent ${w}: ${line.slice(0, 300)}`);
  }
}

/** Per agent process, how many of its lines about ignored replayed assignments were logged already. */
const replayLinesLogged = new WeakMap();
/** Logs what the agents said since the last round about a replay of the WORK stream they recognised (order-replay.ts). */
function logReplays() {
  for (const [w, agent] of agents.entries()) {
    const lines = agent
      .output()
      .split('\n')
      .filter((l) => /ignored \d+ assignment/.test(l));
    for (const line of lines.slice(replayLinesLogged.get(agent) ?? 0)) log(`  agent ${w}: ${line.slice(0, 300)}`);
    replayLinesLogged.set(agent, lines.length);
  }
}

// ---------------------------------------------------------------------------------------------
// One round: `count` tasks submitted by 16 clients; `during(progress)` is called as tasks finish
// (progress = share of tasks whose command finished) and may kill things. Resolves with the round's
// task ids and what the counter and the store say about them.
let roundNo = 0;
async function round({ count, workMs, during, pace }) {
  const tag = `${RUN} r${++roundNo}`;
  const accepted = [];
  /** The request's Idempotency-Key (visible ASCII, no spaces): one per task of the round. */
  const keyOf = (i) => `${tag.replace(' ', '-')}-${i}`;
  const body = (i) => ({
    description: `${tag} #${i}`,
    tool: 'shell',
    input: { command: command(workMs) },
    maxAttempts: 10,
    timeoutSeconds: 60,
  });
  let next = 0;
  const t0 = Date.now();
  const submit = Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const i = next++;
        if (pace) await sleep(Math.max(0, t0 + (i * pace) / count - Date.now()));
        // A POST whose answer is lost to a crash may still have created the task: the retry carries the
        // same Idempotency-Key, so it gets that task rather than a second one (counted below).
        accepted.push((await patiently(() => api(token, 'POST', '/api/v1/tasks', body(i), { 'idempotency-key': keyOf(i) }), 'create task')).id);
      }
    }),
  );
  const doneBefore = dones.size;
  // Share of the round's tasks whose command finished; 1 once every task is terminal (e.g. all failed),
  // so a round whose tasks cannot run does not wait forever for its kill moment.
  let settled = false;
  const progress = () => (settled ? 1 : (dones.size - doneBefore) / count);
  const watchSettled = setInterval(() => {
    void query(
      platform.databases.tasks,
      "select count(*)::int as n from task_view where description like $1 and status in ('succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded')",
      [`${tag} #%`],
      5_000,
    )
      .then(([r]) => (settled = r.n >= count))
      .catch(() => undefined);
  }, 2_000);
  /** One more task of the round, created now (its description still matches the round's): resolves with its id. */
  const probe = async () => {
    const i = `probe${accepted.length}`;
    const id = (await patiently(() => api(token, 'POST', '/api/v1/tasks', body(i), { 'idempotency-key': keyOf(i) }), 'create probe task')).id;
    accepted.push(id);
    return id;
  };
  const duringDone = (during ? during(progress, probe) : Promise.resolve()).finally(() => clearInterval(watchSettled));
  await submit;
  await duringDone;

  // Wait until every task of the round is terminal (task_view), or nothing changed for STALL_MS.
  let lastChange = Date.now();
  let lastKey = '';
  let rows;
  for (;;) {
    rows = await query(platform.databases.tasks, 'select id, status, attempt, description from task_view where description like $1', [`${tag} #%`]);
    const open = rows.filter((r) => !['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded'].includes(r.status));
    if (open.length === 0 && rows.length >= accepted.length) break;
    const key = rows.map((r) => `${r.status}${r.attempt}`).join();
    if (key !== lastKey) {
      lastKey = key;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > STALL_MS) break;
    await sleep(500);
  }
  const ids = [...new Set([...rows.map((r) => r.id), ...accepted])];
  // Each description is one client request (retried with its Idempotency-Key): two tasks with one
  // description are a create the platform made twice.
  const createdTwice = rows.length - new Set(rows.map((r) => r.description)).size;
  const status = new Map(rows.map((r) => [r.id, r.status]));
  const lost = ids.filter((id) => status.get(id) !== 'succeeded');

  const twice = ids.filter((id) => {
    let n = 0;
    for (const [dir, c] of dones) if (dir.startsWith(`${id}-`)) n += c;
    return n > 1;
  });
  if (twice.length) {
    // Which attempts did the work, and what the store says happened between them.
    const history = await query(platform.databases.tasks, 'select type, data, occurred_at from event_store.events where stream_id = $1 order by position', [
      `task-${twice[0]}`,
    ]);
    const work = [...dones].filter(([dir]) => dir.startsWith(`${twice[0]}-`)).map(([dir, c]) => `attempt ${dir.slice(twice[0].length + 1)} ×${c}`);
    log(
      `a task run twice (${twice[0]}): work done by ${work.join(', ')}; its events: ${history
        .map(
          (e) =>
            `${e.type}${e.data.attempt ? `@${e.data.attempt}` : ''}${e.data.workerId ? `/${String(e.data.workerId).slice(0, 8)}` : ''}${e.data.reason ? `(${e.data.reason})` : ''} ${new Date(e.occurred_at).toISOString().slice(17, 23)}`,
        )
        .join(', ')}`,
    );
    logAgentLines((l) => l.includes(twice[0].slice(0, 13)));
    if (process.env.CHAOS_DEBUG) logAgentLines((l) => /pulling|NATS|reconnect/i.test(l), 12);
    if (process.env.CHAOS_DEBUG)
      for (const line of platform
        .service('tasks')
        .output()
        .split('\n')
        .filter((l) => /relay|work order|dispatch|error/i.test(l))
        .slice(-15))
        log(`  tasks: ${line.slice(0, 400)}`);
  }

  logReplays();

  // Stale results: from each task's stream in the tasks store.
  const events = await query(
    platform.databases.tasks,
    "select stream_id, type, data, occurred_at from event_store.events where stream_id = any($1) and type in ('TaskCreated', 'TaskAssigned', 'TaskStarted', 'TaskRequeued', 'TaskSucceeded') order by position",
    [ids.map((id) => `task-${id}`)],
  );
  const byTask = new Map();
  for (const e of events) {
    if (e.type === 'TaskCreated' || e.type === 'TaskStarted') continue;
    const list = byTask.get(e.stream_id) ?? [];
    list.push(e);
    byTask.set(e.stream_id, list);
  }
  // How long each task waited for its first start (the store's clock), and how many leases ran out.
  const createdAt = new Map(events.filter((e) => e.type === 'TaskCreated').map((e) => [e.stream_id, new Date(e.occurred_at).getTime()]));
  const startedAt = new Map();
  for (const e of events) if (e.type === 'TaskStarted' && !startedAt.has(e.stream_id)) startedAt.set(e.stream_id, new Date(e.occurred_at).getTime());
  const startDelays = [...startedAt].filter(([id]) => createdAt.has(id)).map(([id, at]) => at - createdAt.get(id));
  const leaseExpiries = events.filter((e) => e.type === 'TaskRequeued' && e.data.reason === 'lease-expired').length;
  const stale = [];
  for (const id of ids) {
    const list = byTask.get(`task-${id}`) ?? [];
    const succeeded = list.filter((e) => e.type === 'TaskSucceeded');
    if (succeeded.length === 0) continue;
    const won = succeeded[0].data.attempt;
    const lastAssigned = Math.max(0, ...list.filter((e) => e.type === 'TaskAssigned').map((e) => e.data.attempt));
    const requeuedBefore = list.slice(0, list.indexOf(succeeded[0])).some((e) => e.type === 'TaskRequeued' && e.data.fromAttempt === won);
    if (succeeded.length > 1 || won !== lastAssigned || requeuedBefore || !dones.has(dirOf(id, won))) stale.push(`${id}@${won}`);
  }
  // A worker declared offline in a round that did not kill or pause one: its heartbeats were late
  // (a loaded machine), its attempts were requeued, and any of them may have run twice.
  const [{ n: offline }] = await query(
    platform.databases.workers,
    "select count(*)::int as n from event_store.events where type = 'WorkerWentOffline' and occurred_at >= $1",
    [new Date(t0).toISOString()],
  );
  if (lost.length) {
    const t = await patiently(() => api(token, 'GET', `/api/v1/tasks/${lost[0]}`), 'get task').catch((e) => ({ error: e.message }));
    log(`a lost task: ${JSON.stringify({ id: t.id, status: t.status, attempt: t.attempt, result: t.result, error: t.error })}`);
    // What the store holds for it and whether its process did its work: where its report went missing.
    const history = await query(platform.databases.tasks, 'select type, data from event_store.events where stream_id = $1 order by position', [
      `task-${lost[0]}`,
    ]);
    logAgentLines((l) => l.includes(lost[0].slice(0, 13)));
    log(
      `  its events: ${history.map((e) => `${e.type}${e.data.attempt ? `@${e.data.attempt}` : ''}`).join(', ')}; work done: ${
        [1, 2, 3]
          .filter((a) => dones.has(dirOf(lost[0], a)))
          .map((a) => `attempt ${a}`)
          .join(', ') || 'none'
      }`,
    );
  }
  return {
    offline,
    createdTwice,
    ids,
    lost,
    twice,
    stale,
    statuses: lost.map((id) => `${id.slice(0, 8)}:${status.get(id) ?? 'missing'}`),
    ms: Date.now() - t0,
    startDelays,
    leaseExpiries,
  };
}

/** Waits until no task process of the run is alive (≤ 10 s) and returns those still alive. */
async function orphanCount() {
  const deadline = Date.now() + 10_000;
  let left = orphans();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(250);
    left = orphans();
  }
  // What outlived its agent, and under which parent: the lead to why it was not killed.
  for (const p of left.slice(0, 5)) log(`orphan pid ${p.pid} (parent ${p.ppid}, state ${p.state}): ${p.cmdline.replaceAll('\0', ' ').slice(0, 200)}`);
  return left.length;
}

/** Every service and agent process still alive? A process that died of another's crash is a finding: say it and bring it back. */
async function deadProcesses() {
  const dead = [];
  const alive = (pid) => {
    try {
      process.kill(pid, 0);
      return !processes().some((p) => p.pid === pid && p.state === 'Z');
    } catch {
      return false;
    }
  };
  for (const name of infra.platformServices) {
    if (!alive(platform.service(name).pid)) {
      dead.push(name);
      await platform.restart(name, 'kill');
    }
  }
  for (const name of standbyRunning ? HA_SERVICES : []) {
    if (!alive(platform.replica(name, 1).pid)) {
      dead.push(`${name} replica 1`);
      await platform.restartReplica(name, 1, 'kill');
    }
  }
  for (let w = 0; w < WORKERS; w++) {
    if (!alive(agents[w].pid)) {
      dead.push(`agent ${w}`);
      restartAgent(w);
    }
  }
  return dead;
}

// Read models equal after a rebuild: wait for each projection to reach its store's head, snapshot,
// run the service's replay.js, snapshot again.
const readModels = [
  { service: 'tasks', checkpoint: 'projection:task_view', tables: ['task_view order by id'] },
  { service: 'workers', checkpoint: 'projection:worker_view', tables: ['worker_view order by id'] },
  {
    service: 'workflows',
    checkpoint: 'projection:workflows',
    tables: ['workflow_view order by id', 'run_view order by id', 'schedule_view order by schedule_id'],
  },
];
async function replayEqual() {
  const differences = [];
  for (const m of readModels) {
    const url = platform.databases[m.service];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [head] = await query(url, 'select max(position)::text as head from event_store.events');
      const [cp] = await query(url, 'select position::text from event_store.checkpoints where name = $1', [m.checkpoint]);
      if (head.head === null || cp?.position === head.head) break;
      if (Date.now() > deadline) {
        differences.push(`${m.service}: projection stuck at ${cp?.position} of ${head.head}`);
        break;
      }
      await sleep(200);
    }
    const snap = async () => {
      const out = {};
      for (const t of m.tables) {
        const rows = await query(url, `select * from ${t}`);
        // next_fire_at is recomputed from the clock at rebuild time (ARCHITECTURE.md, Workflows).
        out[t] = JSON.stringify(
          rows.map((row) => {
            const { next_fire_at, ...r } = row;
            void next_fire_at;
            return r;
          }),
        );
      }
      return out;
    };
    const before = await snap();
    const r = spawnSync(process.execPath, [join(root, 'services', m.service, 'dist', 'replay.js')], {
      env: { ...process.env, DATABASE_URL: url },
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      differences.push(`${m.service}: replay failed: ${r.stderr.slice(-300)}`);
      continue;
    }
    const after = await snap();
    for (const t of m.tables) if (before[t] !== after[t]) differences.push(`${m.service}: ${t.split(' ')[0]} differs after rebuild`);
  }
  return differences;
}

// ---------------------------------------------------------------------------------------------
const rows = [];
const started = Date.now();
log(
  `seed ${SEED} · ${SHORT ? 'short' : 'long'} · ${TASKS} shell tasks a round · ${TIMES}× each target · ${WORKERS} agents × ${SLOTS} slots · OFFLINE_AFTER_MS ${OFFLINE_AFTER_MS}`,
);

for (const target of targets) {
  if (!wanted(target.name)) continue;
  // The HA rows run with a standby replica of each HA service; every other row with one process each.
  if (Boolean(target.ha) !== standbyRunning) await standbys(Boolean(target.ha));
  const row = { target: target.name, runs: 0, tasks: 0, lost: 0, twice: 0, stale: 0, orphans: 0, replay: 'equal', notes: [] };
  if (target.ha) Object.assign(row, { takeoverMs: [], flowMs: [], kills: [] });
  for (let k = 0; k < (target.times ?? TIMES); k++) {
    // The moment: when a random share (10–70 %) of the round's tasks have finished their work.
    const at = 0.1 + 0.6 * random();
    const victim = random();
    let killedAt;
    const diedDuring = [];
    const r = await round({
      count: TASKS,
      workMs: 100,
      during: async (progress, probe) => {
        while (progress() < at) await sleep(20);
        killedAt = progress();
        const t = Date.now();
        const measured = await target.crash(victim, probe);
        if (target.ha) {
          for (const kill of measured.kills) {
            row.kills.push(kill);
            row.takeoverMs.push(kill.takeoverMs);
            row.flowMs.push(kill.flowMs);
            if (kill.note) row.notes.push(kill.note);
          }
          await measured.restarted;
        }
        // A service that died of the crash (e.g. on an unhandled Postgres error) is brought back
        // now, or the round could not finish; the row names it and fails.
        await sleep(target.settleMs ?? 5000);
        diedDuring.push(...(await deadProcesses()));
        log(`${target.name}: killed at ${(killedAt * 100).toFixed(0)} % of round ${roundNo}, back in ${Date.now() - t} ms`);
      },
    });
    row.runs++;
    row.tasks += r.ids.length;
    row.lost += r.lost.length;
    row.twice += r.twice.length;
    row.stale += r.stale.length;
    row.orphans += await orphanCount();
    if (r.lost.length) row.notes.push(`lost ${r.statuses.slice(0, 5).join(' ')}`);
    if (r.twice.length)
      row.notes.push(
        `twice ${r.twice
          .slice(0, 3)
          .map((id) => id.slice(0, 8))
          .join(' ')}`,
      );
    if (r.stale.length) row.notes.push(`stale ${r.stale.slice(0, 3).join(' ')}`);
    if (r.createdTwice) row.notes.push(`created twice: ${r.createdTwice} requests retried with their Idempotency-Key made a second task`);
    if (r.offline && target.name !== 'worker agent')
      row.notes.push(`round ${roundNo}: ${r.offline} WorkerWentOffline (heartbeats later than OFFLINE_AFTER_MS)`);
    const dead = [...diedDuring, ...(await deadProcesses())];
    if (dead.length) row.notes.push(`died as well: ${dead.join(', ')}`);
    log(
      `${target.name} #${k + 1}: ${r.ids.length} tasks in ${(r.ms / 1000).toFixed(1)} s, lost ${r.lost.length}, twice ${r.twice.length}, stale ${r.stale.length}`,
    );
  }
  const diffs = await replayEqual();
  if (diffs.length) {
    row.replay = 'DIFFERENT';
    row.notes.push(...diffs);
  }
  // A task process that did its work in the instant before its agent died, before its wrapper wrote
  // the tool's exit status (worker/src/agent/leftover-attempt.ts), is handed back and runs again:
  // at-least-once, inherent to running work beside a process that can die. Counted and explained,
  // not counted as a failure.
  row.twiceInherent = target.twiceInherent === true;
  if (row.twiceInherent && row.twice > 0)
    row.notes.push(
      'twice is inherent here: those processes finished their work as their agent was killed, before their exit status was written; the restarted agent hands the attempt back and it runs again',
    );
  row.ok =
    row.lost === 0 &&
    (row.twice === 0 || row.twiceInherent) &&
    row.stale === 0 &&
    row.orphans === 0 &&
    row.replay === 'equal' &&
    !row.notes.some((n) => n.startsWith('died') || n.startsWith('created twice'));
  if (target.ha) {
    // A takeover that did not happen within 30 s is undefined: it fails the row like a slow one.
    const slow = row.takeoverMs.filter((ms) => !(ms <= TAKEOVER_LIMIT_MS));
    if (slow.length)
      row.notes.push(
        `takeover over ${TAKEOVER_LIMIT_MS / 1000} s: ${slow.map((ms) => (ms === undefined ? 'none in 30 s' : `${(ms / 1000).toFixed(1)} s`)).join(', ')}`,
      );
    if (row.flowMs.includes(undefined)) row.notes.push('a task created at the kill did not start within 60 s');
    row.notes.push(
      `takeover (flow): ${row.kills.map((k) => `${k.service} ${k.takeoverMs === undefined ? '—' : (k.takeoverMs / 1000).toFixed(1)} s (${k.flowMs === undefined ? '—' : (k.flowMs / 1000).toFixed(1)} s)`).join(', ')}`,
    );
    row.ok &&= slow.length === 0 && !row.flowMs.includes(undefined) && row.takeoverMs.length === row.runs * target.kills;
  }
  rows.push(row);
}
// The rows after this one kill the single process of a service again.
if (standbyRunning) await standbys(false);

// A worker agent paused past its lease, then resumed: its late reports must be rejected.
if (wanted('sigstop')) {
  const row = { target: 'agent SIGSTOP past lease', runs: 1, tasks: 0, lost: 0, twice: 0, stale: 0, orphans: 0, replay: 'equal', notes: [] };
  const w = Math.floor(random() * WORKERS);
  const at = 0.1 + 0.4 * random();
  let resumedAt = 0;
  const r = await round({
    // Tasks of 2 s: the paused agent holds a full set of slots mid-run.
    count: Math.max(40, Math.min(TASKS, 200)),
    workMs: 2000,
    during: async (progress) => {
      while (progress() < at) await sleep(20);
      const pid = agents[w].pid;
      process.kill(pid, 'SIGSTOP');
      log(`agent ${w} (pid ${pid}) stopped at ${(progress() * 100).toFixed(0)} %`);
      // Past the lease: the workers service declares it offline and tasks requeues its attempts.
      await sleep(OFFLINE_AFTER_MS + 4000);
      process.kill(pid, 'SIGCONT');
      resumedAt = Date.now();
      log(`agent ${w} resumed after ${OFFLINE_AFTER_MS + 4000} ms`);
    },
  });
  row.tasks = r.ids.length;
  row.lost = r.lost.length;
  row.stale = r.stale.length;
  row.twice = r.twice.length;
  row.orphans = await orphanCount();
  // The round ends once every task is terminal, which the requeued attempts reach elsewhere while
  // the agent is still paused; its late reports arrive after it resumes, so they are counted until
  // each task it ran twice has one (its `finished` report, fenced), or for 30 s.
  const lateReports = async () => {
    const [{ n }] = await query(
      platform.databases.tasks,
      "select count(*)::int as n from event_store.events where stream_id = any($1) and type = 'TaskReportRejected' and data->>'workerId' = $2",
      [r.ids.map((id) => `task-${id}`), workerIds[w]],
    );
    return n;
  };
  let late = await lateReports();
  for (const until = Date.now() + 30_000; late < Math.max(1, r.twice.length) && Date.now() < until;) {
    await sleep(500);
    late = await lateReports();
  }
  row.notes.push(`${late} late report(s) of the paused agent rejected`);
  if (r.twice.length)
    row.notes.push(
      `twice is inherent here: the paused agent's task processes are not paused and finish their work; its attempts are requeued and run again elsewhere (at-least-once after a lost lease)`,
    );
  if (r.lost.length) row.notes.push(`lost ${r.statuses.slice(0, 5).join(' ')}`);
  const dead = await deadProcesses();
  if (dead.length) row.notes.push(`died as well: ${dead.join(', ')}`);
  const diffs = await replayEqual();
  if (diffs.length) {
    row.replay = 'DIFFERENT';
    row.notes.push(...diffs);
  }
  void resumedAt;
  row.twiceInherent = true;
  if (r.createdTwice) row.notes.push(`created twice: ${r.createdTwice}`);
  row.ok = late > 0 && row.lost === 0 && row.stale === 0 && row.orphans === 0 && row.replay === 'equal' && !dead.length && !r.createdTwice;
  rows.push(row);
}

// nats-server killed and restarted 10 times in 60 s while tasks are submitted and run.
if (wanted('nats-flap')) {
  const row = { target: 'nats-server ×10 in 60 s', runs: 1, tasks: 0, lost: 0, twice: 0, stale: 0, orphans: 0, replay: 'equal', notes: [] };
  const count = SHORT ? 150 : 1000;
  const r = await round({
    count,
    workMs: 100,
    pace: 55_000, // submissions spread over the minute, so every restart meets work in flight
    during: async () => {
      const t0 = Date.now();
      for (let i = 0; i < 10; i++) {
        await sleep(Math.max(0, t0 + i * 6000 + random() * 1000 - Date.now()));
        await platform.nats.kill();
        await platform.nats.restart();
      }
      log(`nats-server restarted 10 times in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
  });
  Object.assign(row, { tasks: r.ids.length, lost: r.lost.length, twice: r.twice.length, stale: r.stale.length, orphans: await orphanCount() });
  // Not a pass/fail figure: how much the flapping held work back (a lease runs out at 30 s).
  const delays = r.startDelays.sort((a, b) => a - b);
  const at = (q) => (delays.length ? (delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] / 1000).toFixed(1) : '—');
  row.notes.push(`created → started p50 ${at(0.5)} s, p99 ${at(0.99)} s, max ${at(1)} s; ${r.leaseExpiries} lease(s) ran out`);
  if (r.lost.length) row.notes.push(`lost ${r.statuses.slice(0, 5).join(' ')}`);
  if (r.twice.length)
    row.notes.push(
      `twice ${r.twice
        .slice(0, 3)
        .map((id) => id.slice(0, 8))
        .join(' ')}`,
    );
  const dead = await deadProcesses();
  if (dead.length) row.notes.push(`died as well: ${dead.join(', ')}`);
  const diffs = await replayEqual();
  if (diffs.length) {
    row.replay = 'DIFFERENT';
    row.notes.push(...diffs);
  }
  if (r.createdTwice) row.notes.push(`created twice: ${r.createdTwice}`);
  row.ok = row.lost === 0 && row.twice === 0 && row.stale === 0 && row.orphans === 0 && row.replay === 'equal' && !dead.length && !r.createdTwice;
  rows.push(row);
}

await stopAll();
clearInterval(relogin);

// ---------------------------------------------------------------------------------------------
const seconds = Math.round((Date.now() - started) / 1000);
const header = ['target', 'runs', 'tasks', 'lost', 'twice', 'stale', 'replay', 'orphans', 'takeover', 'result'];
/** HA rows: the slowest takeover and the slowest restart of work, in seconds ("—" when it did not happen). */
const slowest = (list) => (list.some((ms) => typeof ms !== 'number') ? '—' : (Math.max(...list) / 1000).toFixed(1));
const table = rows.map((r) => [
  r.target,
  r.runs,
  r.tasks,
  r.lost,
  r.twiceInherent ? `${r.twice}*` : r.twice,
  r.stale,
  r.replay,
  r.orphans,
  r.takeoverMs ? `${slowest(r.takeoverMs)} s, flow ${slowest(r.flowMs)} s` : '',
  r.ok ? 'pass' : 'FAIL',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => String(t[i]).length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
const out = [
  `crash matrix: seed ${SEED} (replay with --seed ${SEED}), ${SHORT ? 'short' : 'long'}: ${TIMES}× each target, ${TASKS} shell tasks a round (100 ms of work each), ${WORKERS} agents × ${SLOTS} slots, OFFLINE_AFTER_MS ${OFFLINE_AFTER_MS}, ${seconds} s`,
  line(header),
  line(widths.map((w) => '-'.repeat(w))),
  ...table.map(line),
  ...(rows.some((r) => r.twiceInherent) ? ['* counted, not a failure of the row: see its note'] : []),
  ...(rows.some((r) => r.takeoverMs)
    ? [
        `takeover: kill -9 of the lease holder → the standby holds the lease (slowest round; the row fails over ${TAKEOVER_LIMIT_MS / 1000} s); flow: → a task created at the kill has started`,
      ]
    : []),
  ...rows.filter((r) => r.notes.length).map((r) => `${r.target}: ${r.notes.join('; ')}`),
  `${rows.filter((r) => r.ok).length} passed, ${rows.filter((r) => !r.ok).length} failed`,
];
process.stdout.write(`${out.join('\n')}\n`);
if (opts.json) writeFileSync(opts.json, JSON.stringify({ seed: SEED, short: SHORT, tasks: TASKS, times: TIMES, seconds, rows }, null, 2));
process.exit(rows.every((r) => r.ok) && rows.length > 0 ? 0 : 1);
