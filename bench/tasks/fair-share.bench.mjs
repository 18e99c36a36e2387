#!/usr/bin/env node
// Fair share: user B's task on a worker B shares with user A, while A has BACKLOG tasks queued there.
// Goal (issue #14): B's task starts within a second while A has 10,000 queued. Allocation gives
// each user turns within a priority (start-time fair queueing, ARCHITECTURE.md "Fair share
// between users"), so B's new task is next in line, not behind A's backlog.
//   1. one worker agent (SLOTS slots) registered by A, shared with B (`POST /workers/{id}/roles`,
//      role `user`: B may run tasks there, the agent isolates them with bubblewrap);
//   2. the peer, same run: PROBES of B's no-op tasks one at a time on the idle platform;
//   3. A's backlog: the worker is drained (it takes nothing new), A submits BACKLOG + EXTRA no-op
//      tasks (they queue), the worker is resumed and serves A's queue at full speed;
//   4. PROBES of B's tasks, one at a time, while A's queue drains; A's queued count is read at each.
// Dispatch latency is task_view's created_at → started_at, as bench:tasks measures it; each phase
// is also split by the events' timestamps into created → decided → assigned → started. The run
// fails (exit 1) when a probe under the backlog took more than a second, or A had fewer than
// BACKLOG queued at a probe (the scenario was not what it claims).
// Usage: npm run bench:fair-share  (env: BACKLOG=10000 EXTRA=2000 PROBES=10 SLOTS=8)
import { createRequire } from 'node:module';
import { api, burst, sleep, startBenchPlatform } from './bench-platform.mjs';
import { pct } from './bullmq-peer.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');

const BACKLOG = Number(process.env.BACKLOG ?? 10_000);
// A's tasks that drain while B's probes run (~60 no-op tasks/s here): topped up front, so A's
// queue is still ≥ BACKLOG at the last probe.
const EXTRA = Number(process.env.EXTRA ?? 2_000);
const PROBES = Number(process.env.PROBES ?? 10);
const SLOTS = Number(process.env.SLOTS ?? 8);
const GOAL_MS = 1_000;
const noop = (who) => ({ description: `fair-share ${who}`, tool: 'noop', input: {} });

const {
  platform,
  base,
  token: tokenA,
  stop,
} = await startBenchPlatform({
  workers: 1,
  slots: SLOTS,
  serviceEnv: { tasks: { TASKS_MAX_QUEUED: String(4 * (BACKLOG + EXTRA)) } },
});
const db = new pg.Client({ connectionString: platform.databases.tasks });
db.on('error', () => undefined);
let failed = false;
try {
  await db.connect();
  process.stdout.write(
    `load average at start: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  await api(base, null, 'POST', '/api/v1/auth/register', { username: 'bench-b', email: 'bench-b@example.com', password: 'bench-b-password' });
  const { accessToken: tokenB } = await api(base, null, 'POST', '/api/v1/auth/login', { username: 'bench-b', password: 'bench-b-password' });
  const [userA, userB] = [await api(base, tokenA, 'GET', '/api/v1/auth/me'), await api(base, tokenB, 'GET', '/api/v1/auth/me')];
  const {
    items: [worker],
  } = await api(base, tokenA, 'GET', '/api/v1/workers');
  await api(base, tokenA, 'POST', `/api/v1/workers/${worker.id}/roles`, { userId: userB.id, role: 'user' });

  const queuedOfA = async () =>
    Number((await db.query("select count(*)::int n from task_view where owner_id = $1 and status = 'queued'", [userA.id])).rows[0].n);
  /** One B task: created → started (task_view, ms), and A's queued count when it was created. */
  const probe = async () => {
    const queued = await queuedOfA();
    const { id } = await api(base, tokenB, 'POST', '/api/v1/tasks', noop('B'));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await db.query(
        'select extract(epoch from (started_at - created_at)) * 1000 as ms from task_view where id = $1 and started_at is not null',
        [id],
      );
      if (rows.length) return { id, ms: Number(rows[0].ms), queued };
      if (Date.now() > deadline) return { id, ms: Number.POSITIVE_INFINITY, queued };
      await sleep(20);
    }
  };
  /**
   * Where each probe's time went, from the events' own timestamps (as bench:tasks splits it):
   * created → allocation decided → assigned → started, ms per hop. Shows whether a slow probe
   * waited for allocation (its turn, a free slot) or for the agent.
   */
  const hopsOf = async (list) => {
    const ids = list.map((p) => p.id);
    const rows = (
      await db.query(
        "select stream_id, type, occurred_at, data from event_store.events where stream_id = any($1) and type in ('TaskCreated', 'TaskAssigned', 'TaskStarted')",
        [ids.map((id) => `task-${id}`)],
      )
    ).rows;
    const alloc = new pg.Client({ connectionString: platform.databases.allocation });
    await alloc.connect();
    const decided = (
      await alloc.query(
        "select data->>'taskId' as task_id, occurred_at from event_store.events where type = 'AllocationDecided' and data->>'taskId' = any($1)",
        [ids],
      )
    ).rows;
    await alloc.end();
    const at = new Map(ids.map((id) => [id, {}]));
    for (const r of rows) {
      const e = at.get(r.stream_id.slice(5));
      if (r.type === 'TaskStarted') e.started = Date.parse(r.data.startedAt ?? r.occurred_at);
      else e[r.type === 'TaskCreated' ? 'created' : 'assigned'] ??= new Date(r.occurred_at).getTime();
    }
    for (const r of decided) at.get(r.task_id).decided ??= new Date(r.occurred_at).getTime();
    return ids.map((id) => {
      const e = at.get(id);
      return [e.decided - e.created, e.assigned - e.decided, e.started - e.assigned];
    });
  };
  const hopLine = (hops) =>
    ['created → decided', 'decided → assigned', 'assigned → started']
      .map((name, i) => `${name} p50 ${pct(hops.map((h) => h[i]).filter(Number.isFinite), 50)} ms`)
      .join(', ');
  const probes = async (gapMs) => {
    const out = [];
    for (let i = 0; i < PROBES; i++) {
      out.push(await probe());
      await sleep(gapMs);
    }
    return out;
  };

  // 2. the peer: B alone on the idle platform.
  const idle = await probes(300);

  // 3. A's backlog, queued while the worker takes nothing new.
  await api(base, tokenA, 'POST', `/api/v1/workers/${worker.id}/drain`, {});
  const t0 = performance.now();
  await burst(base, tokenA, noop('A'), BACKLOG + EXTRA);
  const queuedBefore = await queuedOfA();
  process.stdout.write(`A queued ${queuedBefore} tasks in ${((performance.now() - t0) / 1000).toFixed(0)} s (worker drained)\n`);
  await api(base, tokenA, 'POST', `/api/v1/workers/${worker.id}/resume`, {});
  // Let the worker fill its slots with A's tasks first: B's probes meet a busy worker.
  await sleep(2_000);

  // 4. B under A's backlog.
  const t1 = performance.now();
  const backlog = await probes(500);
  const drainedPerSecond = (queuedBefore - (await queuedOfA())) / ((performance.now() - t1 + 2_000) / 1000);

  const summary = (list) => {
    const ms = list.map((p) => p.ms);
    return `p50 ${pct(ms, 50).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms`;
  };
  const queuedAt = backlog.map((p) => p.queued);
  const [idleHops, backlogHops] = [await hopsOf(idle), await hopsOf(backlog)];
  const slowest = backlog.reduce((worst, p, i) => (p.ms > backlog[worst].ms ? i : worst), 0);
  const ratio =
    pct(
      backlog.map((p) => p.ms),
      50,
    ) /
    pct(
      idle.map((p) => p.ms),
      50,
    );
  const lines = [
    `fair share: 1 worker × ${SLOTS} slots owned by A, shared with B (role user); ${PROBES} B probes per phase, node ${process.version}`,
    `B alone (peer)                    ${summary(idle)}`,
    `B while A has ${Math.min(...queuedAt).toLocaleString('en')}–${Math.max(...queuedAt).toLocaleString('en')} queued   ${summary(backlog)}   (p50 ratio ${ratio.toFixed(2)})`,
    `B per probe under the backlog (ms): ${backlog.map((p) => p.ms.toFixed(0)).join(' ')}`,
    `A queued at each of those probes:   ${queuedAt.join(' ')}`,
    `B alone, hops:             ${hopLine(idleHops)}`,
    `B behind the queue, hops:  ${hopLine(backlogHops)}`,
    `B's slowest behind the queue (${backlog[slowest].ms.toFixed(0)} ms): ${backlogHops[slowest].join(' + ')} ms`,
    `A's queue drained at ${drainedPerSecond.toFixed(1)} tasks/s meanwhile`,
  ];
  const slow = backlog.filter((p) => !(p.ms <= GOAL_MS)).length;
  const short = queuedAt.filter((q) => q < BACKLOG).length;
  if (slow) lines.push(`GOAL MISSED: ${slow} of ${PROBES} B tasks took more than ${GOAL_MS} ms to start`);
  if (short) lines.push(`SCENARIO NOT MET: at ${short} probes A had fewer than ${BACKLOG} queued (raise EXTRA)`);
  failed = slow > 0 || short > 0;
  lines.push(
    `load average at end: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await db.end().catch(() => undefined);
  await stop();
}
process.exit(failed ? 1 : 0);
