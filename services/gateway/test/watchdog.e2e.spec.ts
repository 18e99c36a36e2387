/*
 * The watchdog through the whole platform: a real worker agent (as root: bubblewrap and a task
 * uid, so the process tree is found by uid too) watches its attempts' output, process-tree CPU
 * and working-directory files. A task that goes silent while the worker keeps heartbeating is
 * flagged TaskStalled — on its owner's socket, not another user's — and its policy acts: `fail`
 * stops it and fails the task, `notify` leaves it running, `restart` runs it again as a new
 * attempt until no attempt is left (the old attempt's process killed each time). The stand-in
 * that stops streaming but keeps the process alive is the real claude CLI against the Anthropic
 * stand-in whose answer hangs mid-stream. Tasks that keep printing, computing or writing files
 * are not flagged. The worker runs with AGENTYARD_TEST_STALL_SECONDS=3 (tests only: the API
 * refuses less than 10 s), so each stall takes 3 s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Envelope, TaskView, WorkerView } from '@agentyard/contracts';
import { startAnthropicStandIn, startPlatform, type AnthropicStandIn, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';
import { LiveSocket } from './support/live-socket';

jest.setTimeout(120_000);

const binDir = resolve(__dirname, '../../../node_modules/.bin');
const stallSeconds = 3;
const stalledError = /^stalled: no output, CPU or file change for \d+ s$/;
let platform: Platform;
let anthropic: AnthropicStandIn;
let alice: { client: ApiClient; userId: string; token: string };
let bob: { client: ApiClient; userId: string; token: string };
let aliceSocket: LiveSocket;
let bobSocket: LiveSocket;

const finished = ['succeeded', 'failed', 'timed_out', 'cancelled'];

const taskIn = (id: string, statuses: string[], timeoutMs = 60_000) =>
  eventually(
    `task ${id} to reach ${statuses.join('/')}`,
    async () => {
      const res = await alice.client.get<TaskView>(`/api/v1/tasks/${id}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    timeoutMs,
  );

const historyOf = async (id: string): Promise<Envelope[]> => (await alice.client.get<{ items: Envelope[] }>(`/api/v1/tasks/${id}/events`)).body.items;

async function createTask(body: Record<string, unknown>): Promise<TaskView> {
  const res = await alice.client.post<TaskView>('/api/v1/tasks', { description: 'watched', ...body });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Host pids whose command line contains `needle` (the sandbox's processes are visible from here). */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const stalledOnSocket = (socket: LiveSocket, taskId: string) => socket.eventsOf(taskId).filter((e) => e.type === 'TaskStalled');

beforeAll(async () => {
  // claude's main loop (the request that offers tools) gets an answer that hangs mid-stream; side calls get a plain one.
  anthropic = await startAnthropicStandIn((request) => {
    const isMainLoop = request.tools?.some((t) => t.name === 'Write') ?? false;
    if (!isMainLoop) return { content: [{ type: 'text', text: 'side answer' }], usage: { input_tokens: 11, output_tokens: 3 } };
    return { content: [{ type: 'text', text: 'Thinking about it at length…' }], usage: { input_tokens: 100, output_tokens: 20 }, hang: true };
  });
  platform = await startPlatform();
  const api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  bob = await api.signUp('bob');
  const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  platform.startWorker({
    token: token.body.token,
    name: 'watched',
    slots: 4,
    env: {
      PATH: `${binDir}:${process.env.PATH ?? ''}`,
      ANTHROPIC_API_KEY: 'sk-ant-stand-in',
      ANTHROPIC_BASE_URL: anthropic.url,
      AGENTYARD_TEST_STALL_SECONDS: String(stallSeconds),
    },
  });
  await eventually('the worker online', async () => {
    const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
    return res.body.items.find((w) => w.name === 'watched' && w.status === 'online');
  });
  aliceSocket = await LiveSocket.open(platform.url, alice.token);
  bobSocket = await LiveSocket.open(platform.url, bob.token);
}, 180_000);

afterAll(async () => {
  aliceSocket?.close();
  bobSocket?.close();
  await platform?.stop();
  await anthropic?.close();
});

describe('The watchdog', () => {
  it('refuses a policy a person could not mean, naming the field', async () => {
    const res = await alice.client.post('/api/v1/tasks', {
      description: 'x',
      tool: 'shell',
      input: { command: 'true', watchdog: { stallSeconds: 5, action: 'fail' } },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('watchdog.stallSeconds must be at least 10');
    const bad = await alice.client.post('/api/v1/tasks', {
      description: 'x',
      tool: 'shell',
      input: { command: 'true', watchdog: { stallSeconds: 60, action: 'reboot' } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('watchdog.action must be one of: notify, restart, fail');
  });

  it('flags a silent shell task live to its owner and, with fail, stops it and fails the task', async () => {
    const task = await createTask({ tool: 'shell', input: { command: 'echo hi; sleep 1011', watchdog: { stallSeconds: 10, action: 'fail' } }, maxAttempts: 1 });
    const stall = await eventually('TaskStalled on the owner’s socket', async () => stalledOnSocket(aliceSocket, task.id)[0], 30_000);
    expect(stall.data).toMatchObject({ taskId: task.id, attempt: 1, action: 'fail', silentSeconds: expect.any(Number) });
    expect(stall.data.silentSeconds as number).toBeGreaterThanOrEqual(stallSeconds);
    const done = await taskIn(task.id, finished);
    expect(done.status).toBe('failed');
    expect(done.result?.error).toMatch(stalledError);
    expect(done.result?.outputTail).toContain('hi');
    expect(done).toMatchObject({ stalls: 1 });
    expect(processesWith('sleep 1011')).toEqual([]);
    expect(bobSocket.eventsOf(task.id)).toEqual([]);
    // Recorded before the failure it led to.
    const types = (await historyOf(task.id)).map((e) => e.type);
    expect(types.indexOf('TaskStalled')).toBeGreaterThan(-1);
    expect(types.indexOf('TaskStalled')).toBeLessThan(types.indexOf('TaskFailed'));
  });

  it('with notify, records the stall once and lets the task run on until it is cancelled', async () => {
    const task = await createTask({ tool: 'shell', input: { command: 'echo hi; sleep 1012', watchdog: { stallSeconds: 10, action: 'notify' } } });
    await eventually('TaskStalled on the owner’s socket', async () => stalledOnSocket(aliceSocket, task.id)[0], 30_000);
    // Two more stall periods of silence: still running, still one flag (the stall is one stall).
    await new Promise((r) => setTimeout(r, 2 * stallSeconds * 1000 + 1_000));
    const running = (await alice.client.get<TaskView>(`/api/v1/tasks/${task.id}`)).body;
    expect(running).toMatchObject({ status: 'running', attempt: 1, stalls: 1, stalledAt: expect.any(String) });
    expect(processesWith('sleep 1012').length).toBeGreaterThan(0);
    expect((await historyOf(task.id)).filter((e) => e.type === 'TaskStalled')).toHaveLength(1);
    expect((await alice.client.post(`/api/v1/tasks/${task.id}/cancel`)).status).toBe(200);
    expect((await taskIn(task.id, finished)).status).toBe('cancelled');
    await eventually('the process gone', async () => (processesWith('sleep 1012').length === 0 ? true : undefined), 10_000);
  });

  it('with restart, runs a stalled task again as a new attempt, killing the old one, until no attempt is left', async () => {
    const task = await createTask({
      tool: 'shell',
      input: { command: 'echo hi; sleep 1013', watchdog: { stallSeconds: 10, action: 'restart' } },
      maxAttempts: 2,
    });
    const done = await taskIn(task.id, finished, 60_000);
    expect(done).toMatchObject({ status: 'failed', attempt: 2, stalls: 2 });
    const history = await historyOf(task.id);
    expect(history.filter((e) => e.type === 'TaskStalled').map((e) => [e.data.attempt, e.data.action])).toEqual([
      [1, 'restart'],
      [2, 'restart'],
    ]);
    expect(history.find((e) => e.type === 'TaskRequeued')?.data).toMatchObject({ fromAttempt: 1, reason: 'stalled' });
    expect(history.find((e) => e.type === 'TaskFailed')?.data.reason).toBe('out of attempts: attempt 2 of 2 ended by stalled');
    // Each attempt was cancelled on the worker: neither process is left.
    await eventually('both attempts’ processes gone', async () => (processesWith('sleep 1013').length === 0 ? true : undefined), 10_000);
  });

  it('flags an agent CLI whose vendor stream stops mid-answer while the CLI stays alive', async () => {
    const requestsBefore = anthropic.requests.length;
    const task = await createTask({
      tool: 'claude-code',
      input: { prompt: 'Explain this repository', permissionMode: 'edit', watchdog: { stallSeconds: 60, action: 'fail' } },
      maxAttempts: 1,
    });
    const stall = await eventually('TaskStalled on the owner’s socket', async () => stalledOnSocket(aliceSocket, task.id)[0], 60_000);
    expect(stall.data).toMatchObject({ attempt: 1, action: 'fail' });
    // The CLI was waiting on the hung answer: its main-loop request had reached the stand-in.
    const mainLoop = anthropic.requests.slice(requestsBefore).filter((r) => r.body?.tools?.some((t) => t.name === 'Write'));
    expect(mainLoop.length).toBeGreaterThan(0);
    const done = await taskIn(task.id, finished);
    expect(done.status).toBe('failed');
    expect(done.result?.error).toMatch(stalledError);
  });

  it('does not flag tasks that keep printing, computing or writing files for longer than stallSeconds', async () => {
    const busy = 3 * stallSeconds;
    const watchdog = { stallSeconds: 10, action: 'notify' };
    const tasks = await Promise.all([
      createTask({ tool: 'shell', input: { command: `for i in $(seq 1 ${busy}); do echo tick $i; sleep 1; done`, watchdog } }),
      createTask({ tool: 'shell', input: { command: `timeout ${busy} sh -c 'while :; do :; done' || true`, watchdog } }),
      createTask({ tool: 'shell', input: { command: `for i in $(seq 1 ${busy}); do date +%s%N > progress.txt; sleep 1; done`, watchdog } }),
    ]);
    for (const task of tasks) {
      const done = await taskIn(task.id, finished);
      expect({ id: task.id, status: done.status, stalls: done.stalls }).toEqual({ id: task.id, status: 'succeeded', stalls: 0 });
      expect((await historyOf(task.id)).filter((e) => e.type === 'TaskStalled')).toEqual([]);
    }
    // And the same silence as theirs, without the activity, is flagged (the check can fail).
    const idle = await createTask({ tool: 'shell', input: { command: `sleep ${busy}`, watchdog } });
    expect((await taskIn(idle.id, finished)).status).toBe('succeeded');
    expect((await historyOf(idle.id)).filter((e) => e.type === 'TaskStalled')).toHaveLength(1);
  });
});
