#!/usr/bin/env node
// Flat with history (issue #14): does a platform that has run a million tasks dispatch as fast as
// an empty one? Two platforms of the same kind (every service from dist, own Postgres and
// nats-server, WORKERS real agents × SLOTS) run side by side in one run:
//   (a) empty: only its warm-up tasks;
//   (b) history: the same warm-up, then HISTORY finished tasks seeded in bulk into the tasks and
//       allocation databases (history-seed.mjs: clones of one of its real tasks, positions below
//       every checkpoint, VACUUM ANALYZE after), at most SEED_SECONDS of seeding.
// Then ROUNDS rounds, each measuring both (order alternating, so drift on this noisy machine hits
// both alike):
//   1. dispatch latency at a steady RATE tasks/s for SECONDS: created → started (task_view), p50/p99
//   2. sustained no-op tasks/s: BURST tasks from CLIENTS clients until all are succeeded in task_view
// and reports the medians over the rounds and the ratios history/empty (goal: within 10 %). It
// also counts, per table, the rows read by sequential scans during the measured phases on (b): a
// hot path that scans finished tasks shows up there as millions.
// Usage: npm run bench:history   (env: HISTORY=1000000 SEED_SECONDS=300 RATE=25 SECONDS=10
//   BURST=600 CLIENTS=32 ROUNDS=2 WARMUP=150 WORKERS=2 SLOTS=8)
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, root, sleep, startBenchPlatform } from './bench-platform.mjs';
import { paced, pct } from './bullmq-peer.mjs';
import { checkpointsPast, seedHistory } from './history-seed.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');

const HISTORY = Number(process.env.HISTORY ?? 1_000_000);
const SEED_SECONDS = Number(process.env.SEED_SECONDS ?? 300);
const RATE = Number(process.env.RATE ?? 25);
const SECONDS = Number(process.env.SECONDS ?? 10);
const BURST = Number(process.env.BURST ?? 600);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const WARMUP = Number(process.env.WARMUP ?? 150);
const CLIENTS = Number(process.env.CLIENTS ?? 32);
const WORKERS = Number(process.env.WORKERS ?? 2);
const SLOTS = Number(process.env.SLOTS ?? 8);
const task = { description: 'noop', tool: 'noop', input: {} };
// Two platforms start one after the other on a shared 2-core machine: give each service longer
// than the default 30 s to come up.
process.env.AGENTYARD_SERVICE_READY_TIMEOUT_MS ??= '180000';
const say = (m) => process.stderr.write(`[history] ${m}\n`);

async function open(name) {
  const p = await startBenchPlatform({ workers: WORKERS, slots: SLOTS });
  const db = new pg.Client({ connectionString: p.platform.databases.tasks });
  // Postgres going away at the end (or on a failed run) must not crash the bench before stop().
  db.on('error', () => undefined);
  await db.connect();
  // Counted by id (primary key lookups): a count over every succeeded row would read the seeded
  // million on each poll, on (b) only — the bench's own load, which skewed (b)'s throughput.
  const succeeded = async (ids) =>
    Number((await db.query("select count(*)::int n from task_view where id = any($1) and status = 'succeeded'", [ids])).rows[0].n);
  return { name, ...p, db, succeeded };
}

/** A fresh access token (they last 15 minutes; a run on a loaded machine takes longer). */
async function login(p) {
  p.token = (await api(p.base, null, 'POST', '/api/v1/auth/login', { username: 'bench', password: 'bench-password' })).accessToken;
}

/**
 * One create; null when the platform answered 5xx (on an overloaded machine the gateway's 5 s RPC
 * timeout can fire). Not retried: the task may exist all the same, and a retry would add another.
 */
async function create(p) {
  try {
    return (await api(p.base, p.token, 'POST', '/api/v1/tasks', task)).id;
  } catch (error) {
    if (!/: 5\d\d /.test(String(error))) throw error;
    return null;
  }
}

/**
 * Submits `count` tasks from CLIENTS concurrent clients and waits until as many tasks as were
 * accepted are succeeded in task_view; tasks/s over that time.
 */
async function burstAndWait(p, count) {
  await login(p);
  const t0 = performance.now();
  let next = 0;
  const ids = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count) {
        next++;
        const id = await create(p);
        if (id) ids.push(id);
      }
    }),
  );
  const accepted = ids.length;
  while ((await p.succeeded(ids)) < accepted) await sleep(50);
  if (accepted < count) say(`${p.name}: ${count - accepted} of ${count} creates answered 5xx`);
  return accepted / ((performance.now() - t0) / 1000);
}

/** One round on one platform: paced latency, then the burst's throughput. */
async function measure(p) {
  await login(p);
  const ids = (await paced(RATE * SECONDS, RATE, () => create(p))).filter((id) => id !== null);
  while ((await p.succeeded(ids)) < ids.length) await sleep(100);
  const latency = (await p.db.query('select extract(epoch from (started_at - created_at)) * 1000 as ms from task_view where id = any($1)', [ids])).rows.map(
    (r) => Number(r.ms),
  );
  const throughput = await burstAndWait(p, BURST);
  return { p50: pct(latency, 50), p99: pct(latency, 99), throughput };
}

/** Rows read by sequential scans and by index scans per table since the last reset, in both databases. */
async function scanStats(databases, reset = false) {
  const out = [];
  for (const name of ['tasks', 'allocation']) {
    const c = new pg.Client({ connectionString: databases[name] });
    await c.connect();
    try {
      if (reset) await c.query('select pg_stat_reset()');
      else {
        // Statistics reach the views up to a second late.
        await sleep(1500);
        const { rows } = await c.query(
          `select schemaname || '.' || relname as t, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch,
                  (select greatest(reltuples, 0)::bigint from pg_class c where c.oid = relid) as n_live_tup -- pg_stat_reset() zeroes n_live_tup
             from pg_stat_user_tables where schemaname in ('public', 'event_store') order by seq_tup_read desc`,
        );
        for (const r of rows) out.push({ db: name, ...r });
      }
    } finally {
      await c.end();
    }
  }
  return out;
}

const median = (xs) => pct(xs, 50);

const opened = [];
try {
  const empty = await open('empty');
  opened.push(empty);
  const history = await open('history');
  opened.push(history);
  say(`warm-up: ${WARMUP} tasks on each platform`);
  for (const p of [empty, history]) await burstAndWait(p, WARMUP);

  // The template: one of (b)'s own finished warm-up tasks.
  const templateId = (await history.db.query("select id from task_view where status = 'succeeded' order by created_at limit 1")).rows[0].id;
  say(`seeding up to ${HISTORY.toLocaleString('en')} finished tasks into (b), at most ${SEED_SECONDS} s`);
  const seed = await seedHistory(history.platform.databases, { taskId: templateId, count: HISTORY, budgetMs: SEED_SECONDS * 1000, log: say });
  const checkpoints = await checkpointsPast(history.platform.databases, seed.maxSeededPosition);
  if (checkpoints.length === 0 || checkpoints.some((c) => !c.past))
    throw new Error(`a checkpoint lies before the seeded events: ${JSON.stringify(checkpoints)}`);
  // A seeded task must read back like the task it was cloned from: through the API (task_view) and
  // from its stream (the same event types in the same order, in the store's position order).
  const { rows: probe } = await history.db.query('select id from task_view where id <> $1 order by created_at limit 1', [templateId]);
  await login(history);
  const seededTask = await api(history.base, history.token, 'GET', `/api/v1/tasks/${probe[0].id}`);
  const typesOf = async (id) =>
    (await history.db.query('select type from event_store.events where stream_id = $1 order by position', [`task-${id}`])).rows.map((r) => r.type).join(',');
  const [seededTypes, templateTypes] = await Promise.all([typesOf(probe[0].id), typesOf(templateId)]);
  if (seededTask.status !== 'succeeded' || seededTypes !== templateTypes)
    throw new Error(`seeded task ${probe[0].id} reads back as ${seededTask.status} with events ${seededTypes} (its template: ${templateTypes})`);
  const sizes = (await history.db.query('select (select count(*) from task_view)::int as view, (select count(*) from event_store.events)::int as events'))
    .rows[0];
  say(
    `seeded ${seed.seeded.toLocaleString('en')} in ${(seed.seedMs / 1000).toFixed(0)} s, vacuum analyze ${(seed.vacuumMs / 1000).toFixed(0)} s; task_view ${sizes.view}, events ${sizes.events}`,
  );

  // The services keep caches warm for what they read often; give (b) the same settling time (a) had.
  await burstAndWait(history, 100);
  await burstAndWait(empty, 100);

  const results = { empty: [], history: [] };
  let scans = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of r % 2 === 0 ? [empty, history] : [history, empty]) {
      if (p === history) await scanStats(p.platform.databases, true);
      const m = await measure(p);
      if (p === history) scans = scans.concat(await scanStats(p.platform.databases));
      results[p.name].push(m);
      say(`round ${r + 1} ${p.name}: p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms, ${m.throughput.toFixed(1)} tasks/s`);
    }
  }

  const agg = (name, key) => median(results[name].map((m) => m[key]));
  const row = (label, key, unit, better) => {
    const a = agg('empty', key);
    const b = agg('history', key);
    return `| ${label} | ${a.toFixed(1)} ${unit} | ${b.toFixed(1)} ${unit} | ${(b / a).toFixed(2)} (${better}) |`;
  };
  // Per table, summed over the rounds: the history tables must show no sequential reads of their millions.
  const byTable = new Map();
  for (const s of scans) {
    const k = `${s.db}:${s.t}`;
    const e = byTable.get(k) ?? { seq_scan: 0, seq_tup_read: 0, idx_scan: 0, n_live_tup: Number(s.n_live_tup) };
    e.seq_scan += Number(s.seq_scan);
    e.seq_tup_read += Number(s.seq_tup_read);
    e.idx_scan += Number(s.idx_scan ?? 0);
    byTable.set(k, e);
  }
  const scanLines = [...byTable]
    .filter(([, e]) => e.n_live_tup >= 10_000)
    .map(
      ([k, e]) =>
        `  ${k}: ${e.n_live_tup.toLocaleString('en')} rows; ${e.seq_scan} seq scans read ${e.seq_tup_read.toLocaleString('en')} rows; ${e.idx_scan} index scans`,
    );
  const lines = [
    `history=${seed.seeded.toLocaleString('en')} finished tasks seeded (asked ${HISTORY.toLocaleString('en')}) in ${(seed.seedMs / 1000).toFixed(0)} s + vacuum analyze ${(seed.vacuumMs / 1000).toFixed(0)} s; ` +
      `workers=${WORKERS} slots=${SLOTS} rate=${RATE}/s for ${SECONDS}s, burst=${BURST}, rounds=${ROUNDS} (medians), node ${process.version}`,
    '| measure | (a) empty store | (b) with history | ratio b/a |',
    '|---|---|---|---|',
    row('dispatch p50', 'p50', 'ms', 'lower is better'),
    row('dispatch p99', 'p99', 'ms', 'lower is better'),
    row('sustained tasks/s', 'throughput', '/s', 'higher is better'),
    `per round: ${['empty', 'history'].map((n) => `${n} ${results[n].map((m) => `${m.p50.toFixed(0)}/${m.p99.toFixed(0)} ms ${m.throughput.toFixed(0)}/s`).join(', ')}`).join('; ')}`,
    `(b) tables of ≥ 10k rows, reads during the measured phases:`,
    ...scanLines,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(join(root, '.test-results'), { recursive: true });
  writeFileSync(join(root, '.test-results', 'bench-history.txt'), lines.join('\n') + '\n');
} finally {
  for (const p of opened) {
    await p.db.end().catch(() => undefined);
    await p.stop();
  }
}
process.exit(0);
