// Diagnostic: per-hop latency of one task at a time on an idle platform, from a core NATS
// subscription that sees every event and work message as JetStream stores it.
// Usage: COUNT=30 node bench/tasks/hop-timings.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { api, sleep, startBenchPlatform } from './bench-platform.mjs';

const require = createRequire(import.meta.url);
const { connect, credsAuthenticator } = require('@nats-io/transport-node');
const COUNT = Number(process.env.COUNT ?? 30);

const { platform, base, token, stop } = await startBenchPlatform({ workers: 1, slots: 8 });
try {
  const nc = await connect({ servers: platform.nats.url, authenticator: credsAuthenticator(readFileSync(platform.natsCredsFile)) });
  const seen = new Map(); // taskId → { label: ms }
  const mark = (taskId, label) => {
    const t = seen.get(taskId) ?? {};
    t[label] ??= performance.timeOrigin + performance.now();
    seen.set(taskId, t);
  };
  for (const subject of ['tasks.events.>', 'allocation.events.>', 'work.assign.>', 'work.report.>']) {
    nc.subscribe(subject, {
      callback: (_e, m) => {
        const body = m.json();
        const taskId = body.data?.taskId ?? body.taskId;
        const label = subject.startsWith('work.') ? `${subject.split('.')[1]}${body.kind ? ':' + body.kind : ''}` : body.type;
        mark(taskId, `${label}@nats`);
        if (body.occurredAt && !subject.startsWith('work.')) seen.get(taskId)[`${body.type}@occurred`] = Date.parse(body.occurredAt);
      },
    });
  }
  await nc.flush();
  const sent = new Map();
  for (let i = 0; i < COUNT; i++) {
    const t0 = Date.now();
    const { id } = await api(base, token, 'POST', '/api/v1/tasks', { description: 'noop', tool: 'noop', input: {} });
    sent.set(id, { post: t0, reply: Date.now() });
    await sleep(150);
  }
  await sleep(1000);
  const hops = [
    ['post', 'TaskCreated@occurred'],
    ['TaskCreated@occurred', 'TaskCreated@nats'],
    ['TaskQueued@nats', 'AllocationDecided@occurred'],
    ['AllocationDecided@occurred', 'AllocationDecided@nats'],
    ['AllocationDecided@nats', 'TaskAssigned@occurred'],
    ['TaskAssigned@occurred', 'assign:assign@nats'],
    ['assign:assign@nats', 'report:started@nats'],
    ['report:started@nats', 'TaskStarted@occurred'],
    ['report:started@nats', 'TaskStarted@nats'],
    ['TaskAssigned@occurred', 'TaskAssigned@nats'],
    ['report:finished@nats', 'TaskSucceeded@occurred'],
    ['TaskSucceeded@occurred', 'TaskSucceeded@nats'],
    ['report:finished@nats', 'TaskSucceeded@nats'],
    ['post', 'reply'],
    ['TaskCreated@occurred', 'report:started@nats'],
  ];
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  for (const [a, b] of hops) {
    const xs = [...sent]
      .map(([id, s]) => ({ post: s.post, reply: s.reply, ...seen.get(id) }))
      .filter((t) => t[a] && t[b])
      .map((t) => t[b] - t[a]);
    console.log(
      `${(a + ' → ' + b).padEnd(56)} p50 ${String(pct(xs, 50)?.toFixed(1)).padStart(6)} ms  p90 ${String(pct(xs, 90)?.toFixed(1)).padStart(6)} ms  (n=${xs.length})`,
    );
  }
  await nc.close();
} finally {
  await stop();
}
process.exit(0);
