#!/usr/bin/env node
// Overload: what POST /tasks does when more is offered than the platform sustains.
//   1. the sustainable rate S: BURST no-op tasks from 64 concurrent clients, created → succeeded;
//   2. an open-loop offer of FACTOR × S tasks/s for SECONDS (each POST fired on schedule, whether
//      or not earlier ones answered — clients of a busy API do not wait for each other);
//   3. every POST's latency and answer (201 accepted, 429 refused with Retry-After, anything else
//      an error), then every accepted task followed until it succeeded.
// Goal (issue #14): POST /tasks p99 ≤ 250 ms at twice the sustainable rate, accepted or 429, and
// every accepted task succeeds. The sustainable rate of the same run is the peer.
// Usage: node bench/tasks/overload.bench.mjs  (env: FACTOR=2 SECONDS=15 BURST=600 WORKERS=2 SLOTS=8,
//   SERVICE_ENV='{"tasks":{"TASKS_MAX_QUEUED":"500"}}' passes settings to the services)
import { createRequire } from 'node:module';
import { burst, sleep, startBenchPlatform } from './bench-platform.mjs';
import { paced, pct } from './bullmq-peer.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');

const FACTOR = Number(process.env.FACTOR ?? 2);
const SECONDS = Number(process.env.SECONDS ?? 15);
const BURST = Number(process.env.BURST ?? 600);
const WORKERS = Number(process.env.WORKERS ?? 2);
const SLOTS = Number(process.env.SLOTS ?? 8);

const { platform, base, token, stop } = await startBenchPlatform({ workers: WORKERS, slots: SLOTS, serviceEnv: JSON.parse(process.env.SERVICE_ENV ?? '{}') });
try {
  const db = new pg.Client({ connectionString: platform.databases.tasks });
  await db.connect();
  const count = async (status) => Number((await db.query('select count(*)::int n from task_view where status = $1', [status])).rows[0].n);
  const task = { description: 'noop', tool: 'noop', input: {} };

  // 1. sustainable rate
  const t0 = performance.now();
  await burst(base, token, task, BURST);
  while ((await count('succeeded')) < BURST) await sleep(50);
  const sustained = BURST / ((performance.now() - t0) / 1000);
  const rate = Math.round(sustained * FACTOR);
  process.stdout.write(`sustained ${sustained.toFixed(1)} tasks/s; offering ${rate}/s for ${SECONDS} s\n`);

  // 2. open-loop offer
  const answers = await paced(rate * SECONDS, rate, async () => {
    const started = performance.now();
    try {
      const res = await fetch(`${base}/api/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(task),
      });
      const body = await res.json().catch(() => ({}));
      return { ms: performance.now() - started, status: res.status, id: body.id, retryAfter: res.headers.get('retry-after') };
    } catch (e) {
      return { ms: performance.now() - started, status: 0, error: String(e) };
    }
  });
  const accepted = answers.filter((a) => a.status === 201);
  const refused = answers.filter((a) => a.status === 429);
  const errors = answers.filter((a) => a.status !== 201 && a.status !== 429);

  // 3. every accepted task to the end (or 180 s)
  const ids = accepted.map((a) => a.id);
  const deadline = Date.now() + 180_000;
  let finished = [];
  while (Date.now() < deadline) {
    finished = (
      await db.query(
        "select status, count(*)::int n from task_view where id = any($1) and status in ('succeeded','failed','cancelled','timed_out') group by status",
        [ids],
      )
    ).rows;
    if (finished.reduce((s, r) => s + r.n, 0) >= ids.length) break;
    await sleep(500);
  }
  const succeeded = finished.find((r) => r.status === 'succeeded')?.n ?? 0;
  const all = answers.map((a) => a.ms);
  const fmt = (xs) => (xs.length ? `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms` : '—');
  const table = [
    ['sustained (burst of ' + BURST + ')', `${sustained.toFixed(1)} tasks/s`],
    ['offered', `${rate}/s × ${SECONDS} s = ${answers.length}`],
    ['POST /tasks, all answers', fmt(all)],
    ['  accepted (201)', `${accepted.length}: ${fmt(accepted.map((a) => a.ms))}`],
    ['  refused (429)', `${refused.length}: ${fmt(refused.map((a) => a.ms))}; Retry-After ${[...new Set(refused.map((a) => a.retryAfter))].join(', ') || '—'}`],
    [
      '  other answers',
      `${errors.length}${errors.length ? ` (${[...new Set(errors.map((e) => e.status + (e.error ? ' ' + e.error : '')))].slice(0, 3).join('; ')})` : ''}`,
    ],
    ['accepted that succeeded', `${succeeded} of ${ids.length}${finished.length ? ' (' + finished.map((r) => `${r.status} ${r.n}`).join(', ') + ')' : ''}`],
  ];
  for (const [k, v] of table) process.stdout.write(`${k.padEnd(28)} ${v}\n`);
  await db.end();
} finally {
  await stop();
}
