#!/usr/bin/env node
// Workflows benchmark: Agentyard's workflow runtime vs a BullMQ flow (Redis from Debian) on the
// same no-op workload, the same workers and slots, in the same run (only ratios are worth reading
// on these noisy machines).
//   1. step overhead of a chain of CHAIN no-op nodes: node N finished on its worker → node N+1
//      started on its worker, p50 / p99; Agentyard's split by hop from the events' own
//      timestamps, and the workflows service's own share (terminal event received → the next
//      node's task requested, committed) from its metric agentyard_workflows_task_event_to_commit_seconds;
//   2. a fan-out / fan-in of FANOUT no-op nodes (start → FANOUT nodes → a join on all): total
//      time, and the workflows service's memory (RSS before, peak during).
// BullMQ's chain is a flow whose jobs are nested children (a parent job runs once its child
// completed), its fan-out a parent with FANOUT children.
// Usage: npm run bench:workflows   (env: CHAIN=100 FANOUT=1000 WORKERS=2 SLOTS=8 ROUNDS=1)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRedisServer } from '../../infra/scripts/ensure-system-deps.mjs';

let redisBin;
try {
  redisBin = ensureRedisServer();
} catch (e) {
  process.stderr.write(`bench:workflows cannot run: ${e.message}\n`);
  process.exit(1);
}
const { api, root, sleep, startBenchPlatform } = await import('../tasks/bench-platform.mjs');
const { pct } = await import('../tasks/bullmq-peer.mjs');

const require = createRequire(import.meta.url);
const pg = require('pg');
const infra = require(join(root, 'services/libs/local-infra/dist/index.js'));
const { FlowProducer, Worker, QueueEvents } = require('bullmq');
const IORedis = require('ioredis');

const CHAIN = Number(process.env.CHAIN ?? 100);
const FANOUT = Number(process.env.FANOUT ?? 1000);
const WORKERS = Number(process.env.WORKERS ?? 2);
const SLOTS = Number(process.env.SLOTS ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const now = () => performance.timeOrigin + performance.now();
const noop = { tool: 'noop', input: {} };

// ---------------------------------------------------------------------------------------------
async function benchBullmq() {
  const port = await infra.freePort();
  const redis = spawn(redisBin, ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'bench-redis-'))], {
    stdio: 'ignore',
  });
  await infra.waitForPort(port);
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const clients = [];
  const client = () => {
    const c = new IORedis(connection);
    clients.push(c);
    return c;
  };
  const started = new Map();
  const finished = new Map();
  const workers = Array.from(
    { length: WORKERS },
    () =>
      new Worker(
        'wf',
        async (job) => {
          started.set(job.data.key, now());
          finished.set(job.data.key, now());
        },
        { connection: client(), concurrency: SLOTS },
      ),
  );
  const events = new QueueEvents('wf', { connection: client() });
  await events.waitUntilReady();
  const flows = new FlowProducer({ connection: client() });
  const opts = { removeOnComplete: true };

  const steps = [];
  for (let round = 0; round < ROUNDS; round++) {
    // The chain: step 0 is the innermost child, so it runs first; each parent runs after it.
    let node;
    for (let i = 0; i < CHAIN; i++) node = { name: 'step', queueName: 'wf', data: { key: `c${round}-${i}` }, opts, ...(node ? { children: [node] } : {}) };
    await flows.add(node);
    while (!finished.has(`c${round}-${CHAIN - 1}`)) await sleep(5);
    for (let i = 0; i + 1 < CHAIN; i++) steps.push(started.get(`c${round}-${i + 1}`) - finished.get(`c${round}-${i}`));
  }

  const t0 = now();
  await flows.add({
    name: 'join',
    queueName: 'wf',
    data: { key: 'join' },
    opts,
    children: Array.from({ length: FANOUT }, (_, i) => ({ name: 'fan', queueName: 'wf', data: { key: `f${i}` }, opts })),
  });
  while (!finished.has('join')) await sleep(5);
  const fanoutMs = now() - t0;

  await Promise.all(workers.map((w) => w.close()));
  await flows.close();
  await events.close();
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  redis.kill('SIGTERM');
  return { steps, fanoutMs };
}

// ---------------------------------------------------------------------------------------------
async function benchAgentyard() {
  const { platform, base, token, stop } = await startBenchPlatform({ workers: WORKERS, slots: SLOTS });
  const query = async (service, sql, args) => {
    const c = new pg.Client({ connectionString: platform.databases[service] });
    await c.connect();
    try {
      return (await c.query(sql, args)).rows;
    } finally {
      await c.end();
    }
  };
  const runToEnd = async (workflowId) => {
    const run = await api(base, token, 'POST', `/api/v1/workflows/${workflowId}/execute`, {});
    for (;;) {
      const view = await api(base, token, 'GET', `/api/v1/runs/${run.id}`);
      if (!['pending', 'running', 'paused'].includes(view.status)) {
        if (view.status !== 'succeeded') throw new Error(`run ${run.id} ended ${view.status}`);
        return view;
      }
      await sleep(50);
    }
  };

  // 1. the chain
  const chain = await api(base, token, 'POST', '/api/v1/workflows', {
    name: `chain of ${CHAIN}`,
    kind: 'sequential',
    settings: { maxParallel: 1 },
    steps: Array.from({ length: CHAIN }, (_, i) => ({ id: `s${i}`, task: noop })),
  });
  const runs = [];
  const probe = await commitProbe(platform.databases.workflows);
  for (let round = 0; round < ROUNDS; round++) runs.push(await runToEnd(chain.id));
  const bareCommits = await probe.stop();
  const share = await workflowsShare(platform);
  const { steps, hops } = await chainSteps(query, runs);

  // 2. fan-out / fan-in
  const fan = await api(base, token, 'POST', '/api/v1/workflows', {
    name: `fan-out of ${FANOUT}`,
    kind: 'graph',
    settings: { maxParallel: 1000 },
    nodes: [
      { id: 'start', type: 'task', task: noop },
      ...Array.from({ length: FANOUT }, (_, i) => ({ id: `n${i}`, type: 'task', task: noop })),
      { id: 'join', type: 'task', join: 'all', task: noop },
    ],
    edges: Array.from({ length: FANOUT }, (_, i) => [
      { from: 'start', to: `n${i}` },
      { from: `n${i}`, to: 'join' },
    ]).flat(),
  });
  const pid = platform.service('workflows').pid;
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const rssBefore = rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 100);
  const t0 = now();
  const view = await runToEnd(fan.id);
  const fanoutMs = now() - t0;
  clearInterval(sampler);
  const fanoutRunMs = Date.parse(view.finishedAt) - Date.parse(view.startedAt);

  await stop();
  return { steps, hops, share, bareCommits, fanoutMs, fanoutRunMs, rssBefore, rssPeak };
}

/**
 * The peer of the workflows service's share: while the chain runs, a durable commit of three
 * ~1 KB jsonb rows in the workflows database (its own table, not the event store) every 25 ms,
 * from this process — what one commit costs in that database under the same load.
 */
async function commitProbe(connectionString) {
  const c = new pg.Client({ connectionString });
  await c.connect();
  await c.query('create table if not exists bench_commit_probe (id bigserial primary key, data jsonb not null)');
  const row = JSON.stringify({ nodeId: 's1', task: { tool: 'noop', input: {}, description: 'x'.repeat(900) } });
  const times = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const t = now();
      await c.query('insert into bench_commit_probe (data) values ($1), ($1), ($1)', [row]);
      times.push(now() - t);
      await sleep(25);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await c.query('drop table bench_commit_probe');
      await c.end();
      return times;
    },
  };
}

/** p50 / p90 / p99 of the workflows service's summary, in ms (one process, so exactly ours). */
async function workflowsShare(platform) {
  const text = await (await fetch(`${platform.internalUrlOf('workflows')}/metrics`)).text();
  const q = (p) => Number(new RegExp(`agentyard_workflows_task_event_to_commit_seconds\\{quantile="${p}"\\} (\\S+)`).exec(text)?.[1]) * 1000;
  const count = Number(/agentyard_workflows_task_event_to_commit_seconds_count (\S+)/.exec(text)?.[1]);
  const a = (p) => Number(new RegExp(`agentyard_workflows_run_append_seconds\\{quantile="${p}"\\} (\\S+)`).exec(text)?.[1]) * 1000;
  return { p50: q('0.5'), p90: q('0.9'), p99: q('0.99'), count, append: { p50: a('0.5'), p90: a('0.9'), p99: a('0.99') } };
}

/**
 * Each step N → N+1 from the events' own timestamps (one machine, one clock): the agent's finish
 * of N (its startedAt + durationMs), the tasks service's TaskSucceeded, the run's NodeScheduled
 * of N+1, TaskCreated, AllocationDecided, TaskAssigned, and the agent's start of N+1.
 */
async function chainSteps(query, runs) {
  const scheduled = await query(
    'workflows',
    "select stream_id, data->>'nodeId' as node, data->>'taskId' as task, occurred_at from event_store.events where type = 'NodeScheduled' and stream_id = any($1)",
    [runs.map((r) => `run-${r.id}`)],
  );
  const taskIds = scheduled.map((r) => r.task);
  const taskRows = await query(
    'tasks',
    "select stream_id, type, occurred_at, data from event_store.events where stream_id = any($1) and type in ('TaskCreated', 'TaskAssigned', 'TaskStarted', 'TaskSucceeded')",
    [taskIds.map((id) => `task-${id}`)],
  );
  const decided = await query(
    'allocation',
    "select data->>'taskId' as task, occurred_at from event_store.events where type = 'AllocationDecided' and data->>'taskId' = any($1)",
    [taskIds],
  );
  const at = new Map(taskIds.map((id) => [id, {}]));
  const ms = (d) => new Date(d).getTime();
  for (const r of scheduled) at.get(r.task).NodeScheduled = ms(r.occurred_at);
  for (const r of decided) at.get(r.task).AllocationDecided ??= ms(r.occurred_at);
  for (const r of taskRows) {
    const e = at.get(r.stream_id.slice(5));
    if (r.type === 'TaskStarted') e.started = Date.parse(r.data.startedAt);
    else if (r.type === 'TaskSucceeded') {
      e.TaskSucceeded = ms(r.occurred_at);
      e.durationMs = r.data.result?.durationMs ?? 0;
    } else e[r.type] ??= ms(r.occurred_at);
  }
  for (const e of at.values()) e.finished = e.started + e.durationMs;
  const byRunNode = new Map(scheduled.map((r) => [`${r.stream_id}/${r.node}`, at.get(r.task)]));
  const pairs = [];
  for (const run of runs) for (let i = 0; i + 1 < CHAIN; i++) pairs.push([byRunNode.get(`run-${run.id}/s${i}`), byRunNode.get(`run-${run.id}/s${i + 1}`)]);
  const steps = pairs.map(([a, b]) => b.started - a.finished);
  const hop = (name, f) => {
    const xs = pairs.map(f).filter(Number.isFinite);
    return `${name} p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms`;
  };
  const hops = [
    hop('agent finished → TaskSucceeded (tasks)', ([a]) => a.TaskSucceeded - a.finished),
    hop('TaskSucceeded → NodeScheduled of the next node (workflows)', ([a, b]) => b.NodeScheduled - a.TaskSucceeded),
    hop('NodeScheduled → TaskCreated (tasks)', ([, b]) => b.TaskCreated - b.NodeScheduled),
    hop('TaskCreated → AllocationDecided', ([, b]) => b.AllocationDecided - b.TaskCreated),
    hop('AllocationDecided → TaskAssigned', ([, b]) => b.TaskAssigned - b.AllocationDecided),
    hop('TaskAssigned → agent started', ([, b]) => b.started - b.TaskAssigned),
  ];
  return { steps, hops };
}

// ---------------------------------------------------------------------------------------------
const bull = await benchBullmq();
const ay = await benchAgentyard();
const f1 = (x) => x.toFixed(1);
const ratio = (a, b) => (b > 0 ? (a / b).toFixed(1) : '∞');
const lines = [
  `chain=${CHAIN} × ${ROUNDS}, fan-out=${FANOUT}, workers=${WORKERS} slots=${SLOTS}, no-op on both sides, node ${process.version}`,
  '| measure | Agentyard | BullMQ flow | Agentyard/BullMQ |',
  '|---|---:|---:|---:|',
  `| chain step p50 (N finished → N+1 started) | ${f1(pct(ay.steps, 50))} ms | ${f1(pct(bull.steps, 50))} ms | ${ratio(pct(ay.steps, 50), pct(bull.steps, 50))} |`,
  `| chain step p99 | ${f1(pct(ay.steps, 99))} ms | ${f1(pct(bull.steps, 99))} ms | ${ratio(pct(ay.steps, 99), pct(bull.steps, 99))} |`,
  `| fan-out/fan-in of ${FANOUT}, total | ${f1(ay.fanoutMs)} ms | ${f1(bull.fanoutMs)} ms | ${ratio(ay.fanoutMs, bull.fanoutMs)} |`,
  `workflows service's share of a step (terminal event received → decision committed, n=${ay.share.count}): p50 ${f1(ay.share.p50)} ms, p90 ${f1(ay.share.p90)} ms, p99 ${f1(ay.share.p99)} ms (goal p50 ≤ 5 ms)`,
  `  of which the run's append to the event store: p50 ${f1(ay.share.append.p50)} ms, p90 ${f1(ay.share.append.p90)} ms, p99 ${f1(ay.share.append.p99)} ms; a bare durable commit in the same database meanwhile (n=${ay.bareCommits.length}): p50 ${f1(pct(ay.bareCommits, 50))} ms, p90 ${f1(pct(ay.bareCommits, 90))} ms — share/bare commit p50 ${ratio(ay.share.p50, pct(ay.bareCommits, 50))}`,
  `chain step by hop: ${ay.hops.join('; ')}`,
  `fan-out run (its own startedAt → finishedAt): ${f1(ay.fanoutRunMs)} ms; workflows service RSS ${f1(ay.rssBefore)} MB before, ${f1(ay.rssPeak)} MB peak`,
];
process.stdout.write(lines.join('\n') + '\n');
mkdirSync(join(root, '.test-results'), { recursive: true });
writeFileSync(join(root, '.test-results', 'bench-workflows.txt'), lines.join('\n') + '\n');
process.exit(0);
