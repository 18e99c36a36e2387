#!/usr/bin/env node
// Tasks benchmark: Agentyard vs BullMQ (Redis from Debian) on the same no-op workload, the same
// number of workers and slots, in the same run (these machines are noisy, so only ratios matter).
//   1. dispatch latency, accepted → worker started, at a steady RATE tasks/s: p50 / p99
//   2. sustained no-op tasks/s end to end (Agentyard: created → succeeded → visible in task_view)
//   3. idle worker agent: RSS and CPU over IDLE_SECONDS
// The no-op does nothing on both sides: BullMQ's processor returns at once and Agentyard runs its
// `noop` tool (the agent reports started and succeeded without spawning a process). A process per
// task (`sh -c true` in a PTY) costs ~8 ms of CPU here and would cap both systems near 120 tasks/s,
// measuring fork/exec rather than the queueing machinery; PTY=1 measures that variant instead.
// Usage: npm run bench:tasks   (env: RATE=200 SECONDS=10 BURST=2000 WORKERS=2 SLOTS=8 IDLE_SECONDS=30;
//   PROFILE=<service> writes a CPU profile of that service, see cpu-profile.preload.cjs)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRedisServer } from '../../infra/scripts/ensure-system-deps.mjs';

// Before anything starts: the BullMQ peer needs redis-server (a fresh machine has none).
try {
  process.env.REDIS_SERVER_BIN = ensureRedisServer();
} catch (e) {
  process.stderr.write(`bench:tasks cannot run: ${e.message}\n`);
  process.exit(1);
}
const { api, burst, root, sleep, startBenchPlatform } = await import('./bench-platform.mjs');
const { benchBullmq, paced, pct } = await import('./bullmq-peer.mjs');

const require = createRequire(import.meta.url);
const pg = require('pg');

const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 10);
const BURST = Number(process.env.BURST ?? 2000);
const WORKERS = Number(process.env.WORKERS ?? 2);
const SLOTS = Number(process.env.SLOTS ?? 8);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 30);

const PTY = process.env.PTY === '1';

// ---------------------------------------------------------------------------------------------
async function benchAgentyard() {
  const { platform, base, token, agents, stop } = await startBenchPlatform({ workers: WORKERS, slots: SLOTS });
  const db = new pg.Client({ connectionString: platform.databases.tasks });
  await db.connect();
  const countSucceeded = async () => Number((await db.query("select count(*)::int n from task_view where status = 'succeeded'")).rows[0].n);
  const task = PTY ? { description: 'noop', tool: 'shell', input: { command: 'true' } } : { description: 'noop', tool: 'noop', input: {} };

  // 1. latency at a steady rate: TaskCreated time → the agent's started time (same machine clock).
  const ids = await paced(RATE * SECONDS, RATE, async () => (await api(base, token, 'POST', '/api/v1/tasks', task)).id);
  while ((await countSucceeded()) < ids.length) await sleep(200);
  const { rows } = await db.query('select extract(epoch from (started_at - created_at)) * 1000 as ms from task_view where id = any($1)', [ids]);
  const latency = rows.map((r) => Number(r.ms));
  const stages = await stageBreakdown(platform, ids);

  // 2. sustained throughput: submit BURST as fast as 64 concurrent clients can, until all are
  //    succeeded *and visible in task_view*.
  const before = await countSucceeded();
  const t0 = performance.now();
  await burst(base, token, task, BURST);
  while ((await countSucceeded()) < before + BURST) await sleep(50);
  const throughput = BURST / ((performance.now() - t0) / 1000);

  // 3. an idle agent: CPU ticks and RSS from /proc over IDLE_SECONDS.
  const idle = agents[0];
  const stat = () => readFileSync(`/proc/${idle.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = () => Number(stat()[11]) + Number(stat()[12]);
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
  await sleep(5_000);
  const c0 = ticks();
  await sleep(IDLE_SECONDS * 1000);
  const cpuPercent = ((ticks() - c0) / hz / IDLE_SECONDS) * 100;
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${idle.pid}/status`, 'utf8'))[1]) / 1024;

  await db.end();
  await stop();
  return { latency, throughput, cpuPercent, rssMb, stages };
}

/**
 * Where the dispatch latency goes, from the events' own timestamps (one machine, one clock):
 * p50 / p99 of created → AllocationDecided → TaskAssigned → TaskStarted over the paced tasks.
 */
async function stageBreakdown(platform, ids) {
  const at = async (url, sql, args) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql, args)).rows;
    } finally {
      await c.end();
    }
  };
  const streams = ids.map((id) => `task-${id}`);
  const taskRows = await at(
    platform.databases.tasks,
    "select stream_id, type, occurred_at, data from event_store.events where stream_id = any($1) and type in ('TaskCreated', 'TaskAssigned', 'TaskStarted')",
    [streams],
  );
  const decided = await at(
    platform.databases.allocation,
    "select data->>'taskId' as task_id, occurred_at from event_store.events where type = 'AllocationDecided' and data->>'taskId' = any($1)",
    [ids],
  );
  const t = new Map(ids.map((id) => [id, {}]));
  for (const r of taskRows) {
    const e = t.get(r.stream_id.slice(5));
    if (r.type === 'TaskStarted') e.TaskStarted = Date.parse(r.data.startedAt ?? r.occurred_at);
    else e[r.type] ??= new Date(r.occurred_at).getTime();
  }
  for (const r of decided) {
    const e = t.get(r.task_id);
    if (e) e.AllocationDecided ??= new Date(r.occurred_at).getTime();
  }
  const steps = [
    ['TaskCreated', 'AllocationDecided'],
    ['AllocationDecided', 'TaskAssigned'],
    ['TaskAssigned', 'TaskStarted'],
  ];
  return steps.map(([from, to]) => {
    const xs = [...t.values()].filter((e) => e[from] && e[to]).map((e) => e[to] - e[from]);
    return `${from} → ${to}: p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms`;
  });
}

// ---------------------------------------------------------------------------------------------
const bull = await benchBullmq({ rate: RATE, seconds: SECONDS, burst: BURST, workers: WORKERS, slots: SLOTS, pty: PTY });
const ay = await benchAgentyard();
const row = (name, a, b, unit, better) => `| ${name} | ${a.toFixed(1)} ${unit} | ${b.toFixed(1)} ${unit} | ${(a / b).toFixed(2)} (${better}) |`;
const lines = [
  `workers=${WORKERS} slots=${SLOTS} rate=${RATE}/s for ${SECONDS}s, burst=${BURST}, no-op=${PTY ? 'sh -c true in a PTY' : 'nothing'}, node ${process.version}`,
  '| measure | Agentyard | BullMQ | ratio Agentyard/BullMQ |',
  '|---|---|---|---|',
  row('dispatch p50', pct(ay.latency, 50), pct(bull.latency, 50), 'ms', 'lower is better'),
  row('dispatch p99', pct(ay.latency, 99), pct(bull.latency, 99), 'ms', 'lower is better'),
  row('sustained tasks/s', ay.throughput, bull.throughput, '/s', 'higher is better'),
  `idle worker agent: RSS ${ay.rssMb.toFixed(1)} MB, CPU ${ay.cpuPercent.toFixed(2)} % over ${IDLE_SECONDS} s`,
  `Agentyard dispatch stages at ${RATE}/s: ${ay.stages.join('; ')}`,
];
process.stdout.write(lines.join('\n') + '\n');
writeFileSync(join(root, '.test-results', 'bench-tasks.txt'), lines.join('\n') + '\n');
process.exit(0);
