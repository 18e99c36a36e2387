/*
 * Append throughput of PostgresEventStore next to a raw `pg` multi-row INSERT of the same rows,
 * on one durable Postgres (fsync and synchronous_commit on) started for the run. For each scenario
 * (writers × events per append) both sides run in alternating slices (raw, store, store, raw, …;
 * `BENCH_ROUNDS` slices of `BENCH_SECONDS` each per side) on tables truncated per scenario, so load
 * from anything else on the machine hits both alike; the table shows median events/s per side and
 * the CPU (this process + the Postgres server's processes) each side spent per event, which other
 * load on the machine disturbs far less than wall-clock rates.
 * A second comparison, group commit: GROUP_WRITERS (64) concurrent writers each appending one
 * event at a time to streams of their own, through a store with `groupCommit: true` against one
 * with `groupCommit: false` (one commit per append), same pool size, same alternating slices.
 * Started by event-store.bench.mjs (which compiles this file); see README.md for method and figures.
 */
import { newId, type NewEvent } from '@agentyard/contracts';
import { PostgresEventStore, transactionIdOf, type PostgresEventStoreOptions } from '@agentyard/event-store';
import { createDatabase, startPostgresServer } from '@agentyard/local-infra';
import { readdirSync, readFileSync } from 'node:fs';
import { Pool } from 'pg';

interface Scenario {
  writers: number;
  batch: number;
}

interface Measurement {
  events: number;
  seconds: number;
  /** CPU µs (this process + Postgres) spent during the slice. */
  cpuMicros: number;
}

/** Group commit against one commit per append, both through the store. */
export interface GroupCommitRow {
  writers: number;
  poolSize: number;
  /** Median appends/s. */
  grouped: number;
  each: number;
  ratio: number;
  /** Median CPU µs per append (this process + Postgres). */
  groupedCpu: number;
  eachCpu: number;
  /** Appends per commit on the grouped side (distinct transaction ids of its results). */
  appendsPerCommit: number;
}

export interface BenchRow {
  scenario: Scenario;
  /** Median events/s. */
  store: number;
  raw: number;
  ratio: number;
  /** Median CPU µs per event (this process + Postgres). */
  storeCpu: number;
  rawCpu: number;
}

/** `BENCH_ONLY=1x1,8x100` runs a subset (writers x events per append). */
const SCENARIOS: Scenario[] = [
  { writers: 1, batch: 1 },
  { writers: 8, batch: 1 },
  { writers: 1, batch: 100 },
  { writers: 8, batch: 100 },
].filter((s) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(`${s.writers}x${s.batch}`));
/** Length of one measured slice, and slices per side. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const STREAMS_PER_WRITER = 20;
/** Group commit comparison (`BENCH_ONLY=gc` runs only it): writers, their pools and the grouped side's options. */
const GROUP_WRITERS = Number(process.env.BENCH_GC_WRITERS ?? 64);
const GROUP_POOL = Number(process.env.BENCH_GC_POOL ?? 10);
const GROUP_WAIT_MS = Number(process.env.BENCH_GC_WAIT_MS ?? 0);
const GROUP_IN_FLIGHT = Number(process.env.BENCH_GC_IN_FLIGHT ?? 1);
const RUN_GROUP = !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes('gc');

/** A realistic small event (~300 bytes of JSON). */
function benchEvent(writer: number, n: number): NewEvent {
  const id = newId();
  return {
    id,
    type: 'TaskQueued',
    version: 1,
    occurredAt: new Date().toISOString(),
    data: { taskId: `task-${writer}-${n}`, title: 'Refactor the allocation scorer', tool: 'claude-code', attempt: 1, tags: ['bench', 'ts'] },
    metadata: { correlationId: newId(), causationId: id, userId: 'user-bench' },
  };
}

/** CPU µs used so far by the Postgres server whose data directory is `dataDir` (postmaster + children; Linux /proc). */
function postgresCpu(dataDir: string): () => number {
  const stat = (pid: string): string[] | undefined => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ');
    } catch {
      return undefined;
    }
  };
  const postmaster = readdirSync('/proc').find((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes('postgres') && cmdline.includes(dataDir) && stat(pid)?.[0] !== 'Z';
    } catch {
      return false;
    }
  });
  const ticks = 1_000_000 / 100; // USER_HZ is 100 on Linux
  return () => {
    if (!postmaster) return 0;
    let total = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const fields = stat(pid);
      if (!fields || (pid !== postmaster && fields[1] !== postmaster)) continue;
      // utime, stime of the process (fields 14 and 15 of /proc/pid/stat), plus its waited-for children's.
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * ticks;
    }
    return total;
  };
}

/** A side of the comparison: appends one batch for a writer, returns how many events it appended. */
interface Appender {
  append(writer: number, round: number): Promise<number>;
  close(): Promise<void>;
  /** Distinct transactions the store side committed since the last call (store sides only). */
  takeCommits?(): number;
}

/** Runs `writers` loops of `append` for SECONDS; returns events appended, elapsed seconds and CPU used. */
async function drive(writers: number, appender: Appender, firstRound: number, pgCpu: () => number): Promise<Measurement> {
  const cpuBefore = process.cpuUsage();
  const pgBefore = pgCpu();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let events = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let round = firstRound; performance.now() < deadline; round++) {
        const appended = await appender.append(w, round); // not `events += await …`: that reads `events` before awaiting
        events += appended;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(cpuBefore);
  return { events, seconds, cpuMicros: own.user + own.system + (pgCpu() - pgBefore) };
}

async function storeAppender(
  url: string,
  { batch }: Scenario,
  options: Partial<PostgresEventStoreOptions> & { poolSize: number; prefix?: string },
): Promise<Appender> {
  const store = await PostgresEventStore.connect({ connectionString: url, groupCommit: false, ...options });
  const versions = new Map<string, number>();
  let transactions = new Set<bigint>();
  return {
    async append(w, round) {
      const streamId = `${options.prefix ?? 'bench'}-${w}-${round % STREAMS_PER_WRITER}`;
      const events = Array.from({ length: batch }, (_, i) => benchEvent(w, round * batch + i));
      const result = await store.appendToStream(streamId, events, { expectedVersion: versions.get(streamId) ?? 'no_stream' });
      versions.set(streamId, result.nextExpectedVersion);
      transactions.add(transactionIdOf(result.lastPosition));
      return batch;
    },
    close: () => store.close(),
    takeCommits() {
      const n = transactions.size;
      transactions = new Set();
      return n;
    },
  };
}

async function rawAppender(url: string, { writers, batch }: Scenario): Promise<Appender> {
  const pool = new Pool({ connectionString: url, max: writers + 2 });
  pool.on('error', () => undefined); // idle clients killed when the server stops at the end
  const versions = new Map<string, number>();
  const columns = 8;
  const placeholders = Array.from({ length: batch }, (_, r) => `(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`).join(
    ', ',
  );
  const text = `insert into raw_events (stream_id, stream_version, event_id, type, version, data, metadata, occurred_at) values ${placeholders}`;
  return {
    async append(w, round) {
      const streamId = `bench-${w}-${round % STREAMS_PER_WRITER}`;
      const first = (versions.get(streamId) ?? 0) + 1;
      const values: unknown[] = [];
      for (let i = 0; i < batch; i++) {
        const e = benchEvent(w, round * batch + i);
        values.push(streamId, first + i, e.id, e.type, e.version, JSON.stringify(e.data), JSON.stringify(e.metadata), e.occurredAt);
      }
      await pool.query(text, values);
      versions.set(streamId, first + batch - 1);
      return batch;
    },
    close: () => pool.end(),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs every scenario and prints the comparison table; returns the rows. */
export async function main(): Promise<{ rows: BenchRow[]; groupRows: GroupCommitRow[] }> {
  const server = await startPostgresServer();
  const rows: BenchRow[] = [];
  const groupRows: GroupCommitRow[] = [];
  try {
    const pgCpu = postgresCpu(server.dataDir);
    const url = await createDatabase(server.url, 'event_store_bench');
    const admin = new Pool({ connectionString: url, max: 1 });
    admin.on('error', (error) => process.stderr.write(`admin pool: ${String(error)}\n`));
    const { rows: settings } = await admin.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'server_version') order by name`,
    );
    const setup = await PostgresEventStore.connect({ connectionString: url });
    await setup.migrate();
    await setup.close();
    await admin.query(`create table raw_events (
      global_position bigserial primary key, stream_id text not null, stream_version bigint not null, event_id uuid not null,
      type text not null, version integer not null, data jsonb not null, metadata jsonb not null, occurred_at timestamptz not null)`);
    process.stdout.write(`postgres: ${settings.map((s) => `${s.name}=${s.setting}`).join(', ')}; ${ROUNDS} slices of ${SECONDS} s per side, median\n`);

    for (const scenario of SCENARIOS) {
      await admin.query('truncate event_store.events, event_store.streams, raw_events');
      await admin.query('checkpoint');
      const sides = { store: await storeAppender(url, scenario, { poolSize: scenario.writers + 2 }), raw: await rawAppender(url, scenario) };
      const measured: Record<keyof typeof sides, Measurement[]> = { store: [], raw: [] };
      let firstRound = 0;
      for (let slice = 0; slice < ROUNDS * 2; slice++) {
        // Alternate short slices (ABBA) so load from anything else on the machine hits both sides alike.
        const side = (slice % 4 === 0 || slice % 4 === 3 ? 'raw' : 'store') as keyof typeof sides;
        const m = await drive(scenario.writers, sides[side], firstRound, pgCpu);
        measured[side].push(m);
        firstRound += Math.ceil(m.events / scenario.batch / scenario.writers) + 1;
      }
      await sides.store.close();
      await sides.raw.close();
      const rate = (side: keyof typeof sides): number => median(measured[side].map((m) => m.events / m.seconds));
      const cpu = (side: keyof typeof sides): number => median(measured[side].map((m) => m.cpuMicros / m.events));
      rows.push({ scenario, store: rate('store'), raw: rate('raw'), ratio: rate('store') / rate('raw'), storeCpu: cpu('store'), rawCpu: cpu('raw') });
      if (process.env.BENCH_VERBOSE) {
        for (const side of ['store', 'raw'] as const) {
          const slices = measured[side].map((m) => `${Math.round(m.events / m.seconds)}/s ${Math.round(m.cpuMicros / m.events)}µs`);
          process.stdout.write(`    ${side} slices: ${slices.join(', ')}\n`);
        }
      }
      process.stdout.write(`  done: ${scenario.writers} writer(s) × ${scenario.batch} event(s)/append\n`);
    }
    if (RUN_GROUP) {
      await admin.query('truncate event_store.events, event_store.streams');
      await admin.query('checkpoint');
      const scenario = { writers: GROUP_WRITERS, batch: 1 };
      const sides = {
        grouped: await storeAppender(url, scenario, {
          poolSize: GROUP_POOL,
          prefix: 'grouped',
          groupCommit: true,
          groupCommitWaitMs: GROUP_WAIT_MS,
          groupCommitMaxInFlight: GROUP_IN_FLIGHT,
        }),
        each: await storeAppender(url, scenario, { poolSize: GROUP_POOL, prefix: 'each' }),
      };
      const measured: Record<keyof typeof sides, Measurement[]> = { grouped: [], each: [] };
      const commits = { grouped: 0, each: 0 };
      let firstRound = 0;
      for (let slice = 0; slice < ROUNDS * 2; slice++) {
        const side = (slice % 4 === 0 || slice % 4 === 3 ? 'each' : 'grouped') as keyof typeof sides;
        sides[side].takeCommits?.();
        const m = await drive(scenario.writers, sides[side], firstRound, pgCpu);
        measured[side].push(m);
        commits[side] += sides[side].takeCommits?.() ?? 0;
        firstRound += Math.ceil(m.events / scenario.writers) + 1;
      }
      await sides.grouped.close();
      await sides.each.close();
      const rate = (side: keyof typeof sides): number => median(measured[side].map((m) => m.events / m.seconds));
      const cpu = (side: keyof typeof sides): number => median(measured[side].map((m) => m.cpuMicros / m.events));
      const appended = measured.grouped.reduce((sum, m) => sum + m.events, 0);
      groupRows.push({
        writers: GROUP_WRITERS,
        poolSize: GROUP_POOL,
        grouped: rate('grouped'),
        each: rate('each'),
        ratio: rate('grouped') / rate('each'),
        groupedCpu: cpu('grouped'),
        eachCpu: cpu('each'),
        appendsPerCommit: commits.grouped > 0 ? appended / commits.grouped : 0,
      });
      if (process.env.BENCH_VERBOSE) {
        for (const side of ['grouped', 'each'] as const) {
          const slices = measured[side].map((m) => `${Math.round(m.events / m.seconds)}/s ${Math.round(m.cpuMicros / m.events)}µs`);
          process.stdout.write(`    ${side} slices: ${slices.join(', ')}\n`);
        }
      }
      process.stdout.write(`  done: group commit, ${GROUP_WRITERS} writers × 1 event/append\n`);
    }
    await admin.end();
  } finally {
    await server.stop();
  }

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const lines = [
    '| writers | events/append | store events/s | raw pg events/s | store/raw | CPU µs/event store | CPU µs/event raw |',
    '|--------:|--------------:|---------------:|----------------:|----------:|-------------------:|-----------------:|',
    ...rows.map(
      (r) =>
        `| ${r.scenario.writers} | ${r.scenario.batch} | ${fmt(r.store)} | ${fmt(r.raw)} | ${r.ratio.toFixed(2)} | ${fmt(r.storeCpu)} | ${fmt(r.rawCpu)} |`,
    ),
  ];
  if (rows.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
  if (groupRows.length > 0) {
    const groupLines = [
      `\n${GROUP_WRITERS} concurrent single-event appends to distinct streams: group commit vs one commit each (pool ${GROUP_POOL}, wait ${GROUP_WAIT_MS} ms, ${GROUP_IN_FLIGHT} in flight)`,
      '| writers | pool | grouped appends/s | one commit each appends/s | grouped/each | CPU µs/append grouped | CPU µs/append each | appends per commit (grouped) |',
      '|--------:|-----:|------------------:|--------------------------:|-------------:|----------------------:|-------------------:|-----------------------------:|',
      ...groupRows.map(
        (r) =>
          `| ${r.writers} | ${r.poolSize} | ${fmt(r.grouped)} | ${fmt(r.each)} | ${r.ratio.toFixed(2)} | ${fmt(r.groupedCpu)} | ${fmt(r.eachCpu)} | ${r.appendsPerCommit.toFixed(1)} |`,
      ),
    ];
    process.stdout.write(`${groupLines.join('\n')}\n`);
  }
  return { rows, groupRows };
}
