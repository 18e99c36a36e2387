// Diagnostic: CPU seconds per process (services, agents, postgres, nats-server) spent on a burst
// of no-op tasks, i.e. where each task's CPU goes. Usage: BURST=1000 node bench/tasks/cpu-by-process.mjs
// (TOOL=shell runs `true` in a PTY instead: the agents' children — the PTY helper and sh — are
// then a row of their own, "agent children", from the reaped children's CPU of each agent)
// (PROFILE=<service> PROF_MS=<ms> also writes a CPU profile of that service, see cpu-profile.preload.cjs;
// STATEMENTS=1 also prints the statements each task costs, per database, from pg_stat_statements)
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { api, sleep, startBenchPlatform } from './bench-platform.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');
const BURST = Number(process.env.BURST ?? 1000);
const STATEMENTS = process.env.STATEMENTS === '1';
const TASK =
  process.env.TOOL === 'shell' ? { description: 'true', tool: 'shell', input: { command: 'true' } } : { description: 'noop', tool: 'noop', input: {} };
if (STATEMENTS)
  process.env.AGENTYARD_PG_SETTINGS = `${process.env.AGENTYARD_PG_SETTINGS ?? ''} shared_preload_libraries=pg_stat_statements pg_stat_statements.track=all`;

/** This run's processes only (descendants of this one): other platforms on the machine are not ours to count. */
function ownPids() {
  const parent = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      parent.set(pid, readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    } catch {}
  }
  const mine = String(process.pid);
  const isOwn = (pid) => {
    for (let p = pid, hops = 0; p && p !== '0' && hops < 64; p = parent.get(p), hops++) if (p === mine) return true;
    return false;
  };
  return [...parent.keys()].filter((pid) => pid !== mine && isOwn(pid));
}

/** CPU ticks per process name: all (user + kernel) and the kernel part (syscalls, socket I/O). */
function cpuByProcess() {
  const out = new Map();
  for (const pid of ownPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      // The agent renames its process (`agentyard-worker start …`), so its command line no longer names worker/dist.
      let name =
        /services\/(\w+)\/dist/.exec(cmd)?.[1] ??
        (/worker\/dist|^agentyard-worker/.test(cmd) ? 'agent' : /^postgres/.test(cmd) ? 'postgres' : /nats-server/.test(cmd) ? 'nats-server' : null);
      if (!name) continue;
      const prev = out.get(name) ?? { all: 0, kernel: 0 };
      out.set(name, { all: prev.all + Number(stat[11]) + Number(stat[12]), kernel: prev.kernel + Number(stat[12]) });
      if (name === 'agent') {
        // Children the agent has reaped (its task processes) count in cutime/cstime.
        const kids = out.get('agent children') ?? { all: 0, kernel: 0 };
        out.set('agent children', { all: kids.all + Number(stat[13]) + Number(stat[14]), kernel: kids.kernel + Number(stat[14]) });
      }
    } catch {}
  }
  return out;
}

const { platform, base, token, stop } = await startBenchPlatform({ workers: 2, slots: 8 });
try {
  const db = new pg.Client({ connectionString: platform.databases.tasks });
  await db.connect();
  const succeeded = async () => Number((await db.query("select count(*)::int n from task_view where status = 'succeeded'")).rows[0].n);
  await sleep(3000);
  // Transactions per database (each service has its own): how many commits a task costs where.
  const xacts = async () =>
    new Map(
      (await db.query("select datname, xact_commit::bigint n from pg_stat_database where datname not in ('postgres', 'template0', 'template1')")).rows.map(
        (r) => [r.datname, Number(r.n)],
      ),
    );
  const xactsBefore = await xacts();
  if (STATEMENTS) await db.query('create extension if not exists pg_stat_statements; select pg_stat_statements_reset()');
  const before = cpuByProcess();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < BURST) {
        next++;
        await api(base, token, 'POST', '/api/v1/tasks', TASK);
      }
    }),
  );
  const submitted = performance.now();
  while ((await succeeded()) < BURST) await sleep(50);
  const seconds = (performance.now() - t0) / 1000;
  const after = cpuByProcess();
  await sleep(600); // pg_stat_database is updated by backends at most every 500 ms
  const xactsAfter = await xacts();
  console.log(
    `${BURST} tasks: submitted in ${((submitted - t0) / 1000).toFixed(1)} s, all succeeded after ${seconds.toFixed(1)} s (${(BURST / seconds).toFixed(1)} tasks/s)`,
  );
  let total = 0;
  const since = (k, v, part) => (v[part] - (before.get(k)?.[part] ?? 0)) / 100;
  const rows = [...after].map(([k, v]) => [k, since(k, v, 'all'), since(k, v, 'kernel')]).sort((a, b) => b[1] - a[1]);
  for (const [k, s, kernel] of rows) {
    total += s;
    console.log(
      `${k.padEnd(12)} ${s.toFixed(2).padStart(7)} s CPU  ${((s * 1000) / BURST).toFixed(2).padStart(6)} ms/task  (${Math.round((100 * kernel) / Math.max(s, 0.01))} % in the kernel)`,
    );
  }
  console.log(
    `${'all'.padEnd(12)} ${total.toFixed(2).padStart(7)} s CPU  ${((total * 1000) / BURST).toFixed(2).padStart(6)} ms/task (machine: 2 cores × ${seconds.toFixed(1)} s = ${(2 * seconds).toFixed(1)} s)`,
  );
  console.log('commits per task by database:', [...xactsAfter].map(([k, v]) => `${k} ${((v - (xactsBefore.get(k) ?? 0)) / BURST).toFixed(1)}`).join(', '));
  if (STATEMENTS) {
    const { rows: statements } = await db.query(
      `select d.datname, s.calls::bigint calls, s.total_exec_time ms, s.rows::bigint rws, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110) q
         from pg_stat_statements s join pg_database d on d.oid = s.dbid order by s.total_exec_time desc limit 30`,
    );
    console.log('statements by Postgres time (calls and ms per task):');
    for (const r of statements)
      console.log(
        `${r.datname.split('_')[0].padEnd(10)} ${(Number(r.calls) / BURST).toFixed(2).padStart(6)} calls ${(r.ms / BURST).toFixed(3).padStart(7)} ms  ${r.q}`,
      );
  }
  await db.end();
} finally {
  await stop();
}
process.exit(0);
