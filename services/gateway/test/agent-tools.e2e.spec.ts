/*
 * The agent CLIs through the whole platform: the same prompt for claude-code, gemini-cli and codex goes
 * from the API through allocation to a real worker agent (as root, so each attempt runs in the
 * agent's bubblewrap sandbox under a task uid), which runs the REAL CLI from node_modules in edit
 * mode against a local stand-in of its vendor's API, in a git worktree of a repository (a local
 * bare one under the worker's --repo-root stands in for a remote). Each task's edit ends as a
 * commit on its own branch, pushed, with its diff and full log downloadable by the owner only —
 * three tools, three worktrees, three diffs. The task's result carries the usage the
 * stand-in reported and the CLI's final answer; the owner's usage report sums them; nobody
 * else's does. The owner's open dashboard sees claude's transcript live (its tool call and its
 * text, with the output they came in); another user's sees nothing of it. (Each adapter's parsing is tested in depth in worker/test/*.int.spec.ts; the
 * stand-ins live in services/libs/local-infra/src/stand-ins.)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TaskView, UsageReport, WorkerView } from '@agentyard/contracts';
import {
  functionResponses,
  startAnthropicStandIn,
  startGeminiStandIn,
  startPlatform,
  startResponsesStandIn,
  toolOutputs,
  toolResults,
  writeFileCall,
  type AnthropicStandIn,
  type GeminiStandIn,
  type MessagesRequest,
  type Platform,
  type ResponsesStandIn,
} from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';
import { LiveSocket } from './support/live-socket';

jest.setTimeout(120_000);

const binDir = resolve(__dirname, '../../../node_modules/.bin');
let platform: Platform;
let alice: { client: ApiClient; userId: string; token: string };
let bob: { client: ApiClient; userId: string; token: string };
let anthropic: AnthropicStandIn;
let gemini: GeminiStandIn;
let openai: ResponsesStandIn;
const sockets: { alice?: LiveSocket; bob?: LiveSocket } = {};
let scratch: string;
let remote: string;
/** The same prompt for every CLI (their stand-ins decide what each edits). */
const prompt = 'Add a greeting file to the repository';
const git = (args: string[], cwd?: string): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();

/** A repository for the workspaces: a bare one under the worker's --repo-root, with one commit on main. */
function makeRemote(): void {
  scratch = mkdtempSync(join(tmpdir(), 'ay-agent-repos-'));
  const seed = join(scratch, 'seed');
  mkdirSync(seed);
  git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), '# project\n');
  git(['add', '.'], seed);
  git(['commit', '-q', '-m', 'start'], seed);
  mkdirSync(join(scratch, 'repos'));
  remote = join(scratch, 'repos', 'project.git');
  git(['clone', '-q', '--bare', seed, remote]);
}

/**
 * A workspace task's worktree change, as the owner downloads it: the result's workspace, the
 * diff adding `file` with `content`, the branch pushed to the remote at the agent's commit; the
 * full log stored; another user gets 404s.
 */
async function expectDiffOf(done: TaskView, file: string, content: string): Promise<string> {
  expect(done.result?.workspace).toMatchObject({ repo: remote, baseRef: 'main', filesChanged: 1, insertions: 1, deletions: 0, pushed: true });
  const { branch, commit } = done.result!.workspace!;
  expect(branch).toBe(`agentyard/${done.id}-1`);
  expect(git(['rev-parse', `refs/heads/${branch}`], remote)).toBe(commit);
  const names = done.result?.artifacts?.map((a) => a.name).sort();
  expect(names).toEqual(['diff.patch', 'diff.stat', 'log']);
  const patch = await alice.client.download(`/api/v1/tasks/${done.id}/artifacts/diff.patch`);
  expect(patch.status).toBe(200);
  expect(patch.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  const text = patch.bytes.toString('utf8');
  expect(text).toContain(`+++ b/${file}`);
  expect(text).toContain(`+${content}`);
  const log = await alice.client.download(`/api/v1/tasks/${done.id}/logs`);
  expect(log.status).toBe(200);
  expect(log.bytes.length).toBe(done.result!.artifacts!.find((a) => a.name === 'log')!.bytes);
  for (const path of [`/api/v1/tasks/${done.id}/artifacts/diff.patch`, `/api/v1/tasks/${done.id}/logs`]) {
    expect((await bob.client.download(path)).status).toBe(404);
  }
  return text;
}

/** Claude Code names its working directory in its prompt; the Write tool wants an absolute path. */
function workingDirectory(request: MessagesRequest): string {
  const text = JSON.stringify([request.system, request.messages]);
  const match = /[Ww]orking directory: ([^\s"\\]+)/.exec(text);
  if (!match) throw new Error('the request names no working directory');
  return match[1]!;
}

const taskIn = (client: ApiClient, id: string, statuses: string[]) =>
  eventually(
    `task ${id} to reach ${statuses.join('/')}`,
    async () => {
      const res = await client.get<TaskView>(`/api/v1/tasks/${id}`);
      return statuses.includes(res.body.status) ? res.body : undefined;
    },
    90_000,
  );

async function agentTask(tool: string): Promise<TaskView> {
  const res = await alice.client.post<TaskView>('/api/v1/tasks', {
    description: `${tool} edits`,
    tool,
    input: { prompt, permissionMode: 'edit', workspace: { repo: remote, ref: 'main', push: true } },
    maxAttempts: 1,
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return taskIn(alice.client, res.body.id, ['succeeded', 'failed', 'timed_out', 'cancelled']);
}

beforeAll(async () => {
  anthropic = await startAnthropicStandIn((request) => {
    const isMainLoop = request.tools?.some((t) => t.name === 'Write') ?? false;
    if (!isMainLoop) return { content: [{ type: 'text', text: 'side answer' }], usage: { input_tokens: 11, output_tokens: 3 } };
    // The token-cap task: a Read on every turn, for thirty turns, unless stopped.
    if (JSON.stringify(request.messages).includes(loopMarker)) {
      const turn = toolResults(request).length;
      if (turn >= 30) return { content: [{ type: 'text', text: 'Read it all.' }], usage: { input_tokens: 100, output_tokens: 10 } };
      return {
        content: [{ type: 'tool_use', id: `toolu_r${turn}`, name: 'Read', input: { file_path: `${workingDirectory(request)}/notes-${turn}.txt` } }],
        usage: { input_tokens: 100, output_tokens: 10 },
      };
    }
    if (toolResults(request).length === 0)
      return {
        content: [
          { type: 'tool_use', id: 'toolu_w', name: 'Write', input: { file_path: `${workingDirectory(request)}/hello.txt`, content: 'hi from claude\n' } },
        ],
        usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 7 },
      };
    return { content: [{ type: 'text', text: 'Wrote hello.txt.' }], usage: { input_tokens: 130, output_tokens: 9 } };
  });
  gemini = await startGeminiStandIn({
    turns: [
      (request) => ({
        parts: [writeFileCall(request, 'notes.txt', 'hi from gemini\n')],
        usage: { promptTokenCount: 200, candidatesTokenCount: 10 },
      }),
      { parts: [{ text: 'Wrote notes.txt.' }], usage: { promptTokenCount: 240, candidatesTokenCount: 6 } },
    ],
  });
  openai = await startResponsesStandIn([
    {
      kind: 'patch',
      patch: '*** Begin Patch\n*** Add File: codex.txt\n+hi from codex\n*** End Patch\n',
      usage: { inputTokens: 1000, cachedTokens: 200, outputTokens: 30, reasoningTokens: 0 },
    },
    { kind: 'text', text: 'Added codex.txt.', usage: { inputTokens: 1100, cachedTokens: 900, outputTokens: 12, reasoningTokens: 0 } },
  ]);
  makeRemote();
  platform = await startPlatform();
  const api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  bob = await api.signUp('bob');
  const token = await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 });
  platform.startWorker({
    token: token.body.token,
    name: 'agents',
    slots: 3,
    extraArgs: ['--repo-root', join(scratch, 'repos')],
    env: {
      PATH: `${binDir}:${process.env.PATH ?? ''}`,
      ANTHROPIC_API_KEY: 'sk-ant-stand-in',
      ANTHROPIC_BASE_URL: anthropic.url,
      GEMINI_API_KEY: 'gemini-stand-in',
      GOOGLE_GEMINI_BASE_URL: gemini.url,
      OPENAI_API_KEY: 'sk-openai-stand-in',
      OPENAI_BASE_URL: openai.url,
    },
  });
  const worker = await eventually('the agent worker online', async () => {
    const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
    return res.body.items.find((w) => w.name === 'agents' && w.status === 'online');
  });
  expect(worker.tools).toEqual(
    expect.arrayContaining([
      // Each one's key checked against its stand-in's models list (tool-health.ts).
      { name: 'claude-code', version: '2.1.197', health: 'healthy', auth: 'ok' },
      { name: 'gemini-cli', version: '0.61.0', health: 'healthy', auth: 'ok' },
      { name: 'codex', version: '0.171.0', health: 'healthy', auth: 'ok' },
    ]),
  );
}, 180_000);

afterAll(async () => {
  sockets.alice?.close();
  sockets.bob?.close();
  await platform?.stop();
  await Promise.all([anthropic?.close(), gemini?.close(), openai?.close()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const diffs = new Map<string, string>();
/** In the prompt of the token-cap task: the stand-in answers it with a Read per turn. */
const loopMarker = 'LOOP-UNTIL-STOPPED';

describe('Agent tools on a real worker', () => {
  it('claude-code edits in its sandbox and reports the usage and cost the API reported, and its answer', async () => {
    sockets.alice = await LiveSocket.open(platform.url, alice.token);
    sockets.bob = await LiveSocket.open(platform.url, bob.token);
    const done = await agentTask('claude-code');
    expect(done.status).toBe('succeeded');
    diffs.set('claude-code', await expectDiffOf(done, 'hello.txt', 'hi from claude'));
    const write = anthropic.requests.flatMap((r) => (r.body ? toolResults(r.body) : [])).find((r) => r.tool_use_id === 'toolu_w');
    expect(write?.is_error ?? false).toBe(false);
    const served = anthropic.answers.reduce(
      (sum, { answer }) => ({
        inputTokens: sum.inputTokens + answer.usage.input_tokens + (answer.usage.cache_creation_input_tokens ?? 0),
        outputTokens: sum.outputTokens + answer.usage.output_tokens,
      }),
      { inputTokens: 0, outputTokens: 0 },
    );
    expect(done.result?.usage).toMatchObject({ ...served, cachedInputTokens: 7 });
    expect(done.result?.usage?.costUsd).toBeGreaterThan(0);
    expect(done.result?.usage?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.result?.summary).toBe('Wrote hello.txt.');

    // Its transcript reached the owner's socket live, in order, with the output it came in.
    const transcript = await eventually('the final answer in the transcript', async () => {
      const events = sockets
        .alice!.output.filter((c) => c.taskId === done.id)
        .sort((a, b) => a.seq - b.seq)
        .flatMap((c) => c.events ?? []);
      return events.some((e) => e.kind === 'result') ? events : undefined;
    });
    const call = transcript.findIndex((e) => e.kind === 'tool_call' && e.name === 'Write');
    const said = transcript.findIndex((e) => e.kind === 'text' && e.text === 'Wrote hello.txt.');
    expect(transcript[call]).toMatchObject({ kind: 'tool_call', id: 'toolu_w', input: expect.stringContaining('hello.txt') });
    expect(transcript.slice(call + 1).some((e) => e.kind === 'tool_result' && e.id === 'toolu_w' && !e.isError)).toBe(true);
    expect(said).toBeGreaterThan(call);
    expect(transcript.at(-1)).toEqual({ kind: 'result', summary: 'Wrote hello.txt.', isError: false });
    expect(sockets.bob!.output.filter((c) => c.taskId === done.id)).toEqual([]);
  });

  it('gemini-cli writes its file and reports every call it made (the model router too)', async () => {
    const done = await agentTask('gemini-cli');
    expect(done.status).toBe('succeeded');
    diffs.set('gemini-cli', await expectDiffOf(done, 'notes.txt', 'hi from gemini'));
    expect(functionResponses(gemini.requests.at(-1)!).some((r) => r.name === 'write_file' && !JSON.stringify(r.response).includes('error'))).toBe(true);
    const served = gemini.served.reduce(
      (sum, s) => ({ inputTokens: sum.inputTokens + s.usage.promptTokenCount, outputTokens: sum.outputTokens + s.usage.candidatesTokenCount }),
      {
        inputTokens: 0,
        outputTokens: 0,
      },
    );
    expect(done.result?.usage).toMatchObject({ ...served, costUsd: null });
    expect(done.result?.summary).toContain('Wrote notes.txt.');
  });

  it('codex applies its patch inside the agent sandbox and reports the tokens of both turns', async () => {
    const done = await agentTask('codex');
    expect(done.status).toBe('succeeded');
    diffs.set('codex', await expectDiffOf(done, 'codex.txt', 'hi from codex'));
    expect(toolOutputs(openai.requests.at(-1)!).join('\n')).not.toMatch(/sandbox|denied|failed/i);
    expect(done.result?.usage).toMatchObject({ inputTokens: 2100, cachedInputTokens: 1100, outputTokens: 42, costUsd: null });
    expect(done.result?.summary).toBe('Added codex.txt.');
  });

  it('gave the same prompt on three tools three worktrees, three branches and three different diffs', () => {
    expect([...diffs.keys()].sort()).toEqual(['claude-code', 'codex', 'gemini-cli']);
    expect(new Set(diffs.values()).size).toBe(3);
    const branches = git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/agentyard/'], remote).split('\n');
    expect(branches).toHaveLength(3);
  });

  it('sums the owner’s usage per day and tool, and shows none of it to another user', async () => {
    const report = await eventually('three agent tasks counted', async () => {
      const res = await alice.client.get<UsageReport>('/api/v1/usage');
      return res.body.total.tasks === 3 ? res.body : undefined;
    });
    expect(report.days.map((d) => d.tool).sort()).toEqual(['claude-code', 'codex', 'gemini-cli']);
    expect(report.total.costUnknownTasks).toBe(2);
    expect((await bob.client.get<UsageReport>('/api/v1/usage')).body.total.tasks).toBe(0);
    expect((await alice.client.get('/api/v1/usage?from=2026-02-30')).status).toBe(400);
  });

  it('stops claude-code at the task’s cost cap and ends the task budget_exceeded, its spend recorded', async () => {
    const writesAnswered = () => anthropic.requests.filter((r) => r.body && toolResults(r.body).some((t) => t.tool_use_id === 'toolu_w')).length;
    const before = writesAnswered();
    const res = await alice.client.post<TaskView>('/api/v1/tasks', {
      description: 'capped',
      tool: 'claude-code',
      // The stand-in's first answer costs about $0.003 on the CLI's price list: past this cap at once.
      input: { prompt: 'Write hello.txt', permissionMode: 'edit', maxCostUsd: 0.0001 },
      maxAttempts: 1,
    });
    expect(res.status).toBe(201);
    const done = await taskIn(alice.client, res.body.id, ['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded']);
    expect(done.status).toBe('budget_exceeded');
    expect(done.result?.error).toMatch(/^budget_exceeded: error_max_budget_usd: Reached maximum budget \(\$0\.0001\)/);
    expect(done.result?.usage?.costUsd).toBeGreaterThan(0.0001);
    // The CLI stopped after the call that crossed the cap: the Write it asked for was never run and answered back.
    expect(writesAnswered()).toBe(before);
    // A tool with no cap of its own refuses one rather than ignore it.
    const gemini = await alice.client.post('/api/v1/tasks', { description: 'x', tool: 'gemini-cli', input: { prompt: 'p', maxCostUsd: 1 } });
    expect(gemini.status).toBe(400);
    expect(JSON.stringify(gemini.body)).toContain('maxCostUsd');
  });

  it('stops claude-code mid-run once its tokens pass the task’s cap: budget_exceeded, the usage so far recorded, no more calls', async () => {
    // The main loop's calls (the CLI's side calls carry the prompt too, but not its tools).
    const loopCalls = () =>
      anthropic.requests.filter((r) => r.body?.tools?.some((t) => t.name === 'Write') && JSON.stringify(r.body.messages).includes(loopMarker)).length;
    const res = await alice.client.post<TaskView>('/api/v1/tasks', {
      description: 'token-capped',
      tool: 'claude-code',
      // Each scripted turn is 100 input tokens and 10 output: the cap is passed on the fourth of thirty.
      input: { prompt: `Keep reading ${loopMarker}`, budget: { maxTokens: 350 } },
      maxAttempts: 1,
    });
    expect(res.status).toBe(201);
    const done = await taskIn(alice.client, res.body.id, ['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded']);
    expect(done.status).toBe('budget_exceeded');
    expect(done.result?.error).toMatch(/^budget_exceeded: [\d,]+ tokens used, cap 350$/);
    // The usage streamed before the stop is the task's (the CLI never printed its result).
    expect(done.result?.usage?.inputTokens).toBeGreaterThan(350);
    const calls = loopCalls();
    expect(calls).toBeGreaterThanOrEqual(4);
    // Stopped well before its thirty turns. The stand-in answers at once, so between the turn that
    // passed the cap and the interrupt landing a loaded machine lets the CLI make a few more (9 seen
    // in a full run beside other suites); the bound is on "stopped mid-run", not on the latency.
    expect(calls).toBeLessThan(20);
    // The process tree is gone: nothing calls the API for it any more.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(loopCalls()).toBe(calls);
  });

  it('refuses a budget that is not a positive number, naming the field', async () => {
    for (const [budget, message] of [
      [{ maxTokens: 0 }, 'budget.maxTokens must be more than 0'],
      [{ maxCostUsd: -1 }, 'budget.maxCostUsd must be more than 0'],
      [{ maxTokens: 'lots' }, 'budget.maxTokens must be a number of tokens'],
    ] as const) {
      const bad = await alice.client.post('/api/v1/tasks', { description: 'x', tool: 'codex', input: { prompt: 'p', budget } });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain(message);
    }
  });
});
