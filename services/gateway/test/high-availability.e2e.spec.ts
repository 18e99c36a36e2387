/*
 * Two replicas of every backend service (auth, tasks, workers, allocation, workflows), one worker
 * agent, tasks created all the time. The holder of each service's lease is killed with `kill -9`
 * in turn: the standby must hold the lease within 5 s (the takeover time is printed), and every
 * task the API accepted — before, during and after — must succeed, its process run exactly once
 * (counted where the work happens: each task's process appends its marker to a file).
 *
 * Fencing: a holder paused with SIGSTOP past its lease, resumed after the standby took over,
 * steps down, and a write under its epoch is refused by the database.
 */
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskView, WorkerView } from '@agentyard/contracts';
import { LeaseLost, PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { startPlatform, type Platform, type PlatformService } from '@agentyard/local-infra';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { ApiClient, eventually } from './support/api-client';

// Ten processes of services beside other suites: a restarted replica may take longer than 30 s to be ready.
process.env.AGENTYARD_SERVICE_READY_TIMEOUT_MS ??= '120000';

type Replicated = Exclude<PlatformService, 'gateway'>;
const replicated: Replicated[] = ['tasks', 'allocation', 'workers', 'workflows', 'auth'];
const TAKEOVER_LIMIT_MS = 5_000;

let platform: Platform;
let alice: { client: ApiClient; userId: string; token: string };
const markers = join(mkdtempSync(join(tmpdir(), 'agentyard-ha-')), 'markers.txt');
const report = (line: string): void => {
  process.stdout.write(`[high-availability] ${line}\n`);
  appendFileSync(join(tmpdir(), 'agentyard-ha-report.txt'), `${new Date().toISOString()} ${line}\n`);
};

interface Leader {
  lease: string;
  holding: boolean;
  epoch: string | null;
}

/** A replica's view of its service's lease, from /health/ready (undefined while it does not answer). */
async function leaderOf(service: Replicated, i: number): Promise<Leader | undefined> {
  try {
    const res = await fetch(`${platform.replicaUrlOf(service, i)}/health/ready`, { signal: AbortSignal.timeout(1_000) });
    return res.ok ? ((await res.json()) as { leader: Leader }).leader : undefined;
  } catch {
    return undefined;
  }
}

/** The replica holding the lease (once exactly one does) and its epoch. */
async function holderOf(service: Replicated, timeoutMs = 15_000): Promise<{ index: number; epoch: bigint }> {
  return eventually(
    `one ${service} replica holding its lease`,
    async () => {
      const views = await Promise.all([0, 1].map((i) => leaderOf(service, i)));
      const holders = views.flatMap((v, index) => (v?.holding ? [{ index, epoch: BigInt(v.epoch!) }] : []));
      return holders.length === 1 ? holders[0] : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Creates tasks until stopped: each one's process appends its marker; only 201 answers count as accepted. */
function produceTasks(prefix: string, everyMs: number): { stop(): Promise<void>; accepted: Map<string, string>; refused: number[] } {
  const accepted = new Map<string, string>(); // task id → marker
  const refused: number[] = [];
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      const marker = `${prefix}${++n}`;
      const res = await alice.client
        .post<TaskView>('/api/v1/tasks', { description: marker, tool: 'shell', input: { command: `echo ${marker} >> ${markers}` } })
        .catch(() => ({ status: 0, body: undefined }) as const);
      if (res.status === 201 && res.body) accepted.set(res.body.id, marker);
      else refused.push(res.status);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    accepted,
    refused,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function allSucceeded(ids: string[]): Promise<void> {
  await eventually(
    `${ids.length} accepted tasks succeeded`,
    async () => {
      for (const id of ids) {
        const res = await alice.client.get<TaskView>(`/api/v1/tasks/${id}`);
        if (res.body.status !== 'succeeded') return undefined;
      }
      return true;
    },
    180_000,
    500,
  );
}

function markerCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(markers, 'utf8');
  } catch {
    /* no task ran yet */
  }
  for (const line of text.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  platform = await startPlatform({
    replicas: { auth: 2, tasks: 2, workers: 2, allocation: 2, workflows: 2 },
    // The production lease ttl (the test environment's default is longer, infra/jest/global-setup.ts).
    env: {
      auth: { LEASE_TTL_MS: '3000' },
      tasks: { LEASE_TTL_MS: '3000' },
      workers: { LEASE_TTL_MS: '3000', OFFLINE_AFTER_MS: '6000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' },
      allocation: { LEASE_TTL_MS: '3000' },
      workflows: { LEASE_TTL_MS: '3000' },
    },
  });
  const api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  const token = (await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 })).body.token;
  // Unisolated, so a task's process can append to the marker file outside its directory.
  const agent = platform.startWorker({ token, name: 'ha-worker', slots: 4, extraArgs: ['--isolation', 'none'] });
  await eventually(
    'the worker online',
    async () => {
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.some((w) => w.status === 'online') ? true : undefined;
    },
    180_000,
  ).catch((error: unknown) => {
    // What the agent and the workers replicas said, to tell a slow machine from a stuck replica.
    report(`agent output:\n${agent.output()}`);
    for (const i of [0, 1]) report(`workers replica ${i} output:\n${platform.replica('workers', i).output()}`);
    throw error;
  });
}, 900_000);

afterAll(async () => {
  await platform?.stop();
});

describe('Two replicas of every service', () => {
  it('each lease is held by exactly one replica, and both replicas are ready', async () => {
    for (const service of replicated) {
      const { index } = await holderOf(service);
      const standby = await leaderOf(service, 1 - index);
      expect(standby).toMatchObject({ lease: `${service}-leader`, holding: false });
    }
  }, 60_000);

  it('kill -9 of each lease holder in turn: the standby takes over within 5 s and every accepted task succeeds exactly once', async () => {
    const producer = produceTasks('kill', 150);
    const takeovers: Record<string, number> = {};
    try {
      await new Promise((r) => setTimeout(r, 2_000));
      for (const service of replicated) {
        const before = await holderOf(service);
        const killedAt = performance.now();
        await platform.replica(service, before.index).kill();
        const after = await holderOf(service, 30_000);
        takeovers[service] = Math.round(performance.now() - killedAt);
        report(
          `${service}: replica ${after.index} holds epoch ${after.epoch} ${takeovers[service]} ms after kill -9 of replica ${before.index} (epoch ${before.epoch})`,
        );
        expect(after.index).toBe(1 - before.index);
        expect(after.epoch).toBeGreaterThan(before.epoch);
        await platform.restartReplica(service, before.index);
        await new Promise((r) => setTimeout(r, 1_500)); // tasks keep coming between kills
      }
    } finally {
      await producer.stop();
    }
    const ids = [...producer.accepted.keys()];
    report(
      `${ids.length} tasks accepted, ${producer.refused.length} creations refused or failed (statuses ${[...new Set(producer.refused)].join(', ') || 'none'})`,
    );
    expect(ids.length).toBeGreaterThan(30);
    await allSucceeded(ids);
    const counts = markerCounts();
    const ranOnce = [...producer.accepted.values()].filter((m) => counts.get(m) === 1).length;
    expect(ranOnce).toBe(ids.length); // none lost, none run twice
    expect([...counts.values()].every((c) => c === 1)).toBe(true); // not even an unacknowledged one twice
    for (const ms of Object.values(takeovers)) expect(ms).toBeLessThan(TAKEOVER_LIMIT_MS);
  }, 600_000);

  it('a holder paused past its lease (SIGSTOP) steps down when resumed, and a write under its old epoch is refused', async () => {
    const service: Replicated = 'allocation';
    const before = await holderOf(service);
    const pid = platform.replica(service, before.index).pid!;
    const producer = produceTasks('pause', 200);
    let resumed = false;
    try {
      process.kill(pid, 'SIGSTOP');
      const pausedAt = performance.now();
      const after = await holderOf(service, 30_000);
      report(
        `${service}: replica ${after.index} holds epoch ${after.epoch} ${Math.round(performance.now() - pausedAt)} ms after SIGSTOP of replica ${before.index} (epoch ${before.epoch})`,
      );
      expect(after.index).toBe(1 - before.index);
      expect(after.epoch).toBeGreaterThan(before.epoch);
      await new Promise((r) => setTimeout(r, 2_000)); // tasks decided by the new holder meanwhile
      process.kill(pid, 'SIGCONT');
      resumed = true;
      const stale = await eventually(
        'the resumed replica standing by',
        async () => {
          const view = await leaderOf(service, before.index);
          return view && !view.holding ? view : undefined;
        },
        15_000,
        50,
      );
      expect(stale.epoch).toBeNull();
      expect((await holderOf(service)).index).toBe(after.index);
      const metrics = await (await fetch(`${platform.replicaUrlOf(service, before.index)}/metrics`)).text();
      report(
        `${service}: resumed replica's refused writes: ${/agentyard_lease_refused_writes_total\{lease="allocation-leader"\} (\d+)/.exec(metrics)?.[1] ?? '?'}`,
      );
    } finally {
      if (!resumed) process.kill(pid, 'SIGCONT');
      await producer.stop();
    }

    // Whatever the resumed process still tries under its old epoch, the database refuses it.
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: platform.databases.allocation, max: 2 }) }) });
    try {
      const fence = { lease: 'allocation-leader', epoch: before.epoch };
      const checkpoints = PostgresCheckpointStore.fromKysely(db);
      const saved = await checkpoints.load('relay:allocation');
      await expect(checkpoints.saveFenced('relay:allocation', 0n, fence)).rejects.toBeInstanceOf(LeaseLost);
      expect(await checkpoints.load('relay:allocation')).toBeGreaterThanOrEqual(saved);
      const store = PostgresEventStore.fromKysely(db);
      await expect(store.fenced(fence).appendToStream('allocation-fencing-probe', [])).rejects.toBeInstanceOf(LeaseLost);
    } finally {
      await db.destroy();
    }

    const ids = [...producer.accepted.keys()];
    await allSucceeded(ids);
    const counts = markerCounts();
    expect([...producer.accepted.values()].filter((m) => counts.get(m) === 1)).toHaveLength(ids.length);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
  }, 300_000);
});
