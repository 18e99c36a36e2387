// The peer every tasks benchmark compares against, in the same run: BullMQ 6 on Debian's
// `redis-server` (no persistence; `durable: true` turns on the append-only file with an fsync per
// write, Redis' nearest to our commit-before-acknowledge), `workers` Workers of `slots`
// concurrency, an empty processor (or `sh -c true` in a PTY with `pty`), and the timing helpers
// the benchmarks share.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, sleep } from './bench-platform.mjs';
import { ensureRedisServer } from '../../infra/scripts/ensure-system-deps.mjs';

const require = createRequire(import.meta.url);
const infra = require(join(root, 'services/libs/local-infra/dist/index.js'));
const pty = require('node-pty');
const { Queue, Worker, QueueEvents } = require('bullmq');
const IORedis = require('ioredis');

/** The p-th percentile (nearest rank) of `xs`. */
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Paces `count` submissions at `rate`/s; `submit(i)` returns a promise. */
export async function paced(count, rate, submit) {
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(submit(i));
  }
  return Promise.all(pending);
}

function runNoop(withPty) {
  if (!withPty) return Promise.resolve();
  return new Promise((resolve) => {
    const p = pty.spawn('/bin/sh', ['-c', 'true'], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
    p.onExit(() => resolve());
  });
}

/**
 * BullMQ's dispatch latency (job timestamp → processor start) at a steady `rate` for `seconds`,
 * and its sustained throughput over a burst of `burst` jobs (until every `completed` event came).
 */
export async function benchBullmq({ rate, seconds, burst, workers: workerCount, slots, pty: withPty = false, durable = false }) {
  const port = await infra.freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const persistence = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  // tasks.bench.mjs resolves (or installs) it before starting anything; other callers here.
  const redis = spawn(process.env.REDIS_SERVER_BIN ?? ensureRedisServer(), ['--port', String(port), '--save', '', ...persistence, '--dir', dir], {
    stdio: 'ignore',
  });
  await infra.waitForPort(port);
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const starts = new Map();
  const clients = [];
  const client = () => {
    const c = new IORedis(connection);
    clients.push(c);
    return c;
  };
  const workers = Array.from(
    { length: workerCount },
    () =>
      new Worker(
        'bench',
        async (job) => {
          starts.set(job.id, Date.now());
          await runNoop(withPty);
        },
        { connection: client(), concurrency: slots },
      ),
  );
  const queue = new Queue('bench', { connection: client() });
  const events = new QueueEvents('bench', { connection: client() });
  await events.waitUntilReady();

  // 1. latency at a steady rate
  const added = new Map();
  const jobs = await paced(rate * seconds, rate, async (i) => {
    const job = await queue.add('noop', { i }, { removeOnComplete: true });
    added.set(job.id, job.timestamp);
    return job.id;
  });
  while (starts.size < jobs.length) await sleep(20);
  const latency = jobs.map((id) => starts.get(id) - added.get(id));

  // 2. sustained throughput
  let completed = 0;
  events.on('completed', () => completed++);
  const t0 = performance.now();
  for (let i = 0; i < burst; i += 500)
    await queue.addBulk(Array.from({ length: Math.min(500, burst - i) }, (_, k) => ({ name: 'noop', data: { k }, opts: { removeOnComplete: true } })));
  while (completed < burst) await sleep(10);
  const throughput = burst / ((performance.now() - t0) / 1000);

  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  await events.close();
  // BullMQ does not close connections it was given.
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  redis.kill('SIGTERM');
  return { latency, throughput };
}
