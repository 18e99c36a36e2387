/*
 * Workflows end to end: every service, nats-server, Postgres and two real worker agents (shell
 * tool) as processes. The five kinds, run control, approvals, cron schedules, ownership, bad
 * input, and read models rebuilt from the event store. Crashes are in workflows-crash.e2e.spec.ts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Envelope, RunView, TaskView, WorkerView, WorkflowView } from '@agentyard/contracts';
import { startPlatform, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';
import { LiveSocket } from './support/live-socket';

let platform: Platform;
let api: ApiClient;
let alice: { client: ApiClient; userId: string; token: string };
let mallory: { client: ApiClient; userId: string; token: string };
const repoRoot = join(__dirname, '..', '..', '..');

const sh = (command: string, extra: Record<string, unknown> = {}) => ({ tool: 'shell', input: { command }, ...extra });
const finished = ['succeeded', 'failed', 'cancelled', 'timed_out'];

async function createWorkflow(client: ApiClient, definition: Record<string, unknown>): Promise<WorkflowView> {
  const res = await client.post<WorkflowView>('/api/v1/workflows', definition);
  if (res.status !== 201) throw new Error(`create workflow: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function execute(client: ApiClient, workflowId: string, input: Record<string, unknown> = {}): Promise<RunView> {
  const res = await client.post<RunView>(`/api/v1/workflows/${workflowId}/execute`, { input });
  if (res.status !== 201) throw new Error(`execute: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function run(client: ApiClient, definition: Record<string, unknown>, input: Record<string, unknown> = {}): Promise<RunView> {
  return execute(client, (await createWorkflow(client, definition)).id, input);
}

const runWhere = (client: ApiClient, runId: string, what: string, ok: (r: RunView) => boolean, timeoutMs = 90_000) =>
  eventually(
    `run ${runId}: ${what}`,
    async () => {
      const res = await client.get<RunView>(`/api/v1/runs/${runId}`);
      return res.status === 200 && ok(res.body) ? res.body : undefined;
    },
    timeoutMs,
    200,
  );
const runFinished = (client: ApiClient, runId: string, timeoutMs?: number) =>
  runWhere(client, runId, 'finished', (r) => finished.includes(r.status), timeoutMs);

async function taskOf(client: ApiClient, r: RunView, nodeId: string): Promise<TaskView> {
  const taskId = r.nodes[nodeId]?.taskId;
  if (!taskId) throw new Error(`node ${nodeId} has no task: ${JSON.stringify(r.nodes[nodeId])}`);
  return (await client.get<TaskView>(`/api/v1/tasks/${taskId}`)).body;
}

async function registrationToken(client: ApiClient): Promise<string> {
  const res = await client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  expect(res.status).toBe(201);
  return res.body.token;
}

async function onlineWorker(client: ApiClient, name: string): Promise<WorkerView> {
  return eventually(`worker ${name} online`, async () => {
    const res = await client.get<{ items: WorkerView[] }>('/api/v1/workers');
    return res.body.items.find((w) => w.name === name && w.status === 'online' && w.lastHeartbeat !== null);
  });
}

beforeAll(async () => {
  platform = await startPlatform({
    env: {
      workers: { OFFLINE_AFTER_MS: '4000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' },
      tasks: { TIMEOUT_SCAN_INTERVAL_MS: '500' },
      workflows: { SCHEDULER_INTERVAL_MS: '200', SCHEDULE_MISSED_AFTER_MS: '1500' },
    },
  });
  api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  mallory = await api.signUp('mallory');
  platform.startWorker({ token: await registrationToken(alice.client), name: 'worker-a', slots: 4 });
  platform.startWorker({ token: await registrationToken(alice.client), name: 'worker-b', slots: 4 });
  await onlineWorker(alice.client, 'worker-a');
  await onlineWorker(alice.client, 'worker-b');
}, 180_000);

afterAll(async () => {
  await platform?.stop();
});

describe('The five kinds of workflow, on real workers', () => {
  it("Sequential: each step's structured output reaches the next", async () => {
    const r = await run(alice.client, {
      name: 'add one',
      kind: 'sequential',
      steps: [
        { id: 'count', task: sh(`printf '{"n": 41}' > "$AGENTYARD_OUTPUT"`) },
        { id: 'add', task: sh('echo "answer=$(( {{nodes.count.output.n}} + 1 ))"') },
      ],
    });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    expect(done.nodes.count!.output).toEqual({ n: 41 });
    expect(done.nodes.add!.text).toContain('answer=42');
    const addTask = await taskOf(alice.client, done, 'add');
    expect(addTask.workflow).toEqual({ runId: r.id, nodeId: 'add', iteration: 0, generation: 0 });
    expect(addTask.ownerId).toBe(alice.userId);
  });

  it('Concurrent: the same task on both workers, joined on all', async () => {
    const r = await run(alice.client, {
      name: 'everywhere',
      kind: 'concurrent',
      count: 2,
      task: sh('hostname; sleep 0.5'),
      then: sh('echo joined {{inputs | json | shell}}'),
    });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    const workers = await Promise.all(['copy1', 'copy2'].map(async (id) => (await taskOf(alice.client, done, id)).workerId));
    expect(new Set(workers).size).toBe(2);
    expect(done.nodes.join!.status).toBe('succeeded');
    expect(done.nodes.then!.status).toBe('succeeded');
  });

  it('Graph: takes the false branch, loops back twice, then exits', async () => {
    const r = await run(alice.client, {
      name: 'fix until green',
      kind: 'graph',
      nodes: [
        { id: 'code', type: 'task', task: sh('echo code') },
        { id: 'test', type: 'task', task: sh('echo "test run {{node.iteration}}"; test {{node.iteration}} -ge 2') },
        { id: 'fix', type: 'task', task: sh('echo "fixing after exit {{nodes.test.exitCode}}"') },
        { id: 'ship', type: 'task', task: sh('echo shipped') },
      ],
      edges: [
        { from: 'code', to: 'test' },
        { from: 'test', to: 'fix', condition: 'nodes.test.exitCode != 0' },
        { from: 'fix', to: 'test', loop: { maxIterations: 3 } },
        { from: 'test', to: 'ship', condition: 'nodes.test.exitCode == 0' },
      ],
    });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    expect(done.nodes.test!.iteration).toBe(2);
    expect(done.nodes.test!.history.map((h) => h.status)).toEqual(['failed', 'failed', 'succeeded']);
    expect(done.nodes.fix!.history.map((h) => h.status)).toEqual(['succeeded', 'succeeded']);
    expect(done.nodes.fix!.status).toBe('skipped');
    expect(done.nodes.ship!.status).toBe('succeeded');
    const events = (await alice.client.get<{ items: Envelope[] }>(`/api/v1/runs/${r.id}/events`)).body.items;
    expect(events.filter((e) => e.type === 'LoopedBack').map((e) => e.data.count)).toEqual([1, 2]);
    // The false branch: in the first round the edge to ship was decided not taken.
    const firstDecision = events.find((e) => e.type === 'EdgesDecided' && (e.data.edges as { edgeId: string }[]).some((x) => x.edgeId === 'test->ship'));
    expect((firstDecision!.data.edges as { edgeId: string; taken: boolean }[]).find((x) => x.edgeId === 'test->ship')!.taken).toBe(false);
  });

  it("Hierarchical: a director's three-step plan becomes nodes that run in dependency order, then a review", async () => {
    const plan = {
      steps: [
        { id: 'build', description: 'build it', command: 'echo building; sleep 0.3' },
        { id: 'test', description: 'test it', command: 'echo testing', dependsOn: ['build'] },
        { id: 'docs', description: 'write notes', command: 'echo notes' },
      ],
    };
    const r = await run(alice.client, {
      name: 'director',
      kind: 'hierarchical',
      director: sh(`printf '%s' '${JSON.stringify(plan)}' > "$AGENTYARD_OUTPUT"`),
      plan: { step: sh('{{step.command}}'), review: sh('echo reviewed {{inputs | json | shell}}') },
    });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    expect(Object.keys(done.nodes).sort()).toEqual(['director', 'director_build', 'director_docs', 'director_done', 'director_review', 'director_test']);
    expect(done.nodes.director_test!.text).toContain('testing');
    expect(Date.parse(done.nodes.director_test!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done.nodes.director_build!.finishedAt!));
    expect(done.nodes.director_review!.status).toBe('succeeded');
  });

  it('Mixture: three candidates, the aggregator picks the shortest answer', async () => {
    const r = await run(alice.client, {
      name: 'best of three',
      kind: 'mixture',
      candidates: [
        { id: 'verbose', task: sh('echo "a rather long and winding answer"') },
        { id: 'terse', task: sh('echo "42"') },
        { id: 'broken', task: sh('echo nope; exit 3') },
      ],
      aggregator: { strategy: 'shortest' },
    });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    expect(done.nodes.pick).toMatchObject({ status: 'succeeded', winner: 'terse' });
    expect(done.nodes.broken!.status).toBe('failed');
  });

  it('starts a built-in template on the shell tool in one call', async () => {
    const res = await alice.client.post<{ workflow: WorkflowView; run: RunView }>('/api/v1/workflow-templates/builtin-plan-implement-test/instantiate', {
      execute: { input: {} },
    });
    expect(res.status).toBe(201);
    const done = await runFinished(alice.client, res.body.run.id);
    expect(done.status).toBe('succeeded');
    expect(done.nodes.test!.history.map((h) => h.status)).toEqual(['failed', 'succeeded']);
  });
});

describe('Run control', () => {
  it('pause: no new node starts while running ones finish; resume goes on', async () => {
    const r = await run(alice.client, {
      name: 'pausable',
      kind: 'sequential',
      steps: [
        { id: 'a', task: sh('sleep 2; echo a') },
        { id: 'b', task: sh('echo b') },
      ],
    });
    await runWhere(alice.client, r.id, 'a running', (x) => ['scheduled', 'running'].includes(x.nodes.a!.status));
    expect((await alice.client.post<RunView>(`/api/v1/runs/${r.id}/pause`)).body.status).toBe('paused');
    const afterA = await runWhere(alice.client, r.id, 'a done', (x) => x.nodes.a!.status === 'succeeded');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const still = (await alice.client.get<RunView>(`/api/v1/runs/${r.id}`)).body;
    expect(still.status).toBe('paused');
    expect(still.nodes.b).toMatchObject({ status: 'pending', taskId: null });
    expect(afterA.nodes.a!.status).toBe('succeeded');
    expect((await alice.client.post<RunView>(`/api/v1/runs/${r.id}/resume`)).status).toBe(200);
    expect((await runFinished(alice.client, r.id)).status).toBe('succeeded');
  });

  it('cancel: the running task is cancelled on its worker', async () => {
    const r = await run(alice.client, { name: 'long', kind: 'sequential', steps: [{ id: 'slow', task: sh('sleep 60') }] });
    await runWhere(alice.client, r.id, 'slow running', (x) => x.nodes.slow!.status === 'running');
    const cancelled = await alice.client.post<RunView>(`/api/v1/runs/${r.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    const task = await eventually('the task cancelled', async () => {
      const t = await taskOf(alice.client, cancelled.body, 'slow');
      return t.status === 'cancelled' ? t : undefined;
    });
    expect(task.status).toBe('cancelled');
    expect((await alice.client.post(`/api/v1/runs/${r.id}/cancel`)).status).toBe(409);
  });

  it('retry from a failed node reruns only it and what depends on it', async () => {
    const r = await run(alice.client, {
      name: 'retry me',
      kind: 'graph',
      nodes: [
        { id: 'flaky', type: 'task', task: sh('echo "generation {{node.generation}}"; test {{node.generation}} -ge 1') },
        { id: 'steady', type: 'task', task: sh('echo steady') },
        { id: 'after', type: 'task', task: sh('echo after') },
      ],
      edges: [{ from: 'flaky', to: 'after' }],
    });
    const failed = await runFinished(alice.client, r.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/node flaky failed: exited with code 1/);
    const steadyTask = failed.nodes.steady!.taskId;
    const retried = await alice.client.post<RunView>(`/api/v1/runs/${r.id}/nodes/flaky/retry`);
    expect(retried.status).toBe(200);
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    expect(done.nodes.flaky!.generation).toBe(1);
    expect(done.nodes.after!.status).toBe('succeeded');
    expect(done.nodes.steady!.taskId).toBe(steadyTask);
    expect(done.nodes.steady!.history).toHaveLength(1);
    expect((await alice.client.post(`/api/v1/runs/${r.id}/nodes/steady/retry`)).status).toBe(409);
  });
});

describe('Approval nodes', () => {
  const gated = (timeoutSeconds: number, onTimeout: 'approve' | 'reject') => ({
    name: 'gated',
    kind: 'graph',
    nodes: [
      { id: 'build', type: 'task', task: sh('echo built') },
      { id: 'ok', type: 'approval', message: 'ship it?', timeoutSeconds, onTimeout },
      { id: 'ship', type: 'task', task: sh('echo shipped') },
    ],
    edges: [
      { from: 'build', to: 'ok' },
      { from: 'ok', to: 'ship' },
    ],
  });

  it('waits until approved', async () => {
    const r = await run(alice.client, gated(600, 'reject'));
    await runWhere(alice.client, r.id, 'waiting for approval', (x) => x.nodes.ok!.status === 'waiting');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await alice.client.get<RunView>(`/api/v1/runs/${r.id}`)).body.nodes.ship!.status).toBe('pending');
    expect((await alice.client.post(`/api/v1/runs/${r.id}/nodes/ok/approval`, { decision: 'approve', comment: 'go' })).status).toBe(200);
    const done = await runFinished(alice.client, r.id);
    expect(done.nodes.ship!.status).toBe('succeeded');
  });

  it('a rejection ends its branch', async () => {
    const r = await run(alice.client, gated(600, 'approve'));
    await runWhere(alice.client, r.id, 'waiting for approval', (x) => x.nodes.ok!.status === 'waiting');
    await alice.client.post(`/api/v1/runs/${r.id}/nodes/ok/approval`, { decision: 'reject' });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('succeeded');
    expect(done.nodes.ok!.status).toBe('rejected');
    expect(done.nodes.ship).toMatchObject({ status: 'skipped', taskId: null });
  });

  it('its timeout applies the default', async () => {
    const r = await run(alice.client, gated(2, 'approve'));
    const done = await runFinished(alice.client, r.id, 30_000);
    expect(done.nodes.ok).toMatchObject({ status: 'succeeded', output: { approved: true, timedOut: true } });
    expect(done.nodes.ship!.status).toBe('succeeded');
  });
});

describe('Cron schedules', () => {
  const runsOf = async (workflowId: string) => (await alice.client.get<{ items: RunView[] }>(`/api/v1/workflows/${workflowId}/runs?limit=50`)).body.items;
  const fires = async (workflowId: string) =>
    (await alice.client.get<{ items: Envelope[] }>(`/api/v1/workflows/${workflowId}/events`)).body.items
      .filter((e) => e.type === 'ScheduleFired')
      .map((e) => e.data);

  const schedule = async (workflowId: string, body: Record<string, unknown>): Promise<string> => {
    const res = await alice.client.post<WorkflowView>(`/api/v1/workflows/${workflowId}/schedules`, body);
    expect(res.status).toBe(201);
    return res.body.schedules.at(-1)!.id;
  };
  const unschedule = (workflowId: string, scheduleId: string) => alice.client.call('DELETE', `/api/v1/workflows/${workflowId}/schedules/${scheduleId}`);

  it('fires on time, with the schedule as the trigger', async () => {
    const wf = await createWorkflow(alice.client, { name: 'every 3 s', kind: 'sequential', steps: [{ task: sh('echo tick') }] });
    const added = await alice.client.post<WorkflowView>(`/api/v1/workflows/${wf.id}/schedules`, { cron: '*/3 * * * * *' });
    expect(added.status).toBe(201);
    const added0 = added.body.schedules[0]!;
    expect(added0.nextFireAt).not.toBeNull();
    const first = await eventually('the first scheduled run', async () => (await runsOf(wf.id))[0], 15_000);
    expect(first.trigger).toMatchObject({ kind: 'schedule', scheduleId: added0.id });
    const fireAt = Date.parse((first.trigger as { fireAt: string }).fireAt);
    expect(Date.parse(first.startedAt) - fireAt).toBeGreaterThanOrEqual(0);
    expect(Date.parse(first.startedAt) - fireAt).toBeLessThan(2_000);
    await unschedule(wf.id, added0.id);
  });

  it('overlap skip: a fire while its run is active is skipped; queue: one run waits behind it', async () => {
    const skip = await createWorkflow(alice.client, { name: 'slow skip', kind: 'sequential', steps: [{ task: sh('sleep 5') }] });
    const queue = await createWorkflow(alice.client, { name: 'slow queue', kind: 'sequential', steps: [{ task: sh('sleep 5') }] });
    const skipSchedule = await schedule(skip.id, { cron: '*/2 * * * * *', overlap: 'skip' });
    const queueSchedule = await schedule(queue.id, { cron: '*/2 * * * * *', overlap: 'queue' });
    await eventually('a skipped fire', async () => ((await fires(skip.id)).some((f) => f.outcome === 'skipped-overlap') ? true : undefined), 20_000);
    await unschedule(skip.id, skipSchedule);
    const queued = await eventually('a queued fire', async () => (await fires(queue.id)).find((f) => f.outcome === 'queued'), 20_000);
    const queuedRun = await eventually('the queued run', async () => (await runsOf(queue.id)).find((r) => r.id === queued.runId), 20_000);
    await unschedule(queue.id, queueSchedule);
    await eventually(
      'every run of both finished',
      async () => ([...(await runsOf(skip.id)), ...(await runsOf(queue.id))].every((r) => r.finishedAt !== null) ? true : undefined),
      30_000,
    );
    // Never two runs of the skip schedule at once: each started after the previous finished.
    const skipRuns = (await runsOf(skip.id)).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    for (let i = 1; i < skipRuns.length; i++) expect(Date.parse(skipRuns[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(skipRuns[i - 1]!.finishedAt!));
    // The queued run started once the run it waited for had finished.
    const queueRuns = (await runsOf(queue.id)).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    const i = queueRuns.findIndex((r) => r.id === queuedRun.id);
    expect(i).toBeGreaterThan(0);
    expect(Date.parse(queueRuns[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(queueRuns[i - 1]!.finishedAt!));
  });

  it('missed fires while the service was down: skipped, or run once for all of them', async () => {
    const skip = await createWorkflow(alice.client, { name: 'missed skip', kind: 'sequential', steps: [{ task: sh('echo x') }] });
    const once = await createWorkflow(alice.client, { name: 'missed once', kind: 'sequential', steps: [{ task: sh('echo x') }] });
    const skipSchedule = await schedule(skip.id, { cron: '*/20 * * * * *', missed: 'skip', overlap: 'allow' });
    const onceSchedule = await schedule(once.id, { cron: '*/20 * * * * *', missed: 'run-once', overlap: 'allow' });
    const fired = await eventually(
      'both fired once',
      async () => {
        const [s, o] = [(await fires(skip.id))[0], (await fires(once.id))[0]];
        return s && o ? Math.max(Date.parse((s as { fireAt: string }).fireAt), Date.parse((o as { fireAt: string }).fireAt)) : undefined;
      },
      45_000,
    );
    // Down across the next fire time (fired + 20 s) and 2.5 s past it, longer than the 1.5 s
    // on-time window; back well before the one after (fired + 40 s), which would be on time and
    // cover the missed one (a restart that lands within 1.5 s of a fire starts it as on time).
    // Every 20 s, not 10: a loaded run's restart took longer than the 7.5 s that left.
    await platform.service('workflows').stop();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, fired + 22_500 - Date.now())));
    await platform.restart('workflows');
    await eventually(
      'the missed fires decided',
      async () => {
        const s = (await fires(skip.id)).find((f) => f.outcome === 'skipped-missed');
        const o = (await fires(once.id)).find((f) => f.outcome === 'caught-up');
        return s && o ? true : undefined;
      },
      30_000,
    );
    await unschedule(skip.id, skipSchedule);
    await unschedule(once.id, onceSchedule);
    const caughtUp = (await fires(once.id)).filter((f) => f.outcome === 'caught-up');
    expect(caughtUp).toHaveLength(1);
    expect((await runsOf(once.id)).some((r) => r.id === caughtUp[0]!.runId)).toBe(true);
  }, 150_000);
});

describe('Ownership', () => {
  it('a second user gets 404 on every workflow and run endpoint, and no WebSocket message of them', async () => {
    const spy = await LiveSocket.open(platform.url, mallory.token);
    const wf = await createWorkflow(alice.client, { name: 'private', kind: 'sequential', steps: [{ id: 's', task: sh('echo secret') }] });
    const r = await execute(alice.client, wf.id);
    await runFinished(alice.client, r.id);
    const m = mallory.client;
    const checks: [string, string, unknown?][] = [
      ['GET', `/api/v1/workflows/${wf.id}`],
      ['PUT', `/api/v1/workflows/${wf.id}`, { name: 'x', kind: 'sequential', steps: [{ task: sh('true') }] }],
      ['DELETE', `/api/v1/workflows/${wf.id}`],
      ['GET', `/api/v1/workflows/${wf.id}/versions/1`],
      ['GET', `/api/v1/workflows/${wf.id}/events`],
      ['POST', `/api/v1/workflows/${wf.id}/execute`, {}],
      ['POST', `/api/v1/workflows/${wf.id}/pause`],
      ['POST', `/api/v1/workflows/${wf.id}/resume`],
      ['GET', `/api/v1/workflows/${wf.id}/runs`],
      ['GET', `/api/v1/workflows/${wf.id}/schedules`],
      ['POST', `/api/v1/workflows/${wf.id}/schedules`, { cron: '* * * * *' }],
      ['GET', `/api/v1/runs/${r.id}`],
      ['GET', `/api/v1/runs/${r.id}/events`],
      ['POST', `/api/v1/runs/${r.id}/pause`],
      ['POST', `/api/v1/runs/${r.id}/resume`],
      ['POST', `/api/v1/runs/${r.id}/cancel`],
      ['POST', `/api/v1/runs/${r.id}/nodes/s/retry`],
      ['POST', `/api/v1/runs/${r.id}/nodes/s/approval`, { decision: 'approve' }],
      ['POST', `/api/v1/runs/${r.id}/nodes/s/winner`, { winner: 's' }],
      ['POST', '/api/v1/workflow-templates', { workflowId: wf.id }],
    ];
    for (const [method, path, body] of checks) {
      const res = await m.call(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    expect((await m.get<{ items: unknown[] }>('/api/v1/workflows')).body.items).toEqual([]);
    expect((await m.get<{ items: unknown[] }>('/api/v1/runs')).body.items).toEqual([]);
    const task = await taskOf(alice.client, await runFinished(alice.client, r.id), 's');
    expect((await m.get(`/api/v1/tasks/${task.id}`)).status).toBe(404);
    // Alice's own socket would have seen them; Mallory's saw none.
    expect(
      spy.events.filter((e) => e.streamId === `run-${r.id}` || e.streamId === `workflow-${wf.id}` || (e.data as { taskId?: string }).taskId === task.id),
    ).toEqual([]);
    spy.close();
  });

  it("the owner's socket receives the run's events as they happen", async () => {
    const live = await LiveSocket.open(platform.url, alice.token);
    const r = await run(alice.client, { name: 'watched', kind: 'sequential', steps: [{ id: 'a', task: sh('echo a') }] });
    await runFinished(alice.client, r.id);
    await eventually('RunSucceeded on the socket', async () =>
      live.events.some((e) => e.streamId === `run-${r.id}` && e.type === 'RunSucceeded') ? true : undefined,
    );
    expect(live.events.filter((e) => e.streamId === `run-${r.id}`).map((e) => e.type)).toEqual(
      expect.arrayContaining(['RunStarted', 'NodeScheduled', 'NodeSucceeded', 'RunSucceeded']),
    );
    live.close();
  });
});

describe('Bad input gets a clear 4xx and writes nothing', () => {
  const node = (id: string, command = 'true') => ({ id, type: 'task', task: sh(command) });
  const refused = async (definition: Record<string, unknown>, status: number, message: RegExp) => {
    const before = (await alice.client.get<{ items: unknown[] }>('/api/v1/workflows?limit=200')).body.items.length;
    const res = await alice.client.post<{ message: string; details?: { field: string; message: string }[] }>('/api/v1/workflows', definition);
    expect({ status: res.status, message: res.body.message }).toEqual({ status, message: expect.stringMatching(message) });
    expect((await alice.client.get<{ items: unknown[] }>('/api/v1/workflows?limit=200')).body.items.length).toBe(before);
    return res.body;
  };

  it('a cycle that is not a bounded loop-back edge, naming the edge', async () => {
    await refused(
      {
        name: 'c',
        kind: 'graph',
        nodes: [node('a'), node('b')],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'a' },
        ],
      },
      400,
      /edge a→b closes a cycle/,
    );
  });

  it('an unknown node in an edge or a condition, an expression syntax error with its position', async () => {
    await refused({ name: 'u', kind: 'graph', nodes: [node('a')], edges: [{ from: 'a', to: 'ghost' }] }, 400, /names unknown node ghost/);
    await refused(
      { name: 'u', kind: 'graph', nodes: [node('a'), node('b')], edges: [{ from: 'a', to: 'b', condition: 'nodes.ghost.exitCode == 0' }] },
      400,
      /there is no node ghost/,
    );
    const body = await refused(
      { name: 's', kind: 'graph', nodes: [node('a'), node('b')], edges: [{ from: 'a', to: 'b', condition: 'nodes.a.exitCode == ' }] },
      400,
      /\(at character 20\)/,
    );
    expect(body.details?.[0]?.field).toBe('edges[0].condition');
    await refused(
      { name: 's', kind: 'graph', nodes: [node('a'), node('b')], edges: [{ from: 'a', to: 'b', condition: 'nodes.a.exitCode === 0' }] },
      400,
      /operator === is not supported \(write ==\)/,
    );
  });

  it('an unknown tool, and a definition above the size limits', async () => {
    const unknownTool = await refused(
      { name: 't', kind: 'graph', nodes: [{ id: 'a', type: 'task', task: { tool: 'hammer', input: {} } }] },
      400,
      /tool must be one of/,
    );
    expect(unknownTool.details?.[0]?.field).toBe('nodes.0.task.tool');
    await refused({ name: 'big', kind: 'graph', nodes: Array.from({ length: 2_001 }, (_, i) => node(`n${i}`)) }, 400, /nodes/);
    const layout = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`n${i}`, { x: i, y: i }]));
    await refused(
      { name: 'heavy', kind: 'sequential', steps: Array.from({ length: 16 }, () => ({ task: sh('x'.repeat(60_000)) })) },
      400,
      /KiB, more than the 900 KiB allowed/,
    );
    await refused({ name: 'many positions', kind: 'sequential', steps: [{ task: sh('true') }], layout: layout(2_001) }, 400, /at most 2000 positions/);
    const huge = await alice.client.post('/api/v1/workflows', {
      name: 'huge',
      kind: 'sequential',
      steps: Array.from({ length: 20 }, () => ({ task: sh('x'.repeat(60_000)) })),
    });
    expect(huge.status).toBe(413);
  });

  it("a director's plan that does not match the schema fails that node with the validation message", async () => {
    const r = await run(alice.client, {
      name: 'bad plan',
      kind: 'hierarchical',
      director: sh(`printf '{"steps":[{"id":"no spaces allowed","description":"x"}]}' > "$AGENTYARD_OUTPUT"`),
    });
    const done = await runFinished(alice.client, r.id);
    expect(done.status).toBe('failed');
    expect(done.nodes.director!.reason).toMatch(/the plan does not match the schema: steps\.0\.id/);
  });

  it('a crafted list cursor and a bad schedule are 400s naming the field', async () => {
    const cursor = await alice.client.get<{ message: string }>(
      `/api/v1/runs?cursor=${Buffer.from(JSON.stringify({ at: '+275760-09-13T00:00:00.000Z', id: 'x' })).toString('base64url')}`,
    );
    expect(cursor.status).toBe(400);
    expect(cursor.body.message).toMatch(/cursor/);
    const wf = await createWorkflow(alice.client, { name: 'sched', kind: 'sequential', steps: [{ task: sh('true') }] });
    const bad = await alice.client.post<{ message: string }>(`/api/v1/workflows/${wf.id}/schedules`, { cron: '61 * * * *' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/cron "61 \* \* \* \*"/);
  });
});

describe('Read models', () => {
  it('dropped and replayed from the event store, equal the live ones', async () => {
    const db = new Client({ connectionString: platform.databases.workflows });
    await db.connect();
    const snapshot = async () => {
      const rows: Record<string, unknown[]> = {};
      for (const table of ['workflow_view', 'schedule_view', 'run_view']) {
        rows[table] = (await db.query(`select * from ${table} order by 1`)).rows.map((r: Record<string, unknown>) => {
          const { next_fire_at: _next, ...rest } = r;
          return rest;
        });
      }
      return rows;
    };
    // Quiet: no schedule left running (the earlier tests paused theirs), every run finished.
    await eventually(
      'every run finished',
      async () => ((await db.query(`select count(*)::int as n from run_view where status in ('running','paused')`)).rows[0].n === 0 ? true : undefined),
      60_000,
    );
    const live = await snapshot();
    expect(live.run_view!.length).toBeGreaterThan(10);
    const out = execFileSync(process.execPath, [join(repoRoot, 'services/workflows/dist/replay.js')], {
      env: { ...process.env, DATABASE_URL: platform.databases.workflows },
      encoding: 'utf8',
    });
    expect(out).toMatch(/rebuilt from the event store/);
    expect(await snapshot()).toEqual(live);
    await db.end();
  });
});
