/*
 * The WebSocket and the workers' NATS users, on the real platform with real worker agents.
 * A scenario drives every kind of event the gateway forwards — the kinds come from the
 * contracts' registries of the streams the gateway follows (liveEventTypes), so a new kind fails here until the
 * scenario produces it. Per kind: the platform produced it, user A's socket received it, and
 * neither a socket of user B's session nor one of B's API token received anything of A's. No
 * frame to anyone names a worker its viewer may not see. Then: a worker cannot put output (nor
 * the agent events that ride in an output chunk: the live transcript) into a task it does not run, a task cannot read its agent's credential, and a worker's NATS user is
 * refused every subject family but its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { liveAgentEventSchema, liveEventTypes, type Envelope, type RunView, type TaskView, type WorkflowView } from '@agentyard/contracts';
import {
  foreignSubjects,
  ownSubjects,
  probeNatsPermissions,
  startAnthropicStandIn,
  type AnthropicStandIn,
  type WorkerAgentProcess,
} from '@agentyard/local-infra';
import { LiveSocket } from '../support/live-socket';
import { registerWorker } from './fixtures';
import { changePassword } from './principals';
import { bearer, eventually, type SecurityPlatform, type User } from './security-platform';

/** Every kind the gateway forwards (contracts' liveContexts: the gateway follows exactly these streams). */
const kinds = liveEventTypes();
/** Every kind of agent event the live transcript carries (in output chunks, fenced like them). */
const agentEventKinds = liveAgentEventSchema.options.map((o) => o.shape.kind.value);
/** A fake claude CLI (in the repository: a task's sandbox has a private /tmp) whose run yields every agent event kind. */
const fakeBin = join(__dirname, 'fake-agent-cli');
/** Kinds the user they are about can never receive, and why (the other checks still hold for them). */
const unseeable: Record<string, string> = { UserRegistered: 'it is about an account that cannot have had a socket before it existed' };

/**
 * The live-events checks, on a running platform whose workers are declared offline within a few
 * seconds (OFFLINE_AFTER_MS) and whose task timeouts are scanned often (TIMEOUT_SCAN_INTERVAL_MS).
 */
export function describeLiveEvents(platform: () => SecurityPlatform): void {
  let sp: SecurityPlatform;
  let alice: User;
  let bob: User;
  let carol: User;
  const sockets: Record<'alice' | 'bobSession' | 'bobScript', LiveSocket> = {} as never;
  /** What the platform published on the context streams, seen as the services see it. */
  const produced: Envelope[] = [];
  let observer: NatsConnection;
  const agents: Record<string, { process: WorkerAgentProcess; id: string }> = {};
  /** Worker ids by the user who may see them. */
  const visible: Record<'alice' | 'bob', Set<string>> = { alice: new Set(), bob: new Set() };
  /** Everything that identifies user A or A's objects. */
  const aliceSecrets = new Set<string>();
  const aliceTasks = new Set<string>();
  /** Alice's agent CLI task, whose live transcript the checks look for. */
  let transcriptTask = '';

  const call = (user: User, method: string, path: string, body?: unknown) => sp.send({ method, path, headers: bearer(user.token), body });

  async function createTask(user: User, body: Record<string, unknown>): Promise<TaskView> {
    const res = await call(user, 'POST', '/api/v1/tasks', body);
    if (res.status !== 201) throw new Error(`create task: ${res.status} ${res.text}`);
    const task = res.json as TaskView;
    if (user === alice) aliceSecrets.add(task.id);
    if (user === alice) aliceTasks.add(task.id);
    return task;
  }

  const taskIn = (user: User, id: string, statuses: string[], timeoutMs = 60_000) =>
    eventually(
      `task ${id} ${statuses.join('/')}`,
      async () => {
        const task = (await call(user, 'GET', `/api/v1/tasks/${id}`)).json as TaskView;
        return statuses.includes(task.status) ? task : undefined;
      },
      timeoutMs,
    );

  let anthropic: AnthropicStandIn | undefined;
  const anthropicStandIn = async (): Promise<AnthropicStandIn> =>
    (anthropic ??= await startAnthropicStandIn(() => ({ content: [{ type: 'text', text: 'unused' }], usage: { input_tokens: 0, output_tokens: 0 } })));

  async function startAgent(user: User, name: string, options: { stateDir?: string; env?: Record<string, string> } = {}): Promise<void> {
    let token: string | undefined;
    if (!options.stateDir) token = ((await call(user, 'POST', '/api/v1/workers/registration-tokens', { uses: 1 })).json as { token: string }).token;
    const process = sp.platform.startWorker({ token, name, slots: 2, ...options });
    const id = await eventually(`${name} online`, async () => {
      const res = await call(user, 'GET', '/api/v1/workers');
      return (res.json as { items: Array<{ id: string; name: string; status: string }> }).items.find((w) => w.name === name && w.status === 'online')?.id;
    });
    agents[name] = { process, id };
    visible[user === alice ? 'alice' : 'bob'].add(id);
    if (user === alice) aliceSecrets.add(id);
  }

  const credentialOf = (agent: WorkerAgentProcess): string =>
    (JSON.parse(readFileSync(join(agent.stateDir, 'worker.json'), 'utf8')) as { registrations: Array<{ credential: string }> }).registrations[0]!.credential;

  async function natsAs(agentName: string): Promise<NatsConnection> {
    const { process, id } = agents[agentName]!;
    const res = await sp.send({
      method: 'POST',
      path: `/api/v1/workers/${id}/nats-credentials`,
      headers: { authorization: `Worker ${credentialOf(process)}` },
    });
    const issued = res.json as { creds: string; inboxPrefix: string };
    return connect({
      servers: sp.platform.nats.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(issued.creds)),
      inboxPrefix: issued.inboxPrefix,
    });
  }

  /** Drives activity that produces every kind of event, most of it user A's. */
  async function scenario(): Promise<void> {
    // A task that runs: created, queued, decided, assigned, started, succeeded, with live output.
    const ran = await createTask(alice, { description: 'runs', tool: 'shell', input: { command: 'echo live-output-marker' } });
    await taskIn(alice, ran.id, ['succeeded']);
    const failed = await createTask(alice, { description: 'fails', tool: 'shell', input: { command: 'exit 3' } });
    await taskIn(alice, failed.id, ['failed']);
    // A task that goes silent: its watchdog flags it (alice-1 counts 2 s as its stallSeconds) and fails it.
    const silent = await createTask(alice, {
      description: 'goes silent',
      tool: 'shell',
      input: { command: 'sleep 30', watchdog: { stallSeconds: 10, action: 'fail' } },
      maxAttempts: 1,
    });
    await taskIn(alice, silent.id, ['failed']);
    // No worker has ollama: deferred, updated, cancelled; another one times out in the queue.
    const waiting = await createTask(alice, { description: 'waits', tool: 'ollama', input: { prompt: 'x' } });
    await eventually('a deferral', async () => ((await call(alice, 'GET', `/api/v1/tasks/${waiting.id}/allocation`)).status === 200 ? true : undefined));
    expect((await call(alice, 'PUT', `/api/v1/tasks/${waiting.id}`, { priority: 70 })).status).toBe(200);
    expect((await call(alice, 'POST', `/api/v1/tasks/${waiting.id}/cancel`)).status).toBe(200);
    const late = await createTask(alice, { description: 'times out', tool: 'ollama', input: { prompt: 'x' }, queueTimeoutSeconds: 1 });
    await taskIn(alice, late.id, ['timed_out']);
    // A stale result for the finished task is fenced off and recorded; then the task is deleted.
    await jetstream(observer).publish(
      `work.report.${agents['alice-1']!.id}`,
      JSON.stringify({
        kind: 'finished',
        taskId: ran.id,
        attempt: 5,
        workerId: agents['alice-1']!.id,
        outcome: 'succeeded',
        result: { exitCode: 0, outputTail: '', durationMs: 1 },
      }),
    );
    await eventually('the rejected report', async () =>
      ((await call(alice, 'GET', `/api/v1/tasks/${ran.id}/events`)).json as { items: Envelope[] }).items.some((e) => e.type === 'TaskReportRejected')
        ? true
        : undefined,
    );
    expect((await call(alice, 'DELETE', `/api/v1/tasks/${ran.id}`)).status).toBe(204);

    // A worker lost mid-task (requeue, offline), back with a new tool (online, tools changed).
    await startAgent(alice, 'alice-2');
    const pinned = await createTask(alice, {
      description: 'pinned',
      tool: 'shell',
      input: { command: 'sleep 30' },
      requirements: { workerId: agents['alice-2']!.id },
    });
    await taskIn(alice, pinned.id, ['running']);
    await agents['alice-2']!.process.kill();
    await eventually('the requeue', async () =>
      ((await call(alice, 'GET', `/api/v1/tasks/${pinned.id}/events`)).json as { items: Envelope[] }).items.some((e) => e.type === 'TaskRequeued')
        ? true
        : undefined,
    );
    await startAgent(alice, 'alice-2', {
      stateDir: agents['alice-2']!.process.stateDir,
      // The stand-in only answers the agent's credentials check (the fake claude never calls it): the real API would refuse the key.
      env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, ANTHROPIC_API_KEY: 'sk-not-used', ANTHROPIC_BASE_URL: (await anthropicStandIn()).url },
    });
    await call(alice, 'POST', `/api/v1/tasks/${pinned.id}/cancel`);
    // An agent CLI's task: its transcript goes live with its output.
    const agent = await createTask(alice, {
      description: 'agent transcript',
      tool: 'claude-code',
      input: { prompt: 'write a file' },
      requirements: { workerId: agents['alice-2']!.id },
    });
    transcriptTask = agent.id;
    await taskIn(alice, agent.id, ['succeeded']);

    // Drain, resume, share with carol; a registered worker whose credential is revoked.
    const a1 = agents['alice-1']!.id;
    for (const action of ['drain', 'resume']) expect((await call(alice, 'POST', `/api/v1/workers/${a1}/${action}`)).status).toBe(200);
    expect((await call(alice, 'POST', `/api/v1/workers/${a1}/roles`, { userId: carol.id, role: 'user' })).status).toBe(200);
    const spare = await registerWorker(sp, alice, 'spare');
    visible.alice.add(spare.workerId);
    aliceSecrets.add(spare.workerId);
    expect((await call(alice, 'POST', `/api/v1/workers/${spare.workerId}/revoke-credential`)).status).toBe(200);

    await workflowScenario();
    await secretScenario();

    // Sessions: log in, refresh, reuse an old refresh token, log out another session, change the password.
    const second = await sp.login(alice);
    const refreshed = await sp.send({ method: 'POST', path: '/api/v1/auth/refresh', body: { refreshToken: second.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect((await sp.send({ method: 'POST', path: '/api/v1/auth/refresh', body: { refreshToken: second.refreshToken } })).status).toBe(401);
    const third = await sp.login(alice);
    expect((await sp.send({ method: 'POST', path: '/api/v1/auth/logout', headers: bearer(third.accessToken) })).status).toBe(204);
    await changePassword(sp, alice); // from the socket's own session, which stays signed in

    // Bob's own task on his own worker: his sockets work, so what they lack was filtered.
    const own = await createTask(bob, { description: 'bob runs', tool: 'shell', input: { command: 'echo bob-output' } });
    await taskIn(bob, own.id, ['succeeded']);
  }

  /** A workflow of alice's (its id counts as hers); returns it. */
  async function workflow(definition: Record<string, unknown>): Promise<WorkflowView> {
    const res = await call(alice, 'POST', '/api/v1/workflows', definition);
    if (res.status !== 201) throw new Error(`create workflow: ${res.status} ${res.text}`);
    const wf = res.json as WorkflowView;
    aliceSecrets.add(wf.id);
    return wf;
  }

  async function execute(workflowId: string): Promise<RunView> {
    const res = await call(alice, 'POST', `/api/v1/workflows/${workflowId}/execute`, {});
    if (res.status !== 201) throw new Error(`execute: ${res.status} ${res.text}`);
    const run = res.json as RunView;
    aliceSecrets.add(run.id);
    return run;
  }

  const runWhere = (runId: string, what: string, ok: (r: RunView) => boolean) =>
    eventually(`run ${runId}: ${what}`, async () => {
      const r = (await call(alice, 'GET', `/api/v1/runs/${runId}`)).json as RunView;
      return ok(r) ? r : undefined;
    });
  const runDone = (runId: string) => runWhere(runId, 'finished', (r) => ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.status));
  const sh = (command: string) => ({ tool: 'shell', input: { command } });

  /** Every workflow and run event kind, from alice's workflows on her worker. */
  async function workflowScenario(): Promise<void> {
    // Conditions, a loop back, a skipped branch, an approval: edges decided, nodes failed and succeeded.
    const graph = await workflow({
      name: 'live graph',
      kind: 'graph',
      nodes: [
        { id: 'test', type: 'task', task: sh('test {{node.iteration}} -ge 1') },
        { id: 'fix', type: 'task', task: sh('echo fix') },
        { id: 'ok', type: 'approval', timeoutSeconds: 600 },
      ],
      edges: [
        { from: 'test', to: 'fix', condition: 'nodes.test.exitCode != 0' },
        { from: 'fix', to: 'test', loop: { maxIterations: 2 } },
        { from: 'test', to: 'ok', condition: 'nodes.test.exitCode == 0' },
      ],
    });
    const g = await execute(graph.id);
    await runWhere(g.id, 'waiting for approval', (r) => r.nodes.ok?.status === 'waiting');
    expect((await call(alice, 'POST', `/api/v1/runs/${g.id}/nodes/ok/approval`, { decision: 'approve' })).status).toBe(200);
    await runDone(g.id);
    // A new version of it; a failed run retried from its node.
    expect(
      (
        await call(alice, 'PUT', `/api/v1/workflows/${graph.id}`, {
          name: 'live graph v2',
          kind: 'sequential',
          steps: [{ id: 'flaky', task: sh('test {{node.generation}} -ge 1') }],
        })
      ).status,
    ).toBe(200);
    const flaky = await execute(graph.id);
    await runDone(flaky.id);
    expect((await call(alice, 'POST', `/api/v1/runs/${flaky.id}/nodes/flaky/retry`)).status).toBe(200);
    await runDone(flaky.id);
    // A plan expanded; a choice by hand; a join on any that cancels the copy still running.
    const director = await workflow({
      name: 'live plan',
      kind: 'hierarchical',
      director: sh(`printf '{"steps":[{"id":"one","description":"one","tool":"shell","input":{"command":"echo one"}}]}' > "$AGENTYARD_OUTPUT"`),
    });
    await runDone((await execute(director.id)).id);
    const mixture = await workflow({
      name: 'live pick',
      kind: 'mixture',
      candidates: [
        { id: 'x', task: sh('echo x') },
        { id: 'y', task: sh('echo y') },
      ],
      aggregator: { strategy: 'manual' },
    });
    const m = await execute(mixture.id);
    await runWhere(m.id, 'waiting for a choice', (r) => r.nodes.pick?.status === 'waiting');
    expect((await call(alice, 'POST', `/api/v1/runs/${m.id}/nodes/pick/winner`, { winner: 'x' })).status).toBe(200);
    await runDone(m.id);
    const any = await workflow({
      name: 'live any',
      kind: 'concurrent',
      count: 2,
      join: 'any',
      distinctWorkers: false,
      task: sh('sleep {{node.id == "copy1" ? 0 : 30}}'),
    });
    await runDone((await execute(any.id)).id);
    // Paused and resumed, cancelled, out of time.
    const slow = await workflow({
      name: 'live slow',
      kind: 'sequential',
      steps: [
        { id: 'a', task: sh('sleep 1') },
        { id: 'b', task: sh('sleep 30') },
      ],
    });
    const p = await execute(slow.id);
    expect((await call(alice, 'POST', `/api/v1/runs/${p.id}/pause`)).status).toBe(200);
    expect((await call(alice, 'POST', `/api/v1/runs/${p.id}/resume`)).status).toBe(200);
    await runWhere(p.id, 'b running', (r) => r.nodes.b?.status === 'running');
    expect((await call(alice, 'POST', `/api/v1/runs/${p.id}/cancel`)).status).toBe(200);
    const limited = await workflow({ name: 'live limit', kind: 'sequential', settings: { timeoutSeconds: 1 }, steps: [{ task: sh('sleep 30') }] });
    await runDone((await execute(limited.id)).id);
    // A schedule whose second fire queues behind the first run; the workflow paused, resumed, deleted.
    const scheduled = await workflow({ name: 'live cron', kind: 'sequential', steps: [{ task: sh('sleep 3') }] });
    const added = (await call(alice, 'POST', `/api/v1/workflows/${scheduled.id}/schedules`, { cron: '*/2 * * * * *', overlap: 'queue' })).json as WorkflowView;
    await eventually('a queued fire started', async () =>
      ((await call(alice, 'GET', `/api/v1/workflows/${scheduled.id}/events`)).json as { items: Envelope[] }).items.some((e) => e.type === 'QueuedFireStarted')
        ? true
        : undefined,
    );
    expect((await call(alice, 'DELETE', `/api/v1/workflows/${scheduled.id}/schedules/${added.schedules[0]!.id}`)).status).toBe(200);
    for (const action of ['pause', 'resume']) expect((await call(alice, 'POST', `/api/v1/workflows/${scheduled.id}/${action}`)).status).toBe(200);
    await eventually('its runs ended', async () =>
      ((await call(alice, 'GET', `/api/v1/workflows/${scheduled.id}/runs`)).json as { items: RunView[] }).items.every((r) => r.finishedAt !== null)
        ? true
        : undefined,
    );
    expect((await call(alice, 'DELETE', `/api/v1/workflows/${scheduled.id}`)).status).toBe(204);
  }

  /** Every secret event kind: created, updated, resolved for a task of alice's, deleted. */
  async function secretScenario(): Promise<void> {
    expect((await call(alice, 'POST', '/api/v1/secrets', { name: 'live_secret', value: 'first value' })).status).toBe(201);
    expect((await call(alice, 'PUT', '/api/v1/secrets/live_secret', { value: 'second value' })).status).toBe(200);
    const uses = await createTask(alice, {
      description: 'uses a secret',
      tool: 'shell',
      input: { command: 'test -n "$S"', env: { S: { secret: 'live_secret' } } },
    });
    await taskIn(alice, uses.id, ['succeeded']);
    expect((await call(alice, 'DELETE', '/api/v1/secrets/live_secret')).status).toBe(204);
  }

  beforeAll(async () => {
    sp = platform();
    observer = await connect({ servers: sp.platform.nats.url, authenticator: credsAuthenticator(readFileSync(sp.platform.natsCredsFile!)) });
    observer.subscribe('*.events.>', { callback: (_e, m) => void produced.push(m.json<Envelope>()) });
    alice = await sp.signUp('alice');
    bob = await sp.signUp('bob');
    carol = await sp.signUp('carol');
    for (const secret of [alice.id, alice.username, alice.email]) aliceSecrets.add(secret);
    const script = (await call(bob, 'POST', '/api/v1/auth/tokens', { name: 'bob script', scopes: ['tasks:read', 'workers:read'] })).json as { token: string };
    sockets.alice = await LiveSocket.open(sp.url, alice.token);
    sockets.bobSession = await LiveSocket.open(sp.url, bob.token);
    sockets.bobScript = await LiveSocket.open(sp.url, script.token);
    await startAgent(alice, 'alice-1', { env: { AGENTYARD_TEST_STALL_SECONDS: '2' } });
    await startAgent(bob, 'bob-1');
    await scenario();
    const expected = kinds.filter((k) => !unseeable[k] && produced.some((e) => e.type === k));
    await eventually(
      'alice to receive every kind produced',
      async () => (expected.every((k) => sockets.alice.events.some((e) => e.type === k)) ? true : undefined),
      15_000,
    ).catch(
      () => undefined, // the per-kind tests below say which kind is missing
    );
  }, 300_000);

  afterAll(async () => {
    for (const s of Object.values(sockets)) s?.close();
    await observer?.close();
    await anthropic?.close();
  });

  const mentionsAlice = (frame: string): string[] => [...aliceSecrets].filter((s) => frame.includes(s));

  describe('Each kind of event the gateway forwards', () => {
    it.each(kinds.map((k) => [k]))('%s: produced by the scenario, received by its owner, and by no other user', (kind) => {
      // Produced: otherwise add activity that produces it to scenario() above.
      expect({ kind, produced: produced.some((e) => e.type === kind) }).toEqual({ kind, produced: true });
      if (!unseeable[kind]) expect({ kind, receivedByOwner: sockets.alice.events.some((e) => e.type === kind) }).toEqual({ kind, receivedByOwner: true });
      for (const spy of ['bobSession', 'bobScript'] as const) {
        const leaked = sockets[spy].events.filter((e) => e.type === kind).filter((e) => mentionsAlice(JSON.stringify(e)).length > 0);
        expect({ spy, leaked }).toEqual({ spy, leaked: [] });
      }
    });

    it.each(agentEventKinds.map((k) => [k]))('agent event %s: in the live transcript of its owner, and of no other user', async (kind) => {
      const seen = () => sockets.alice.output.filter((c) => c.taskId === transcriptTask).flatMap((c) => c.events ?? []);
      await eventually(`${kind} in the transcript`, async () => (seen().some((e) => e.kind === kind) ? true : undefined), 10_000).catch(() => undefined);
      expect({ kind, receivedByOwner: seen().some((e) => e.kind === kind) }).toEqual({ kind, receivedByOwner: true });
      for (const spy of ['bobSession', 'bobScript'] as const) {
        expect({ spy, leaked: sockets[spy].frames.filter((f) => f.includes(transcriptTask) || f.includes('transcript-marker')) }).toEqual({ spy, leaked: [] });
      }
    });

    it("reaches the other user's sockets for their own activity (the filter is not simply closed)", async () => {
      // The read model said succeeded before the event's frame reached the socket; under a loaded run it may come a moment later.
      for (const spy of ['bobSession', 'bobScript'] as const) {
        await eventually(`TaskSucceeded on ${spy}`, async () => (sockets[spy].events.some((e) => e.type === 'TaskSucceeded') ? true : undefined), 15_000).catch(
          () => undefined,
        );
      }
      expect(sockets.bobSession.events.some((e) => e.type === 'TaskSucceeded')).toBe(true);
      expect(sockets.bobScript.events.some((e) => e.type === 'TaskSucceeded')).toBe(true);
      expect(sockets.alice.output.some((c) => c.data.includes('live-output-marker'))).toBe(true);
    });
  });

  describe('No frame', () => {
    it.each([
      ['alice', 'alice'],
      ['bobSession', 'bob'],
      ['bobScript', 'bob'],
    ] as const)("to %s's socket names a worker its user may not see", (socket, user) => {
      const everyWorker = [...visible.alice, ...visible.bob];
      const named = sockets[socket].frames.flatMap((frame) =>
        everyWorker.filter((id) => frame.includes(id) && !visible[user].has(id)).map((id) => ({ id, frame: frame.slice(0, 200) })),
      );
      expect(named).toEqual([]);
    });

    it("to another user's socket carries anything of user A's (output included)", () => {
      for (const spy of ['bobSession', 'bobScript'] as const) {
        expect(sockets[spy].frames.filter((f) => mentionsAlice(f).length > 0).map((f) => f.slice(0, 200))).toEqual([]);
      }
    });
  });

  describe('A worker agent', () => {
    it('cannot put live output or an agent transcript into a task it does not run', async () => {
      // A socket of its own: the scenario's password change may have closed the others' sessions' sockets.
      const watcher = await LiveSocket.open(sp.url, alice.token);
      const queued = await createTask(alice, { description: 'nobody runs this', tool: 'ollama', input: { prompt: 'x' } });
      const asBob = await natsAs('bob-1');
      try {
        asBob.publish(
          `work.output.${agents['bob-1']!.id}.${queued.id}`,
          JSON.stringify({
            taskId: queued.id,
            attempt: 1,
            seq: 0,
            data: 'forged by another worker',
            // A forged transcript too: agent events ride in output chunks, fenced like their output.
            events: [
              { kind: 'text', text: 'forged agent text' },
              { kind: 'tool_call', name: 'Bash', input: '{"command":"forged"}' },
            ],
          }),
        );
        await asBob.flush();
        // A genuine chunk after it: once that arrived, the forged one has been judged.
        const after = await createTask(alice, { description: 'after', tool: 'shell', input: { command: 'echo after-forgery' } });
        await taskIn(alice, after.id, ['succeeded']);
        await eventually('the genuine output', async () => (watcher.output.some((c) => c.data.includes('after-forgery')) ? true : undefined));
        expect(watcher.output.filter((c) => c.taskId === queued.id)).toEqual([]);
        expect(watcher.frames.filter((f) => f.includes('forged'))).toEqual([]);
      } finally {
        watcher.close();
        await asBob.close();
      }
    });

    it("runs a task that cannot read its agent's credential or another task's directory", async () => {
      const agent = agents['alice-1']!.process;
      const task = await createTask(alice, {
        description: 'snoops',
        tool: 'shell',
        input: { command: `cat ${agent.stateDir}/worker.json; ls ${agent.stateDir}/work; true` },
        requirements: { workerId: agents['alice-1']!.id },
      });
      const done = await taskIn(alice, task.id, ['succeeded', 'failed']);
      const seen = [credentialOf(agent), ...[...aliceTasks].filter((id) => id !== task.id)].filter((s) => done.result?.outputTail.includes(s));
      expect(seen).toEqual([]);
    });

    it('has a NATS user refused every subject family but its own', async () => {
      const asBob = await natsAs('bob-1');
      try {
        expect(await probeNatsPermissions(asBob, foreignSubjects(agents['bob-1']!.id, agents['alice-1']!.id))).toEqual({ publish: [], subscribe: [] });
        expect(await probeNatsPermissions(asBob, ownSubjects(agents['bob-1']!.id))).toEqual(ownSubjects(agents['bob-1']!.id));
      } finally {
        await asBob.close();
      }
    });
  });
}
