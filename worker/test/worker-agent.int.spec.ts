/*
 * The worker agent end to end: the compiled CLI as a child process, a real nats-server, and a
 * test peer for the platform's registration endpoint (test/fake-platform.ts). The test plays the
 * platform's dispatcher: it publishes Assignments/Cancellations to `work.assign.<workerId>` on
 * the WORK stream and reads reports, output and heartbeats.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { workerConsumerName, workStream, workSubjects, type Assignment, type Cancellation, type EnvValue, type WorkOrder } from '@agentyard/contracts';
import { findNatsServerBinary, testNats, waitForPort, type NatsServer } from '@agentyard/local-infra';
import { processAlive } from '../src/system/process-group';
import { repoRoot, runAgent, type AgentProcess } from './agent-process';
import { ensureWorkStream, newRegistrationToken, startFakePlatform, type FakePlatform } from './fake-platform';
import { pidsWith, uniqueSleep } from './agent-harness';
import { WorkObserver } from './work-observer';

jest.setTimeout(60_000);

const dirs: string[] = [];

let nats: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let platform: FakePlatform;
let observer: WorkObserver;
const agents: AgentProcess[] = [];

/** Stand-in for the Claude Code CLI on the agents' PATH: answers --version, echoes what -p got. */
// Not under /tmp: a sandboxed task has a private /tmp and would not find the tool there. As root,
// tasks run under a uid of their own: the tool must be reachable for it too.
const fakeBin = mkdtempSync('/var/tmp/agentyard-bin-');
dirs.push(fakeBin);
chmodSync(fakeBin, 0o755);
writeFileSync(
  join(fakeBin, 'claude'),
  [
    '#!/bin/sh',
    'if [ "$1" = "--version" ]; then echo "1.0.0 (Claude Code)"; exit 0; fi',
    'echo "args=$*"; echo "key=${ANTHROPIC_API_KEY:-none} secret=${SECRET_X:-absent}"',
    '',
  ].join('\n'),
);
chmodSync(join(fakeBin, 'claude'), 0o755);

/** The parent environment every agent runs with: a secret that must never reach a task. */
const agentEnv = {
  ...process.env,
  PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
  SECRET_X: 'must-not-leak',
  ANTHROPIC_API_KEY: 'test-key',
  // The key's health check goes here (refused at once) rather than to api.anthropic.com, which CI
  // cannot reach (each agent start would wait out the check's 5 s).
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
  AGENTYARD_LOG_LEVEL: 'debug',
};

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentyard-worker-'));
  dirs.push(dir);
  return dir;
}

function start(args: string[]): AgentProcess {
  const agent = runAgent(['start', '--url', platform.url, ...args], agentEnv);
  agents.push(agent);
  return agent;
}

/** Starts a registered agent and resolves once its first heartbeat arrives. */
async function startWorker(args: string[], stateDir = tempDir()): Promise<{ agent: AgentProcess; workerId: string; stateDir: string }> {
  const before = platform.registrations.length;
  const agent = start(['--token', newRegistrationToken(), '--state-dir', stateDir, ...args]);
  const deadline = Date.now() + 15_000;
  while (platform.registrations.length === before) {
    if (Date.now() > deadline || agent.child.exitCode !== null) throw new Error(`agent did not register:\n${agent.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const workerId = platform.registrations[platform.registrations.length - 1]!.workerId;
  await observer.heartbeats.waitFor((h) => h.workerId === workerId, 10_000, `first heartbeat of ${workerId}`);
  return { agent, workerId, stateDir };
}

async function order(workerId: string, workOrder: WorkOrder): Promise<void> {
  await js.publish(workSubjects.assign(workerId), JSON.stringify(workOrder), { msgID: `${workOrder.kind}:${workOrder.taskId}:${workOrder.attempt}` });
}

function shellTask(command: string, extra: Partial<Assignment> & { env?: Record<string, EnvValue>; cwd?: string } = {}): Assignment {
  const { env, cwd, ...rest } = extra;
  return {
    kind: 'assign',
    taskId: randomUUID(),
    attempt: 1,
    tool: 'shell',
    input: { command, ...(env ? { env } : {}), ...(cwd ? { cwd } : {}) },
    description: 'test task',
    timeoutSeconds: 60,
    heartbeatTimeoutSeconds: 30,
    ...rest,
  };
}

async function stopAgent(agent: AgentProcess): Promise<number | null> {
  agent.signal('SIGTERM');
  return agent.exited;
}

beforeAll(async () => {
  // The suite runs the compiled agent, as a machine would.
  execFileSync(process.execPath, [join(repoRoot, 'infra', 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'ignore' });
  nats = await testNats();
  nc = await connect({ servers: nats.url, name: 'worker-agent-test' });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureWorkStream(jsm);
  platform = await startFakePlatform(jsm, nats.url);
  observer = new WorkObserver(nc);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()));
  observer?.close();
  await platform?.close();
  await nc?.drain();
  await nats?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(observer.invalid).toEqual([]);
});

describe('Worker agent', () => {
  describe('with two slots', () => {
    let worker: { agent: AgentProcess; workerId: string; stateDir: string };

    beforeAll(async () => {
      worker = await startWorker(['--slots', '2', '--labels', 'linux,test', '--name', 'test worker']);
    });

    afterAll(async () => {
      expect(await stopAgent(worker.agent)).toBe(0);
    });

    it('registers with what it detected and heartbeats sane figures', async () => {
      const registration = platform.registrations.find((r) => r.workerId === worker.workerId)!;
      expect(registration.body).toMatchObject({ name: 'test worker', slots: 2, labels: ['linux', 'test'], platform: process.platform });
      expect(registration.body.tools.map((t) => t.name)).toContain('shell');
      expect(registration.body.resources.cpus).toBeGreaterThanOrEqual(1);
      expect(registration.body.resources.memoryMb).toBeGreaterThan(0);

      const beat = await observer.heartbeats.waitFor((h) => h.workerId === worker.workerId, 5_000, 'heartbeat');
      expect(beat.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(beat.cpuPercent).toBeLessThanOrEqual(100);
      expect(beat.memTotalMb).toBeGreaterThan(0);
      expect(beat.memUsedMb).toBeGreaterThan(0);
      expect(beat.memUsedMb).toBeLessThanOrEqual(beat.memTotalMb);
      expect(beat.diskTotalMb).toBeGreaterThan(0);
      expect(beat.diskFreeMb).toBeLessThanOrEqual(beat.diskTotalMb);
      expect(beat.slots).toEqual({ total: 2, used: 0 });
      expect(beat.draining).toBe(false);
      expect(beat.tools.map((t) => t.name)).toContain('shell');
      // Credentials are stored for reuse, readable by the owner only.
      const file = join(worker.stateDir, 'worker.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8')).registrations[0]).toMatchObject({ url: platform.url, workerId: worker.workerId });
    });

    it('streams a shell task’s output and reports exit code 0 with the output tail', async () => {
      const task = shellTask('echo hello-agentyard; echo "::progress 40"; printf "line-%s\\n" 1 2 3');
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);

      expect(finished).toMatchObject({ outcome: 'succeeded', workerId: worker.workerId, attempt: 1, result: { exitCode: 0 } });
      expect(finished.result).not.toHaveProperty('output'); // it wrote no AGENTYARD_OUTPUT file
      expect(finished.result.outputTail).toContain('hello-agentyard');
      expect(finished.result.outputTail).toContain('line-3');
      // `started` came first, and live output carried the text, numbered from 0, with the progress hint.
      const kinds = observer.reports.items.filter((i) => i.value.taskId === task.taskId).map((i) => i.value.kind);
      expect(kinds).toEqual(['started', 'finished']);
      const chunks = observer.outputOf(task.taskId);
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
      expect(observer.textOf(task.taskId)).toContain('hello-agentyard\r\n');
      expect(chunks.some((c) => c.progress === 40)).toBe(true);
      // The assignment was acked once started: nothing is left pending on the consumer.
      const info = await jsm.consumers.info(workStream.name, workerConsumerName(worker.workerId));
      expect(info.num_ack_pending + info.num_pending).toBe(0);
    });

    it('reports a failing command as failed with its exit code', async () => {
      const task = shellTask('echo about-to-fail; exit 7');
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('failed');
      expect(finished.result.exitCode).toBe(7);
      expect(finished.result.outputTail).toContain('about-to-fail');
    });

    it('runs the task with a clean environment plus the task’s own variables', async () => {
      const task = shellTask('echo "secret=${SECRET_X:-absent}"; echo "mine=$MY_VAR"; echo "home=${HOME:+set}"', { env: { MY_VAR: 'present' } });
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);
      expect(finished.result.outputTail).toContain('secret=absent');
      expect(finished.result.outputTail).toContain('mine=present');
      expect(finished.result.outputTail).toContain('home=set');
    });

    describe('given a task whose env references secrets', () => {
      const value = 'ghp_S3CRETvalue0123';

      it('fetches their values for its attempt, puts them in the environment only, and masks them in the output', async () => {
        const task = shellTask(
          [
            `test "$TOKEN" = "${value}" && echo env-ok`,
            'echo "plain=$PLAIN leaked=$TOKEN"',
            // The value printed in two pieces, 300 ms apart: two output chunks.
            "printf 'split:'; printf '%s' \"$TOKEN\" | cut -c1-9 | tr -d '\\n'; sleep 0.3; printf '%s\\n' \"$TOKEN\" | cut -c10-",
          ].join('; '),
          { env: { TOKEN: { secret: 'gh' }, PLAIN: 'visible' } },
        );
        platform.taskSecrets.set(task.taskId, { status: 200, body: { values: { gh: value } } });
        await order(worker.workerId, task);
        const finished = await observer.finished(task.taskId);
        expect(finished).toMatchObject({ outcome: 'succeeded', result: { exitCode: 0 } });
        expect(finished.result.outputTail).toContain('env-ok');
        expect(finished.result.outputTail).toContain('plain=visible leaked=***');
        expect(finished.result.outputTail).toContain('split:***');
        expect(finished.result.outputTail).not.toContain(value);
        expect(observer.textOf(task.taskId)).toContain('split:***');
        expect(JSON.stringify(observer.outputOf(task.taskId))).not.toContain(value);
        expect(JSON.stringify(observer.reports.items)).not.toContain(value);
        expect(worker.agent.log()).not.toContain(value);
        const request = platform.secretRequests.find((r) => r.taskId === task.taskId);
        expect(request).toEqual({ taskId: task.taskId, body: { attempt: 1 }, authorization: expect.stringMatching(/^Worker ayw_/) });
      });

      it('fails the attempt with the platform’s reason when it refuses them, without starting the process', async () => {
        const task = shellTask('echo should-not-run', { env: { TOKEN: { secret: 'gh' } } });
        platform.taskSecrets.set(task.taskId, { status: 404, body: { error: 'NOT_FOUND', message: 'secret gh was deleted' } });
        await order(worker.workerId, task);
        const finished = await observer.finished(task.taskId);
        expect(finished).toMatchObject({ outcome: 'failed', result: { exitCode: null, error: 'secret gh was deleted' } });
        expect(observer.reports.items.filter((i) => i.value.taskId === task.taskId).map((i) => i.value.kind)).toEqual(['finished']);
        expect(observer.textOf(task.taskId)).toBe('');
      });

      it('ends an attempt cancelled while its secrets are fetched without starting it, and frees the slot', async () => {
        const task = shellTask('echo should-not-run', { env: { TOKEN: { secret: 'gh' } } });
        platform.taskSecrets.set(task.taskId, { status: 200, body: { values: { gh: value } }, delayMs: 1_500 });
        await order(worker.workerId, task);
        await observer.heartbeats.waitFor((h) => h.running.some((r) => r.taskId === task.taskId), 10_000, 'the fetching attempt in a heartbeat');
        const cancel: Cancellation = { kind: 'cancel', taskId: task.taskId, attempt: 1 };
        await order(worker.workerId, cancel);
        const finished = await observer.finished(task.taskId);
        expect(finished).toMatchObject({ outcome: 'cancelled', result: { error: 'cancelled' } });
        expect(observer.reports.items.filter((i) => i.value.taskId === task.taskId).map((i) => i.value.kind)).toEqual(['finished']);
        const after = new Date().toISOString();
        const beat = await observer.heartbeats.waitFor((h) => h.workerId === worker.workerId && h.sentAt > after, 10_000, 'a heartbeat after the cancel');
        expect(beat.slots.used).toBe(0);
      });
    });

    it('runs claude-code with the prompt, forwarding only its API key', async () => {
      const registration = platform.registrations.find((r) => r.workerId === worker.workerId)!;
      expect(registration.body.tools).toContainEqual(expect.objectContaining({ name: 'claude-code', version: '1.0.0' }));
      const task = { ...shellTask(''), tool: 'claude-code' as const, input: { prompt: 'say hi' } };
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('succeeded');
      expect(finished.result.outputTail).toContain('args=-p say hi --output-format stream-json --verbose --permission-mode default');
      expect(finished.result.outputTail).toContain('key=test-key secret=absent');
    });

    it('hands back an assignment for a tool it does not have', async () => {
      const task = { ...shellTask(''), tool: 'ollama' as const, input: { prompt: 'x', model: 'm' } };
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('handed_back');
      expect(finished.result.error).toContain('ollama');
    });

    it('reports the JSON a task wrote to AGENTYARD_OUTPUT, a file in its own attempt directory, as the result’s output', async () => {
      // The task's own env cannot point the agent elsewhere.
      const task = shellTask('echo "file=$AGENTYARD_OUTPUT"; printf \'{"steps":[1,2]}\' > "$AGENTYARD_OUTPUT"', {
        env: { AGENTYARD_OUTPUT: '/tmp/elsewhere' },
      });
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);
      expect(finished).toMatchObject({ outcome: 'succeeded', result: { exitCode: 0, output: { steps: [1, 2] } } });
      expect(finished.result.outputTail).toContain(`file=${join(worker.stateDir, 'work', `${task.taskId}-1`, '.agentyard', 'output.json')}`);
    });

    it('fails an attempt whose AGENTYARD_OUTPUT is not JSON, larger than 64 KiB, or a link out of its directory, saying why', async () => {
      const cases: Array<[string, string]> = [
        ['printf \'{"steps":\\n  [1, 2\' > "$AGENTYARD_OUTPUT"', 'AGENTYARD_OUTPUT: not valid JSON at line 2, column 8 (close bracket expected)'],
        ['head -c 81920 /dev/zero > "$AGENTYARD_OUTPUT"', 'AGENTYARD_OUTPUT: 80 KiB, more than the 64 KiB allowed'],
        // The agent's credential file is JSON: following the link would hand it to the task's owner.
        [`ln -s '${join(worker.stateDir, 'worker.json')}' "$AGENTYARD_OUTPUT"`, 'AGENTYARD_OUTPUT: is a symbolic link; write the JSON to the file itself'],
      ];
      for (const [command, error] of cases) {
        const task = shellTask(command);
        await order(worker.workerId, task);
        const finished = await observer.finished(task.taskId);
        expect({ command, outcome: finished.outcome, exitCode: finished.result.exitCode, error: finished.result.error }).toEqual({
          command,
          outcome: 'failed',
          exitCode: 0,
          error,
        });
        expect(finished.result).not.toHaveProperty('output');
      }
    });

    it('runs in a fresh directory per attempt and refuses a cwd outside it', async () => {
      const inside = shellTask('pwd; touch made-here', { cwd: 'sub/dir' });
      await order(worker.workerId, inside);
      const ok = await observer.finished(inside.taskId);
      expect(ok.outcome).toBe('succeeded');
      expect(ok.result.outputTail).toContain(join(worker.stateDir, 'work', `${inside.taskId}-1`, 'sub', 'dir'));

      const escape = shellTask('pwd', { cwd: '../../etc' });
      await order(worker.workerId, escape);
      const refused = await observer.finished(escape.taskId);
      expect(refused.outcome).toBe('failed');
      expect(refused.result.error).toMatch(/cwd/);
    });

    it('kills the whole process tree on cancel and reports cancelled', async () => {
      // The task runs in its own pid namespace: its $$ and $! mean nothing here, so its processes
      // are found by the unique sleep in their command lines (the shell's includes it too).
      const sleep = uniqueSleep(60);
      const task = shellTask(`sleep ${sleep} & echo started; wait`);
      await order(worker.workerId, task);
      await observer.output.waitFor((c) => c.taskId === task.taskId && observer.textOf(task.taskId).includes('started'), 10_000, 'started');
      const pids = pidsWith(sleep);
      expect(pids.length).toBeGreaterThanOrEqual(2);
      expect(pids.every(processAlive)).toBe(true);

      const cancelledAt = Date.now();
      const cancel: Cancellation = { kind: 'cancel', taskId: task.taskId, attempt: 1 };
      await order(worker.workerId, cancel);
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('cancelled');
      expect(finished.result.exitCode).toBeNull();
      // The report is sent only once the tree is gone, and that happened within 2 s.
      expect(pids.some(processAlive)).toBe(false);
      expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    });

    it('acks and ignores a cancel for a task it does not run', async () => {
      await order(worker.workerId, { kind: 'cancel', taskId: randomUUID(), attempt: 3 });
      const deadline = Date.now() + 5_000;
      for (;;) {
        const info = await jsm.consumers.info(workStream.name, workerConsumerName(worker.workerId));
        if (info.num_ack_pending + info.num_pending === 0) break;
        if (Date.now() > deadline) throw new Error('cancel was not acked');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    it('kills a task that exceeds its timeout and reports timed_out', async () => {
      const task = shellTask('echo waiting; sleep 30', { timeoutSeconds: 1 });
      await order(worker.workerId, task);
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('timed_out');
      expect(finished.result.durationMs).toBeGreaterThanOrEqual(1_000);
      expect(finished.result.durationMs).toBeLessThan(4_000);
      expect(finished.result.outputTail).toContain('waiting');
    });

    it('never runs more tasks at once than it has slots', async () => {
      const tasks = [1, 2, 3].map(() => shellTask('echo "start=$(date +%s%N)"; sleep 1; echo "end=$(date +%s%N)"'));
      await Promise.all(tasks.map((t) => order(worker.workerId, t)));
      const results = await Promise.all(tasks.map((t) => observer.finished(t.taskId)));
      // A third assignment that arrives while both slots are busy is refused (handed back); the
      // platform requeues it as the next attempt, which the test does here.
      const retried = await Promise.all(
        tasks.map(async (task, i) => {
          if (results[i]!.outcome !== 'handed_back') return { task, attempt: 1, report: results[i]! };
          expect(results[i]!.result.error).toMatch(/slot/);
          const next = { ...task, attempt: 2 };
          await order(worker.workerId, next);
          return { task, attempt: 2, report: await observer.finished(task.taskId, 2) };
        }),
      );
      const intervals = retried.map(({ report }) => {
        expect(report.outcome).toBe('succeeded');
        const start = BigInt(/start=(\d+)/.exec(report.result.outputTail)![1]!);
        const end = BigInt(/end=(\d+)/.exec(report.result.outputTail)![1]!);
        return { start, end };
      });
      const maxOverlap = Math.max(...intervals.map((a) => intervals.filter((b) => b.start <= a.start && a.start < b.end).length));
      expect(maxOverlap).toBeLessThanOrEqual(2);
      expect(maxOverlap).toBe(2);
      const used = observer.heartbeats.items.filter((i) => i.value.workerId === worker.workerId).map((i) => i.value.slots.used);
      expect(Math.max(...used)).toBeLessThanOrEqual(2);
    });
  });

  describe('when restarted', () => {
    it('reuses its stored credentials instead of registering again', async () => {
      const first = await startWorker([]);
      const calls = platform.registerCalls;
      expect(await stopAgent(first.agent)).toBe(0);

      const restartedAt = new Date().toISOString();
      const again = start(['--state-dir', first.stateDir]);
      const beat = await observer.heartbeats.waitFor((h) => h.workerId === first.workerId && h.sentAt > restartedAt, 10_000, 'heartbeat after restart');
      expect(beat.workerId).toBe(first.workerId);
      expect(platform.registerCalls).toBe(calls);
      expect(again.log()).toContain('using stored credentials');
      expect(await stopAgent(again)).toBe(0);
    });
  });

  describe('when started with a new token on a machine that already holds a worker for the URL', () => {
    it('refuses, naming --state-dir, and neither registers nor runs the old worker', async () => {
      const first = await startWorker([]);
      expect(await stopAgent(first.agent)).toBe(0);
      const calls = platform.registerCalls;
      const heartbeatsBefore = observer.heartbeats.items.filter((i) => i.value.workerId === first.workerId).length;

      const again = start(['--token', newRegistrationToken(), '--state-dir', first.stateDir]);
      expect(await again.exited).toBe(2);
      expect(again.log()).toContain(`already holds worker ${first.workerId}`);
      expect(again.log()).toContain('--state-dir');
      expect(again.log()).toContain('the new token was not used');
      expect(platform.registerCalls).toBe(calls);
      expect(observer.heartbeats.items.filter((i) => i.value.workerId === first.workerId)).toHaveLength(heartbeatsBefore);

      // Another state dir registers the machine as a new worker with that token.
      const second = await startWorker([]);
      expect(second.workerId).not.toBe(first.workerId);
      expect(platform.registerCalls).toBe(calls + 1);
      expect(await stopAgent(second.agent)).toBe(0);
    });

    it('runs on with the stored worker when the token is the one that registered it (a supervisor restarting the install command)', async () => {
      const token = newRegistrationToken();
      const stateDir = tempDir();
      const before = platform.registrations.length;
      const first = start(['--token', token, '--state-dir', stateDir]);
      await observer.heartbeats.waitFor((h) => platform.registrations.slice(before).some((r) => r.workerId === h.workerId), 15_000, 'first heartbeat');
      const workerId = platform.registrations[before]!.workerId;
      expect(await stopAgent(first)).toBe(0);
      const calls = platform.registerCalls;

      const restartedAt = new Date().toISOString();
      const again = start(['--token', token, '--state-dir', stateDir]);
      await observer.heartbeats.waitFor((h) => h.workerId === workerId && h.sentAt > restartedAt, 10_000, 'heartbeat after restart');
      expect(platform.registerCalls).toBe(calls);
      expect(await stopAgent(again)).toBe(0);
    });
  });

  describe('when the platform refuses the token', () => {
    it('prints the server’s message and exits 1 without retrying', async () => {
      const token = newRegistrationToken();
      platform.rejectTokens.add(token);
      const calls = platform.registerCalls;
      const agent = start(['--token', token, '--state-dir', tempDir()]);
      expect(await agent.exited).toBe(1);
      expect(agent.log()).toContain('registration token is invalid, expired or used up');
      expect(platform.registerCalls).toBe(calls + 1);
    });
  });

  describe('given bad options', () => {
    it('explains the problem and exits 2', async () => {
      const badSlots = start(['--slots', 'many', '--token', newRegistrationToken()]);
      expect(await badSlots.exited).toBe(2);
      expect(badSlots.log()).toContain('--slots');
      const unknown = start(['--colour', 'blue']);
      expect(await unknown.exited).toBe(2);
      expect(unknown.log()).toContain("unknown option '--colour'");
    });

    it('reads agent.yaml, with flags winning over it', async () => {
      const dir = tempDir();
      const config = join(dir, 'agent.yaml');
      writeFileSync(config, `url: ${platform.url}\nslots: 3\nlabels: [from-yaml]\nstate-dir: ${dir}\n`);
      const before = platform.registrations.length;
      const agent = runAgent(['start', '--config', config, '--slots', '1', '--token', newRegistrationToken()], agentEnv);
      agents.push(agent);
      const deadline = Date.now() + 10_000;
      while (platform.registrations.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(platform.registrations[platform.registrations.length - 1]!.body).toMatchObject({ slots: 1, labels: ['from-yaml'] });
      expect(await stopAgent(agent)).toBe(0);
    });
  });

  describe('on SIGTERM', () => {
    it('lets a running task finish, heartbeats draining, and exits 0', async () => {
      const { agent, workerId } = await startWorker(['--drain-timeout', '20']);
      const task = shellTask('sleep 1; echo finished-in-time');
      await order(workerId, task);
      await observer.started(task.taskId);
      agent.signal('SIGTERM');
      await observer.heartbeats.waitFor((h) => h.workerId === workerId && h.draining, 5_000, 'draining heartbeat');
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('succeeded');
      expect(finished.result.outputTail).toContain('finished-in-time');
      expect(await agent.exited).toBe(0);
    });

    it('hands a task back when the grace period runs out, then exits 0', async () => {
      const { agent, workerId } = await startWorker(['--drain-timeout', '1']);
      const task = shellTask('echo long; sleep 30');
      await order(workerId, task);
      await observer.started(task.taskId);
      const signalledAt = Date.now();
      agent.signal('SIGTERM');
      const finished = await observer.finished(task.taskId);
      expect(finished.outcome).toBe('handed_back');
      expect(finished.result.outputTail).toContain('long');
      expect(await agent.exited).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(6_000);
    });
  });

  describe('when NATS restarts', () => {
    it('reconnects and takes new work again', async () => {
      const { agent, workerId } = await startWorker([]);
      await nats.restart();
      const restartedAt = new Date().toISOString();
      await observer.heartbeats.waitFor((h) => h.workerId === workerId && h.sentAt > restartedAt, 10_000, 'heartbeat after the restart');
      const task = shellTask('echo after-restart');
      await order(workerId, task);
      const finished = await observer.finished(task.taskId, 1, 20_000);
      expect(finished.outcome).toBe('succeeded');
      expect(await stopAgent(agent)).toBe(0);
    });

    it('pulls again within seconds when JetStream did not answer at its first reconnect (nats-server flapping)', async () => {
      const { agent, workerId } = await startWorker([]);
      // The agent reconnects to a nats-server without JetStream on the same port: its pull cannot be
      // renewed there (nats.js alone would then wait 15–45 s before trying again, reconnects or not).
      await nats.kill();
      const plain = spawn(findNatsServerBinary()!, ['-a', '127.0.0.1', '-p', String(nats.port)], { stdio: 'ignore' });
      try {
        await waitForPort(nats.port);
        const plainAt = new Date().toISOString();
        await observer.heartbeats.waitFor((h) => h.workerId === workerId && h.sentAt > plainAt, 15_000, 'heartbeat through the plain server');
        await new Promise((r) => setTimeout(r, 1_500)); // its consumer lookup fails there
      } finally {
        plain.kill('SIGKILL');
        await new Promise((r) => plain.once('exit', r));
      }
      await nats.restart();
      const backAt = new Date().toISOString();
      await observer.heartbeats.waitFor((h) => h.workerId === workerId && h.sentAt > backAt, 15_000, 'heartbeat after JetStream is back');
      const task = shellTask('echo after-flap');
      await order(workerId, task);
      const finished = await observer.finished(task.taskId, 1, 10_000);
      expect(finished.outcome).toBe('succeeded');
      expect(await stopAgent(agent)).toBe(0);
    }, 60_000);
  });

  describe('doctor', () => {
    it('lists the tools and checks the platform and NATS', async () => {
      const { agent, stateDir } = await startWorker([]);
      expect(await stopAgent(agent)).toBe(0);
      const doctor = runAgent(['doctor', '--url', platform.url, '--state-dir', stateDir], agentEnv);
      agents.push(doctor);
      expect(await doctor.exited).toBe(0);
      const out = doctor.stdout();
      expect(out).toMatch(/ok {2}shell/);
      expect(out).toMatch(/isolation: (bubblewrap|task-user): each task runs/);
      expect(out).toContain(`platform: ${platform.url}/health/ready ok`);
      expect(out).toContain('reachable');
      expect(out).toContain('result: all good');
    });

    it('exits 1 when the platform is unreachable', async () => {
      const doctor = runAgent(['doctor', '--url', 'http://127.0.0.1:1', '--state-dir', tempDir()], agentEnv);
      agents.push(doctor);
      expect(await doctor.exited).toBe(1);
      expect(doctor.stdout()).toContain('FAILED');
    });
  });
});
