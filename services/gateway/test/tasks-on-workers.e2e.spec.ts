/*
 * Issue 3 end to end: every service, nats-server, Postgres and two real worker agents as
 * processes. Worker B has a `claude` CLI stand-in on its PATH (the real CLI needs a network API),
 * so "a task that needs a tool only B has" exercises real tool detection and allocation.
 * Agents isolate their tasks (bubblewrap, or a task uid): a task has a private /tmp and its own
 * pid namespace, so the tests watch tasks from the host by what they send over HTTP or by unique
 * command lines, never by files in /tmp or pids the task prints.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Client } from 'pg';
import type { Envelope, TaskView, WorkerView } from '@agentyard/contracts';
import {
  agentNodeFlags,
  foreignSubjects,
  ownSubjects,
  probeNatsPermissions,
  startAnthropicStandIn,
  startPlatform,
  type AnthropicStandIn,
  type Platform,
  type WorkerAgentProcess,
} from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';
import { LiveSocket } from './support/live-socket';

let platform: Platform;
/** Answers only the agents' credentials check for claude-code (the fake claude never calls it; the real API would refuse the key). */
let anthropic: AnthropicStandIn;
let api: ApiClient;
let alice: { client: ApiClient; userId: string; token: string };
let mallory: { client: ApiClient; userId: string; token: string };
let workerA: WorkerAgentProcess;
let workerB: WorkerAgentProcess;
let workerAId: string;
let workerBId: string;
let nc: NatsConnection;
// Not under /tmp (a sandboxed task has its own), and open to a task uid (agents run as root here).
const fakeBin = mkdtempSync('/var/tmp/agentyard-fake-claude-');
chmodSync(fakeBin, 0o755);

const shell = (command: string, extra: Record<string, unknown> = {}) => ({
  description: `run ${command.slice(0, 40)}`,
  tool: 'shell',
  input: { command },
  ...extra,
});

/** Creates a task as a well-behaved client does: a 429 (the edge's backpressure on a burst) is retried after its Retry-After. */
async function createTask(client: ApiClient, body: Record<string, unknown>): Promise<TaskView> {
  for (;;) {
    const res = await client.post<TaskView>('/api/v1/tasks', body);
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
      continue;
    }
    if (res.status !== 201) throw new Error(`create task: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
}

const taskIn = (client: ApiClient, id: string, statuses: string[], timeoutMs = 60_000) =>
  eventually(
    `task ${id} to reach ${statuses.join('/')}`,
    async () => {
      const res = await client.get<TaskView>(`/api/v1/tasks/${id}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
  );

async function registrationToken(client: ApiClient): Promise<string> {
  const res = await client.post<{ token: string; installCommand: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  expect(res.status).toBe(201);
  expect(res.body.installCommand).toContain(res.body.token);
  return res.body.token;
}

async function onlineWorker(client: ApiClient, name: string): Promise<WorkerView> {
  return eventually(`worker ${name} online`, async () => {
    const res = await client.get<{ items: WorkerView[] }>('/api/v1/workers');
    return res.body.items.find((w) => w.name === name && w.status === 'online' && w.lastHeartbeat !== null);
  });
}

beforeAll(async () => {
  // Stand-in for the Claude Code CLI: answers --version and -p like the real one, offline.
  writeFileSync(
    join(fakeBin, 'claude'),
    [
      '#!/bin/sh',
      'if [ "$1" = "--version" ]; then echo "1.0.0 (Claude Code)"; exit 0; fi',
      'while [ $# -gt 0 ]; do if [ "$1" = "-p" ]; then shift; echo "claude stand-in says: $1"; exit 0; fi; shift; done',
      'echo "claude stand-in: no -p prompt" >&2; exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(join(fakeBin, 'claude'), 0o755);
  anthropic = await startAnthropicStandIn(() => ({ content: [{ type: 'text', text: 'unused' }], usage: { input_tokens: 0, output_tokens: 0 } }));
  platform = await startPlatform({
    env: {
      // The offline threshold must stay well above the heartbeat interval, or healthy workers flap.
      workers: { OFFLINE_AFTER_MS: '4000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' },
      tasks: { TIMEOUT_SCAN_INTERVAL_MS: '500' },
    },
  });
  api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  mallory = await api.signUp('mallory');
  workerA = platform.startWorker({ token: await registrationToken(alice.client), name: 'worker-a', slots: 4 });
  workerB = platform.startWorker({
    token: await registrationToken(alice.client),
    name: 'worker-b',
    slots: 4,
    // claude-code counts as present only with a key or base URL configured (agent-tools.e2e drives the real CLI).
    env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, ANTHROPIC_API_KEY: 'sk-not-used', ANTHROPIC_BASE_URL: anthropic.url },
  });
  workerAId = (await onlineWorker(alice.client, 'worker-a')).id;
  workerBId = (await onlineWorker(alice.client, 'worker-b')).id;
  // The platform's NATS refuses anonymous clients: this test listens as the services do.
  nc = await connect({ servers: platform.nats.url, authenticator: credsAuthenticator(readFileSync(platform.natsCredsFile!)) });
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await platform?.stop();
  await anthropic?.close();
  rmSync(fakeBin, { recursive: true, force: true });
});

describe('Tasks on worker agents', () => {
  it('runs 50 shell tasks to success with the right output, and the WebSocket sees every status change', async () => {
    const live = await LiveSocket.open(platform.url, alice.token);
    const tasks = await Promise.all(Array.from({ length: 50 }, (_, i) => createTask(alice.client, shell(`echo task-${i}-$((6*7))`))));
    expect(tasks.every((t) => t.status === 'queued' && t.attempt === 1)).toBe(true);
    const done = await Promise.all(tasks.map((t) => taskIn(alice.client, t.id, ['succeeded', 'failed', 'timed_out', 'cancelled'], 120_000)));
    done.forEach((t, i) => {
      expect(t.status).toBe('succeeded');
      expect(t.result?.exitCode).toBe(0);
      expect(t.result?.outputTail).toContain(`task-${i}-42`);
    });
    await eventually('every TaskSucceeded on the socket', async () =>
      tasks.every((t) => live.eventsOf(t.id).some((e) => e.type === 'TaskSucceeded')) ? true : undefined,
    );
    for (const t of tasks) {
      const seen = live.eventsOf(t.id).map((e) => e.type);
      expect(seen).toEqual(expect.arrayContaining(['TaskCreated', 'TaskQueued', 'TaskAssigned', 'TaskStarted', 'TaskSucceeded']));
    }
    live.close();
  }, 180_000);

  it('runs a noop task through the whole pipeline without a process', async () => {
    const task = await createTask(alice.client, { description: 'pipeline check', tool: 'noop', input: {} });
    const done = await taskIn(alice.client, task.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, result: { exitCode: 0 } });
    expect([workerAId, workerBId]).toContain(done.workerId);
  }, 60_000);

  it('shows the JSON a task wrote to AGENTYARD_OUTPUT as result.output, and fails one that wrote something else, saying why', async () => {
    const task = await createTask(alice.client, shell(`printf '{"steps":[1,2]}' > "$AGENTYARD_OUTPUT"`));
    const done = await taskIn(alice.client, task.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', result: { exitCode: 0, output: { steps: [1, 2] } } });

    const broken = await createTask(alice.client, shell(`echo '{"steps":' > "$AGENTYARD_OUTPUT"`, { maxAttempts: 1 }));
    const failed = await taskIn(alice.client, broken.id, ['succeeded', 'failed']);
    expect(failed).toMatchObject({
      status: 'failed',
      result: { exitCode: 0, error: 'AGENTYARD_OUTPUT: not valid JSON at line 2, column 1 (value expected)' },
    });
    expect(failed.result).not.toHaveProperty('output');
  }, 60_000);

  it('runs a task that needs a tool only worker B has on B, and the decision shows both workers scored', async () => {
    const task = await createTask(alice.client, { description: 'ask claude', tool: 'claude-code', input: { prompt: 'hello' } });
    const done = await taskIn(alice.client, task.id, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    expect(done.workerId).toBe(workerBId);
    expect(done.result?.outputTail).toContain('claude stand-in says: hello');
    const decision = await alice.client.get<{
      workerId: string;
      candidates: Array<{ workerId: string; eligible: boolean; rejectedBecause: string[]; scores: { total: number } }>;
    }>(`/api/v1/tasks/${task.id}/allocation`);
    expect(decision.status).toBe(200);
    expect(decision.body.workerId).toBe(workerBId);
    const byId = Object.fromEntries(decision.body.candidates.map((c) => [c.workerId, c]));
    expect(byId[workerBId]?.eligible).toBe(true);
    expect(byId[workerBId]?.scores.total).toBeGreaterThan(0);
    expect(byId[workerAId]?.eligible).toBe(false);
    expect(byId[workerAId]?.rejectedBecause.join(' ')).toMatch(/claude-code/);
  }, 60_000);

  it('gives a drained worker no new task until its owner resumes it', async () => {
    const drained = await alice.client.call('POST', `/api/v1/workers/${workerAId}/drain`, {});
    expect(drained).toMatchObject({ status: 200, body: { drained: true } });
    try {
      // The drain reaches allocation as an event, a moment after the command answered (under a
      // loaded test run a task created at once could still be decided on the worker): wait until
      // the workers' view shows it and allocation has had a moment to apply it.
      await eventually('the drain in the workers view', async () => {
        const res = await alice.client.get<{ drained: boolean }>(`/api/v1/workers/${workerAId}`);
        return res.body.drained ? true : undefined;
      });
      await new Promise((r) => setTimeout(r, 1_000));
      const pinned = await createTask(alice.client, { ...shell('echo resumed'), requirements: { workerId: workerAId } });
      const deferral = await eventually('a deferral naming the drain', async () => {
        const res = await alice.client.get<{ candidates: Array<{ workerId: string; rejectedBecause: string[] }> }>(`/api/v1/tasks/${pinned.id}/allocation`);
        return res.status === 200 && res.body.candidates.length > 0 ? res.body : undefined;
      });
      expect(deferral.candidates.find((c) => c.workerId === workerAId)?.rejectedBecause).toContain('drained');
      expect((await alice.client.get<{ status: string }>(`/api/v1/tasks/${pinned.id}`)).body.status).toBe('queued');

      const resumed = await alice.client.call('POST', `/api/v1/workers/${workerAId}/resume`, {});
      expect(resumed).toMatchObject({ status: 200, body: { drained: false } });
      const done = await taskIn(alice.client, pinned.id, ['succeeded', 'failed']);
      expect(done).toMatchObject({ status: 'succeeded', workerId: workerAId });
    } finally {
      await alice.client.call('POST', `/api/v1/workers/${workerAId}/resume`, {});
    }
  }, 60_000);

  it('stops placing a tool’s tasks on a worker whose CLI stopped working, and places them again once it works', async () => {
    // Worker C probes its tools every second; its claude is a copy we can take away and put back.
    const binC = mkdtempSync('/var/tmp/agentyard-fake-claude-c-');
    chmodSync(binC, 0o755);
    const claudeC = join(binC, 'claude');
    writeFileSync(claudeC, readFileSync(join(fakeBin, 'claude')));
    chmodSync(claudeC, 0o755);
    const workerC = platform.startWorker({
      token: await registrationToken(alice.client),
      name: 'worker-c',
      extraArgs: ['--tool-probe-interval', '1'],
      // Without node_modules/.bin (`npm test` puts it on PATH): the real claude there would stand in for the removed one.
      env: {
        PATH: [binC, ...(process.env.PATH ?? '').split(':').filter((d) => !d.includes('node_modules'))].join(':'),
        ANTHROPIC_API_KEY: 'sk-not-used',
        ANTHROPIC_BASE_URL: anthropic.url,
      },
    });
    try {
      const toolsOfC = async () =>
        (await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers')).body.items.find((w) => w.name === 'worker-c')?.tools.map((t) => t.name) ?? [];
      const workerCId = (await onlineWorker(alice.client, 'worker-c')).id;
      expect(await toolsOfC()).toContain('claude-code');

      rmSync(claudeC);
      await eventually('worker C to stop offering claude-code', async () => ((await toolsOfC()).includes('claude-code') ? undefined : true), 20_000);
      expect(workerC.output()).toMatch(/tool claude-code no longer runs here/);
      const pinned = await createTask(alice.client, {
        description: 'claude on C',
        tool: 'claude-code',
        input: { prompt: 'again' },
        requirements: { workerId: workerCId },
      });
      const deferral = await eventually('a deferral naming the missing tool', async () => {
        const res = await alice.client.get<{ candidates: Array<{ workerId: string; rejectedBecause: string[] }> }>(`/api/v1/tasks/${pinned.id}/allocation`);
        return res.status === 200 && res.body.candidates.length > 0 ? res.body : undefined;
      });
      expect(deferral.candidates.find((c) => c.workerId === workerCId)?.rejectedBecause.join(' ')).toMatch(/claude-code/);
      expect((await alice.client.get<TaskView>(`/api/v1/tasks/${pinned.id}`)).body.status).toBe('queued');

      writeFileSync(claudeC, readFileSync(join(fakeBin, 'claude')));
      chmodSync(claudeC, 0o755);
      const done = await taskIn(alice.client, pinned.id, ['succeeded', 'failed'], 30_000);
      expect(done).toMatchObject({ status: 'succeeded', workerId: workerCId });
      expect(done.result?.outputTail).toContain('claude stand-in says: again');
    } finally {
      await workerC.stop();
      rmSync(binC, { recursive: true, force: true });
    }
  }, 90_000);

  it('cancels a running `sleep 60`: the process tree is gone within 2 s and the task is cancelled', async () => {
    // The task's pids are its sandbox's: the sleep is found on the host by its unique duration.
    const sleep = uniqueSleep(60);
    const task = await createTask(alice.client, shell(`sleep ${sleep} & echo started > started; wait`));
    const running = await taskIn(alice.client, task.id, ['running']);
    const agent = running.workerId === workerAId ? workerA : workerB;
    await eventually('the sleep to start', async () => (existsSync(join(agent.stateDir, 'work', `${task.id}-1`, 'started')) ? true : undefined));
    const childPid = await eventually('the sleep pid', async () => pidsWith(`sleep\0${sleep}`)[0]);
    expect(isAlive(childPid)).toBe(true);
    const cancelledAt = Date.now();
    expect((await alice.client.post(`/api/v1/tasks/${task.id}/cancel`)).status).toBe(200);
    await eventually('the sleep to die', async () => (isAlive(childPid) ? undefined : true), 2_000, 20);
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    expect((await taskIn(alice.client, task.id, ['cancelled'])).status).toBe('cancelled');
    const again = await alice.client.post(`/api/v1/tasks/${task.id}/cancel`);
    expect(again.status).toBe(409);
  }, 60_000);

  it('requeues the task of a worker killed with -9 and runs it as attempt 2 on the other worker; a late result from attempt 1 is rejected', async () => {
    const task = await createTask(alice.client, shell('sleep 3; echo survived', { maxAttempts: 3 }));
    const running = await taskIn(alice.client, task.id, ['running']);
    const victim = running.workerId === workerAId ? workerA : workerB;
    const victimId = running.workerId!;
    await victim.kill();
    const done = await taskIn(alice.client, task.id, ['succeeded', 'failed'], 90_000);
    expect(done.status).toBe('succeeded');
    expect(done.attempt).toBe(2);
    expect(done.workerId).not.toBe(victimId);
    // The dead worker's attempt-1 result arrives late: fenced off.
    const js = jetstream(nc);
    await js.publish(
      `work.report.${victimId}`,
      JSON.stringify({
        kind: 'finished',
        taskId: task.id,
        attempt: 1,
        workerId: victimId,
        outcome: 'succeeded',
        result: { exitCode: 0, outputTail: 'late', durationMs: 1 },
      }),
    );
    const history = await eventually('the rejection in the history', async () => {
      const res = await alice.client.get<{ items: Envelope[] }>(`/api/v1/tasks/${task.id}/events`);
      return res.body.items.some((e) => e.type === 'TaskReportRejected') ? res.body.items : undefined;
    });
    const types = history.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['TaskRequeued', 'TaskReportRejected']));
    expect(types.filter((t) => t === 'TaskSucceeded')).toHaveLength(1);
    const after = await alice.client.get<TaskView>(`/api/v1/tasks/${task.id}`);
    expect(after.body.result?.outputTail).toContain('survived');
    // Bring a worker back for the remaining tests.
    const replacement = platform.startWorker({ stateDir: victim.stateDir, name: victim === workerA ? 'worker-a' : 'worker-b', slots: 4 });
    if (victim === workerA) workerA = replacement;
    else workerB = replacement;
    await eventually('the worker back online', async () => {
      const res = await alice.client.get<WorkerView>(`/api/v1/workers/${victimId}`);
      return res.body.status === 'online' ? true : undefined;
    });
  }, 150_000);

  it('loses no task and runs none twice when the tasks and allocation services restart mid-run', async () => {
    // Each run reports itself over HTTP: a sandboxed task can write nothing the host sees but its own directory.
    const runs: string[] = [];
    const counter: Server = createServer((req, res) => {
      runs.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
    const port = (counter.address() as AddressInfo).port;
    try {
      // bash's /dev/tcp: no HTTP client to install, and far lighter than starting node 30 times.
      const report = (i: number) => `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}; printf "GET /run-${i} HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3 >/dev/null'`;
      const tasks = await Promise.all(Array.from({ length: 30 }, (_, i) => createTask(alice.client, shell(`${report(i)}; sleep 0.2`))));
      await platform.restart('tasks', 'kill');
      await platform.restart('allocation', 'kill');
      const done = await Promise.all(tasks.map((t) => taskIn(alice.client, t.id, ['succeeded', 'failed'], 120_000)));
      expect(done.every((t) => t.status === 'succeeded')).toBe(true);
      const counts = new Map<string, number>();
      for (const r of runs) counts.set(r, (counts.get(r) ?? 0) + 1);
      expect(counts.size).toBe(30);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    } finally {
      counter.close();
    }
  }, 180_000);

  it('rebuilds every read model from the event store equal to the live one', async () => {
    // Compare against a live model that has caught up: the API reads a task from its event
    // stream, so the previous test can finish while task_view is still a few events behind.
    await projectionsCaughtUp();
    const before = await readModels();
    for (const service of ['tasks', 'workers'] as const) await replay(service);
    expect(await readModels()).toEqual(before);
  }, 60_000);

  it("gives a second user 404 on the first user's tasks and workers, and none of their WebSocket messages", async () => {
    const theirs = await createTask(alice.client, shell('echo private'));
    const spy = await LiveSocket.open(platform.url, mallory.token);
    const own = await LiveSocket.open(platform.url, alice.token);
    await taskIn(alice.client, theirs.id, ['succeeded']);
    const m = mallory.client;
    const id = theirs.id;
    for (const [method, path] of [
      ['GET', `/api/v1/tasks/${id}`],
      ['PUT', `/api/v1/tasks/${id}`],
      ['DELETE', `/api/v1/tasks/${id}`],
      ['POST', `/api/v1/tasks/${id}/cancel`],
      ['POST', `/api/v1/tasks/${id}/retry`],
      ['GET', `/api/v1/tasks/${id}/events`],
      ['GET', `/api/v1/tasks/${id}/allocation`],
      ['GET', `/api/v1/workers/${workerAId}`],
      ['POST', `/api/v1/workers/${workerAId}/drain`],
      ['POST', `/api/v1/workers/${workerAId}/resume`],
      ['POST', `/api/v1/workers/${workerAId}/roles`],
      ['POST', `/api/v1/workers/${workerAId}/revoke-credential`],
    ] as const) {
      const body =
        method === 'PUT' ? { priority: 1 } : path.endsWith('/roles') ? { userId: mallory.userId, role: 'owner' } : method === 'POST' ? {} : undefined;
      const res = await m.call(method, path, body);
      expect({ path, method, status: res.status }).toEqual({ path, method, status: 404 });
    }
    expect((await m.get<{ items: unknown[] }>('/api/v1/tasks')).body.items).toEqual([]);
    expect((await m.get<{ items: unknown[] }>('/api/v1/workers')).body.items).toEqual([]);
    // Mallory's own task: her socket must see it, proving the socket works and Alice's was filtered.
    const hers = await createTask(m, { description: 'no worker can take it', tool: 'ollama', input: { prompt: 'x' } });
    await eventually("mallory's own event", async () => (spy.eventsOf(hers.id).length > 0 ? true : undefined));
    await eventually("alice's events on her socket", async () => (own.eventsOf(id).some((e) => e.type === 'TaskSucceeded') ? true : undefined));
    expect(spy.events.filter((e) => JSON.stringify(e).includes(alice.userId))).toEqual([]);
    expect(spy.eventsOf(id)).toEqual([]);
    expect(spy.output.filter((c) => c.taskId === id)).toEqual([]);
    spy.close();
    own.close();
  }, 60_000);

  describe("a worker's NATS credentials", () => {
    const credentialOf = (agent: WorkerAgentProcess): string =>
      (JSON.parse(readFileSync(join(agent.stateDir, 'worker.json'), 'utf8')) as { registrations: Array<{ credential: string }> }).registrations[0]!.credential;
    const natsCredentials = (workerId: string, credential: string) =>
      api.call<{ creds: string | null; expiresAt: string | null; inboxPrefix: string | null }>(
        'POST',
        `/api/v1/workers/${workerId}/nats-credentials`,
        undefined,
        { authorization: `Worker ${credential}` },
      );

    it("let its agent use only its own subjects: not another worker's orders, not the platform's streams", async () => {
      const issued = await natsCredentials(workerAId, credentialOf(workerA));
      expect(issued.status).toBe(200);
      expect(issued.body.inboxPrefix).toBe(`_INBOX.${workerAId}`);
      expect(Date.parse(issued.body.expiresAt!)).toBeGreaterThan(Date.now() + 30 * 60_000);
      const asA = await connect({
        servers: platform.nats.url,
        authenticator: credsAuthenticator(new TextEncoder().encode(issued.body.creds!)),
        inboxPrefix: issued.body.inboxPrefix!,
        reconnect: false,
      });
      try {
        // Its own consumer answers; another worker's does not (the server refuses the API call).
        await expect(jetstream(asA).consumers.get('WORK', `worker-${workerAId}`)).resolves.toBeDefined();
        await expect(jetstream(asA).consumers.get('WORK', `worker-${workerBId}`)).rejects.toThrow(/permission|timeout|no responders/i);
        // Every subject family the contracts name (streams, commands, queries, work, $JS API, KV,
        // other inboxes, $SYS) is refused; its own subjects are not.
        expect(await probeNatsPermissions(asA, foreignSubjects(workerAId, workerBId))).toEqual({ publish: [], subscribe: [] });
        expect(await probeNatsPermissions(asA, ownSubjects(workerAId))).toEqual(ownSubjects(workerAId));
      } finally {
        await asA.close().catch(() => undefined);
      }
    });

    it("forward a task's live output only from the worker running its current attempt", async () => {
      const live = await LiveSocket.open(platform.url, alice.token);
      const task = await createTask(alice.client, shell('sleep 3'));
      const running = await taskIn(alice.client, task.id, ['running']);
      const other = running.workerId === workerAId ? workerBId : workerAId;
      const chunk = (data: string) => JSON.stringify({ taskId: task.id, attempt: running.attempt, seq: 1_000, data });
      // An agent's NATS user cannot send under another worker's id (tested above); the gateway
      // also drops a chunk sent under the id of a worker that is not running the task.
      nc.publish(`work.output.${other}.${task.id}`, chunk('forged'));
      nc.publish(`work.output.${running.workerId}.${task.id}`, chunk('genuine'));
      await eventually('the genuine chunk', async () => (live.output.some((c) => c.data === 'genuine') ? true : undefined));
      expect(live.output.filter((c) => c.data === 'forged')).toEqual([]);
      live.close();
      await alice.client.post(`/api/v1/tasks/${task.id}/cancel`);
    });

    it("are what `agentyard-worker doctor` checks NATS with: it reaches NATS as the worker's own user", async () => {
      const repoRoot = join(__dirname, '..', '..', '..');
      const child = spawn(process.execPath, [
        ...agentNodeFlags(repoRoot),
        join(repoRoot, 'worker', 'dist', 'main.js'),
        'doctor',
        '--url',
        platform.url,
        '--state-dir',
        workerA.stateDir,
      ]);
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(out).toMatch(/nats credentials: own subjects only, valid until \d{4}-/);
      expect(out).toMatch(/nats: nats:\/\/\S+ reachable/);
      expect(code).toBe(0);
    });

    it("are refused to another worker's credential (403) and once the worker's credential is revoked (401)", async () => {
      const other = await natsCredentials(workerBId, credentialOf(workerA));
      expect(other.status).toBe(403);
      // Another user's worker, so alice's list stays what the other tests expect.
      const carol = await api.signUp('carol');
      const token = await registrationToken(carol.client);
      const registered = await api.post<{ workerId: string; credential: string }>('/api/v1/workers/register', {
        token,
        name: 'revoked-soon',
        hostname: 'h',
        platform: 'linux',
        arch: 'x64',
        tools: [],
        slots: 1,
        resources: { cpus: 1, memoryMb: 1, diskMb: 1 },
        agentVersion: '0',
      });
      expect(registered.status).toBe(201);
      expect((await natsCredentials(registered.body.workerId, registered.body.credential)).status).toBe(200);
      const revoked = await carol.client.post<WorkerView>(`/api/v1/workers/${registered.body.workerId}/revoke-credential`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.credentialRevoked).toBe(true);
      const refused = await natsCredentials(registered.body.workerId, registered.body.credential);
      expect(refused.status).toBe(401);
      expect(String((refused.body as { message?: string }).message)).toMatch(/revoked/);
    });
  });

  describe('on a worker shared with another user (role user)', () => {
    /** In the agents' environment: must never reach a task. */
    const agentSecret = 'agent-environment-secret';
    let owen: { client: ApiClient; userId: string };
    let sam: { client: ApiClient; userId: string };
    const shared = new Map<string, { agent: WorkerAgentProcess; id: string }>();

    beforeAll(async () => {
      owen = await api.signUp('owen');
      sam = await api.signUp('sam');
      // Both isolation mechanisms: bubblewrap (auto, bwrap is installed) and a task uid forced on;
      // and an agent told to run tasks unisolated.
      for (const [isolation, extraArgs] of [
        ['bubblewrap', []],
        ['task-user', ['--isolation', 'task-user']],
        ['none', ['--isolation', 'none']],
      ] as const) {
        const name = `shared-${isolation}`;
        const agent = platform.startWorker({
          token: await registrationToken(owen.client),
          name,
          slots: 2,
          extraArgs: [...extraArgs],
          env: { AGENT_SECRET: agentSecret },
        });
        const id = (await onlineWorker(owen.client, name)).id;
        const granted = await owen.client.post<WorkerView>(`/api/v1/workers/${id}/roles`, { userId: sam.userId, role: 'user' });
        expect(granted.status).toBe(200);
        shared.set(isolation, { agent, id });
      }
      // Three agents started one after another, each waited online: a loaded full run took over 60 s.
    }, 180_000);

    /**
     * What a malicious sharer would run: each attempt prints DENIED:<name> or LEAK:<name> plus what
     * it read; then proves the task itself works (its directory, HOME and /tmp are writable).
     */
    const battery = (stateDir: string, otherTaskDir: string, agentPid: number): string =>
      [
        'try() { if sh -c "$2" >/dev/null 2>&1; then echo "LEAK:$1"; sh -c "$2" 2>/dev/null | head -c 2000; else echo "DENIED:$1"; fi; }',
        `try worker.json-relative 'cat ../../worker.json'`,
        `try worker.json-absolute 'cat ${stateDir}/worker.json'`,
        `try state-dir 'ls ${stateDir} | grep -q worker.json'`,
        `try services-nats-creds 'cat ${platform.natsCredsFile}'`,
        `try agent-environ 'cat /proc/${agentPid}/environ'`,
        `try agent-mem 'exec 3</proc/${agentPid}/mem'`,
        `try agent-maps 'cat /proc/${agentPid}/maps | grep -q .'`,
        `try other-task-file 'cat ${otherTaskDir}/secret.txt'`,
        `try other-task-dir 'ls ${otherTaskDir} | grep -q secret'`,
        'touch ./mine "$HOME/mine" "${TMPDIR:-/tmp}/mine" && echo "task works"',
      ].join('\n');
    const denied = [
      'worker.json-relative',
      'worker.json-absolute',
      'state-dir',
      'services-nats-creds',
      'agent-environ',
      'agent-mem',
      'agent-maps',
      'other-task-file',
      'other-task-dir',
    ];

    it.each(['bubblewrap', 'task-user'])(
      "keeps the sharer's task on the %s worker from its credential, NATS credentials, state dir, the agent's memory and the owner's running task, and runs it",
      async (isolation) => {
        const { agent, id } = shared.get(isolation)!;
        const view = await owen.client.get<WorkerView>(`/api/v1/workers/${id}`);
        expect(view.body.lastHeartbeat?.isolation).toBe(isolation);

        // The owner's task keeps a secret in its directory while the sharer's task runs.
        const owners = await createTask(owen.client, { ...shell(`echo owner-secret > secret.txt; sleep ${uniqueSleep(120)}`), requirements: { workerId: id } });
        await taskIn(owen.client, owners.id, ['running']);
        const ownerDir = join(agent.stateDir, 'work', `${owners.id}-1`);
        await eventually("the owner's secret on disk", async () => (existsSync(join(ownerDir, 'secret.txt')) ? true : undefined));
        const credential = (JSON.parse(readFileSync(join(agent.stateDir, 'worker.json'), 'utf8')) as { registrations: Array<{ credential: string }> })
          .registrations[0]!.credential;
        expect(readFileSync(`/proc/${agent.pid}/environ`, 'utf8')).toContain(agentSecret);

        const task = await createTask(sam.client, { ...shell(battery(agent.stateDir, ownerDir, agent.pid!)), requirements: { workerId: id } });
        const done = await taskIn(sam.client, task.id, ['succeeded', 'failed', 'timed_out', 'cancelled']);
        const output = done.result?.outputTail ?? '';
        expect({ status: done.status, workerId: done.workerId }).toEqual({ status: 'succeeded', workerId: id });
        expect(output).toContain('task works');
        for (const name of denied) expect(output).toContain(`DENIED:${name}`);
        expect(output).not.toContain('LEAK:');
        expect(output).not.toContain(credential.slice(credential.indexOf('.') + 1));
        expect(output).not.toContain('NATS USER JWT');
        expect(output).not.toContain('USER NKEY SEED');
        expect(output).not.toContain(agentSecret);
        expect(output).not.toContain('owner-secret');

        expect((await owen.client.post(`/api/v1/tasks/${owners.id}/cancel`)).status).toBe(200);
        await taskIn(owen.client, owners.id, ['cancelled']);
      },
      60_000,
    );

    it("runs only the owner's tasks on a worker whose agent does not isolate them, and tells the sharer why", async () => {
      const { id } = shared.get('none')!;
      expect((await owen.client.get<WorkerView>(`/api/v1/workers/${id}`)).body.lastHeartbeat?.isolation).toBe('none');
      const samsTask = await createTask(sam.client, { ...shell('cat ../../worker.json'), requirements: { workerId: id } });
      const deferral = await eventually('a deferral naming the isolation', async () => {
        const res = await sam.client.get<{ candidates: Array<{ workerId: string; rejectedBecause: string[] }> }>(`/api/v1/tasks/${samsTask.id}/allocation`);
        const reasons = res.status === 200 ? res.body.candidates.find((c) => c.workerId === id)?.rejectedBecause : undefined;
        return reasons?.some((r) => r.startsWith('not isolated')) ? reasons : undefined;
      });
      expect(deferral).toEqual([expect.stringContaining("its agent runs tasks without isolation (none), so only its owners' tasks")]);
      expect((await sam.client.get<TaskView>(`/api/v1/tasks/${samsTask.id}`)).body.status).toBe('queued');

      const owners = await createTask(owen.client, { ...shell('echo owner-runs-here'), requirements: { workerId: id } });
      expect(await taskIn(owen.client, owners.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded', workerId: id });
      expect((await sam.client.get<TaskView>(`/api/v1/tasks/${samsTask.id}`)).body.status).toBe('queued');
      await sam.client.post(`/api/v1/tasks/${samsTask.id}/cancel`);
    }, 60_000);
  });

  describe('bad input', () => {
    const count = async () => (await alice.client.get<{ items: unknown[] }>('/api/v1/tasks?limit=200')).body.items.length;

    it.each([
      { name: 'an unknown tool', body: { description: 'x', tool: 'rm-rf', input: {} }, status: 400, message: /tool must be one of/ },
      { name: 'priority out of range', body: { ...shell('true'), priority: 101 }, status: 400, message: /priority must be 0–100/ },
      { name: 'a shell task without a command', body: { description: 'x', tool: 'shell', input: {} }, status: 400, message: /input.command/ },
      { name: 'a 1 MB description', body: { ...shell('true'), description: 'x'.repeat(1024 * 1024) }, status: 413, message: /larger/ },
      { name: 'a 20 kB description', body: { ...shell('true'), description: 'x'.repeat(20_000) }, status: 400, message: /description must be at most/ },
    ])('answers $name with a clear $status and creates nothing', async ({ body, status, message }) => {
      const before = await count();
      const res = await alice.client.post('/api/v1/tasks', body);
      expect(res.status).toBe(status);
      expect(String(res.body.message)).toMatch(message);
      expect(await count()).toBe(before);
    });

    it('answers a malformed registration token with 400 and an unknown one with 401, registering nothing', async () => {
      const body = {
        name: 'x',
        hostname: 'h',
        platform: 'linux',
        arch: 'x64',
        tools: [],
        slots: 1,
        resources: { cpus: 1, memoryMb: 1, diskMb: 1 },
        agentVersion: '0',
      };
      const workersBefore = (await alice.client.get<{ items: unknown[] }>('/api/v1/workers')).body.items.length;
      const malformed = await api.post('/api/v1/workers/register', { ...body, token: 'not-a-token' });
      expect(malformed.status).toBe(400);
      expect(String(malformed.body.message)).toMatch(/registration token/);
      const unknown = await api.post('/api/v1/workers/register', { ...body, token: `ayr_00000000-0000-7000-8000-000000000000.${'A'.repeat(43)}` });
      expect(unknown.status).toBe(401);
      expect((await alice.client.get<{ items: unknown[] }>('/api/v1/workers')).body.items).toHaveLength(workersBefore);
    });
  });
});

/**
 * True while `pid` runs. A zombie does not count: it has exited and holds nothing, and only waits
 * for whoever adopted it to collect its status (here PID 1, which does so on its own schedule).
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'; // the state field follows the command name
  } catch {
    return false;
  }
}

/** A `sleep` duration no other process uses (`60.000123` sleeps 60 s), to find the sleep from the host. */
function uniqueSleep(seconds: number): string {
  return `${seconds}.${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
}

/** Host pids of live processes whose command line contains `marker`. */
function pidsWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves once each service's read-model checkpoint has reached the head of its event store. */
async function projectionsCaughtUp(): Promise<void> {
  for (const [service, name] of [
    ['tasks', 'projection:task_view'],
    ['workers', 'projection:worker_view'],
  ] as const) {
    await eventually(`${name} to catch up`, async () => {
      const [head] = await query<{ head: string | null }>(platform.databases[service], 'select max(position)::text as head from event_store.events');
      const [cp] = await query<{ position: string }>(platform.databases[service], `select position::text from event_store.checkpoints where name = '${name}'`);
      return head?.head !== undefined && cp?.position === head.head ? true : undefined;
    });
  }
}

async function readModels(): Promise<Record<string, unknown[]>> {
  return {
    tasks: await query(platform.databases.tasks, 'select * from task_view order by id'),
    workers: await query(platform.databases.workers, 'select * from worker_view order by id'),
  };
}

async function replay(service: 'tasks' | 'workers'): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', service, 'dist', 'replay.js')], {
    env: { ...process.env, DATABASE_URL: platform.databases[service] },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`replay ${service} failed: ${r.stderr}`);
}
