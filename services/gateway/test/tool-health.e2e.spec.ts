/*
 * A tool whose credentials stop working, through the whole platform: a real worker agent with
 * claude-api pointed at the Anthropic stand-in probes its tools every second
 * (--tool-probe-interval 1). When the stand-in starts refusing the key, the worker reports the
 * tool unhealthy (auth refused, with the reason) within a probe interval and a heartbeat, and a
 * claude-api task is not placed on it: it stays queued, the allocation decision naming the
 * unhealthy tool, and the stand-in gets no message. When the stand-in accepts the key again the
 * tool comes back healthy and the same task is placed and succeeds.
 * The worker also reports the models the stand-in lists: a task naming another model waits with
 * the reason (`model … is not offered by claude-api on api-worker`) and reaches no API, while one
 * naming a listed model runs.
 */
import type { TaskView, WorkerTool, WorkerView } from '@agentyard/contracts';
import { startAnthropicStandIn, startPlatform, type AnthropicStandIn, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';

jest.setTimeout(120_000);

let platform: Platform;
let anthropic: AnthropicStandIn;
let alice: { client: ApiClient; userId: string; token: string };
let workerId: string;

const messages = () => anthropic.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/messages'));
const checks = () => anthropic.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/models'));

async function claudeApiOfWorker(): Promise<WorkerTool | undefined> {
  const res = await alice.client.get<WorkerView>(`/api/v1/workers/${workerId}`);
  return res.body.tools.find((t) => t.name === 'claude-api');
}

const toolBecomes = (health: WorkerTool['health'], timeoutMs: number) =>
  eventually(`claude-api ${health}`, async () => ((await claudeApiOfWorker())?.health === health ? claudeApiOfWorker() : undefined), timeoutMs, 50);

beforeAll(async () => {
  anthropic = await startAnthropicStandIn(() => ({
    content: [{ type: 'text', text: 'hello from the stand-in' }],
    usage: { input_tokens: 12, output_tokens: 5 },
  }));
  platform = await startPlatform({
    // Heartbeats every second, so the test measures the probe interval rather than waiting on the default 5 s.
    env: { workers: { OFFLINE_AFTER_MS: '4000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' } },
  });
  alice = await new ApiClient(platform.url).signUp('alice');
  const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  platform.startWorker({
    token: token.body.token,
    name: 'api-worker',
    extraArgs: ['--tool-probe-interval', '1'],
    env: {
      // Without node_modules/.bin: only the chat tool is under test, not the claude CLI installed there.
      PATH: (process.env.PATH ?? '')
        .split(':')
        .filter((d) => !d.includes('node_modules'))
        .join(':'),
      ANTHROPIC_API_KEY: 'sk-ant-stand-in',
      ANTHROPIC_BASE_URL: anthropic.url,
    },
  });
  workerId = (
    await eventually('the worker online', async () => {
      const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
      return res.body.items.find((w) => w.name === 'api-worker' && w.status === 'online');
    })
  ).id;
}, 180_000);

afterAll(async () => {
  await platform?.stop();
  await anthropic?.close();
});

describe('Tool health', () => {
  it('stops placing a tool’s tasks on a worker while its API refuses the key, and places them again once the key is accepted', async () => {
    // Healthy: the key was checked against the models list (no message, no tokens).
    expect(await toolBecomes('healthy', 10_000)).toEqual({ name: 'claude-api', version: 'api', health: 'healthy', auth: 'ok', models: ['claude-sonnet-4-5'] });
    expect(checks().length).toBeGreaterThan(0);
    expect(checks()[0]!.headers['x-api-key']).toBe('sk-ant-stand-in');
    expect(messages()).toEqual([]);

    anthropic.refuseKeys(true);
    const refusedAt = Date.now();
    const unhealthy = await toolBecomes('unhealthy', 15_000);
    const took = Date.now() - refusedAt;
    expect(unhealthy).toEqual({ name: 'claude-api', version: 'api', health: 'unhealthy', auth: 'refused', detail: 'key refused by the Anthropic API (401)' });
    // One probe interval (1 s), then the next heartbeat (1 s) and the workers service's projection; slack for a loaded machine.
    expect(took).toBeLessThan(6_000);
    // The shell tool, which needs no key, is untouched.
    expect((await alice.client.get<WorkerView>(`/api/v1/workers/${workerId}`)).body.tools.find((t) => t.name === 'shell')).toMatchObject({ health: 'healthy' });

    const created = await alice.client.post<TaskView>('/api/v1/tasks', {
      description: 'ask claude',
      tool: 'claude-api',
      input: { prompt: 'say hi' },
      maxAttempts: 1,
    });
    expect(created.status).toBe(201);
    const taskId = created.body.id;
    const deferral = await eventually('a deferral naming the unhealthy tool', async () => {
      const res = await alice.client.get<{ workerId: string | null; candidates: Array<{ workerId: string; eligible: boolean; rejectedBecause: string[] }> }>(
        `/api/v1/tasks/${taskId}/allocation`,
      );
      return res.status === 200 && res.body.candidates.length > 0 ? res.body : undefined;
    });
    expect(deferral.candidates).toEqual([
      expect.objectContaining({ workerId, eligible: false, rejectedBecause: ['claude-api unhealthy: key refused by the Anthropic API (401)'] }),
    ]);
    // Several probe intervals later it still waits: nothing was placed, nothing reached the API.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await alice.client.get<TaskView>(`/api/v1/tasks/${taskId}`)).body).toMatchObject({ status: 'queued', workerId: null });
    expect(messages()).toEqual([]);

    anthropic.refuseKeys(false);
    expect(await toolBecomes('healthy', 15_000)).toEqual({ name: 'claude-api', version: 'api', health: 'healthy', auth: 'ok', models: ['claude-sonnet-4-5'] });
    const done = await eventually(
      'the task to finish',
      async () => {
        const res = await alice.client.get<TaskView>(`/api/v1/tasks/${taskId}`);
        return ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(res.body.status) ? res.body : undefined;
      },
      30_000,
    );
    expect(done).toMatchObject({ status: 'succeeded', workerId });
    expect(done.result?.outputTail).toContain('hello from the stand-in');
    expect(messages()).toHaveLength(1);
  });

  it('keeps a task naming a model the tool does not offer queued with that reason, while one naming a listed model runs', async () => {
    expect((await toolBecomes('healthy', 15_000))?.models).toEqual(['claude-sonnet-4-5']);
    const before = messages().length;
    const ask = (model: string, queueTimeoutSeconds?: number) =>
      alice.client.post<TaskView>('/api/v1/tasks', {
        description: `ask ${model}`,
        tool: 'claude-api',
        input: { prompt: 'say hi', model },
        maxAttempts: 1,
        ...(queueTimeoutSeconds ? { queueTimeoutSeconds } : {}),
      });

    // Its queue timeout bounds the wait (as a Temporal schedule-to-start timeout would).
    const unknown = await ask('claude-opus-99', 10);
    expect(unknown.status).toBe(201);
    const deferral = await eventually('a deferral naming the model', async () => {
      const res = await alice.client.get<{ candidates: Array<{ workerId: string; eligible: boolean; rejectedBecause: string[] }> }>(
        `/api/v1/tasks/${unknown.body.id}/allocation`,
      );
      return res.status === 200 && res.body.candidates.length > 0 ? res.body : undefined;
    });
    expect(deferral.candidates).toEqual([
      expect.objectContaining({
        workerId,
        eligible: false,
        rejectedBecause: ['model claude-opus-99 is not offered by claude-api: api-worker does not list it'],
      }),
    ]);

    const known = await ask('claude-sonnet-4-5');
    expect(known.status).toBe(201);
    const done = await eventually(
      'the task naming a listed model to finish',
      async () => {
        const res = await alice.client.get<TaskView>(`/api/v1/tasks/${known.body.id}`);
        return ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(res.body.status) ? res.body : undefined;
      },
      30_000,
    );
    expect(done).toMatchObject({ status: 'succeeded', workerId });
    expect(done.result?.outputTail).toContain('hello from the stand-in');
    // Only the listed model reached the API; the other task waited on no worker until its queue timeout.
    const expired = await eventually(
      'the task naming an unknown model to time out in the queue',
      async () => {
        const res = await alice.client.get<TaskView>(`/api/v1/tasks/${unknown.body.id}`);
        return res.body.status !== 'queued' ? res.body : undefined;
      },
      30_000,
    );
    expect(expired).toMatchObject({ status: 'timed_out', workerId: null });
    expect(
      messages()
        .slice(before)
        .map((r) => r.body?.model),
    ).toEqual(['claude-sonnet-4-5']);
  });
});
