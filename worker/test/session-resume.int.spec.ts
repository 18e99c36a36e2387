/*
 * A follow-up task resumes the agent CLI's session of the attempt that made its branch: the
 * compiled agent, a real nats-server, real git, the machine's isolation (bubblewrap as root here:
 * each attempt runs as a uid of its own, with its own HOME and tool home), and the real `claude`
 * and `codex` CLIs against the local stand-ins of their vendors' APIs. A bare repository under
 * `--repo-root` stands in for the remote.
 *
 * Proof of a resume: the follow-up's request to the stand-in carries the first task's prompt and
 * answer, though the follow-up ran in another worktree with a fresh tool home. A resume whose
 * session is not kept (another id, no agent branch, the kept worktree swept) fails saying so,
 * before any model call.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Assignment } from '@agentyard/contracts';
import {
  lastUserText,
  responsesUserTexts,
  startAnthropicStandIn,
  startResponsesStandIn,
  userTexts,
  type AnthropicStandIn,
  type ResponsesStandIn,
} from '@agentyard/local-infra';
import { AgentHarness, eventually, shellTask, type StartedWorker } from './agent-harness';

jest.setTimeout(120_000);

const binDir = resolve(__dirname, '../../node_modules/.bin');
const harness = new AgentHarness({ ...process.env });
const owner = 'owner-1';
const firstPrompt = 'FIRST: remember the word pelican.';
const firstAnswer = 'I will remember pelican.';
const secondPrompt = 'SECOND: which word did I ask you to remember?';
let remote: string;
let roots: string;
let anthropic: AnthropicStandIn;
let responses: ResponsesStandIn;

const git = (args: string[], cwd?: string): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();

beforeAll(async () => {
  await harness.setUp();
  roots = harness.tempDir();
  const seed = join(roots, 'seed');
  mkdirSync(seed);
  git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), 'hello\n');
  git(['add', '.'], seed);
  git(['commit', '-q', '-m', 'first'], seed);
  remote = join(roots, 'project.git');
  git(['clone', '-q', '--bare', seed, remote]);
  anthropic = await startAnthropicStandIn((request) => ({
    content: [{ type: 'text', text: lastUserText(request).startsWith('SECOND') ? 'pelican' : firstAnswer }],
    usage: { input_tokens: 20, output_tokens: 5 },
  }));
  responses = await startResponsesStandIn([
    { kind: 'text', text: firstAnswer, usage: { inputTokens: 20, cachedTokens: 0, outputTokens: 5, reasoningTokens: 0 } },
  ]);
});
afterAll(async () => {
  await harness.tearDown();
  await anthropic?.close();
  await responses?.close();
});
afterEach(() => expect(harness.observer.invalid).toEqual([]));

function startWorker(args: string[] = []): Promise<StartedWorker> {
  return harness.startWorker(['--repo-root', roots, ...args], {
    env: {
      PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      ANTHROPIC_API_KEY: 'sk-ant-standin',
      ANTHROPIC_BASE_URL: anthropic.url,
      OPENAI_API_KEY: 'sk-standin',
      OPENAI_BASE_URL: responses.url,
    },
  });
}

function promptTask(tool: 'claude-code' | 'codex', prompt: string, extra: { ref?: string; resumeSession?: string } = {}): Assignment {
  const task = shellTask('', { ownerId: owner });
  return {
    ...task,
    tool,
    input: {
      prompt,
      ...(extra.resumeSession ? { resumeSession: extra.resumeSession } : {}),
      workspace: { repo: remote, ...(extra.ref ? { ref: extra.ref } : {}) },
    },
  };
}

async function run(worker: StartedWorker, task: Assignment) {
  await harness.order(worker.workerId, task);
  return harness.observer.finished(task.taskId, 1, 90_000);
}

const branchOf = (task: Assignment): string => `agentyard/${task.taskId}-1`;

describe('Resuming an agent CLI’s session in a follow-up task', () => {
  let worker: StartedWorker;
  beforeAll(async () => {
    // Slots to spare: a follow-up may start while the previous attempt's worktree is still being kept (it waits for that).
    worker = await startWorker(['--slots', '3']);
  });

  describe('with claude-code', () => {
    let first: Assignment;
    let sessionId: string;

    beforeAll(async () => {
      first = promptTask('claude-code', firstPrompt);
      const done = await run(worker, first);
      expect(done.outcome).toBe('succeeded');
      sessionId = done.result.usage!.sessionId!;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('keeps the session with the attempt’s kept worktree, and no config or credentials of the CLI', async () => {
      const kept = join(worker.stateDir, 'worktrees', `${first.taskId}-1`);
      await eventually('the kept session', () => (existsSync(join(kept, 'sessions', 'claude-code', `${sessionId}.jsonl`)) ? true : undefined));
      expect(existsSync(join(kept, 'repo', 'README.md'))).toBe(true);
      expect(readdirSync(join(kept, 'sessions', 'claude-code'))).toContain(`${sessionId}.jsonl`);
      expect(existsSync(join(kept, 'sessions', 'claude-code', '.claude.json'))).toBe(false);
    });

    it('resumes it on the first task’s branch: the stand-in gets the earlier conversation with the new prompt', async () => {
      const before = anthropic.requests.length;
      const next = promptTask('claude-code', secondPrompt, { ref: branchOf(first), resumeSession: sessionId });
      const done = await run(worker, next);
      expect({ outcome: done.outcome, error: done.result.error }).toEqual({ outcome: 'succeeded', error: undefined });
      expect(done.result.summary).toBe('pelican');
      expect(done.result.usage?.sessionId).toBe(sessionId);
      const resumed = anthropic.requests.slice(before).find((r) => r.method === 'POST' && userTexts(r.body!).includes(secondPrompt));
      expect(resumed).toBeDefined();
      expect(userTexts(resumed!.body!)).toContain(firstPrompt);
      expect(JSON.stringify(resumed!.body!.messages)).toContain(firstAnswer);
      // Its own session is kept in turn: a third task could go on from the second's branch.
      const kept = join(worker.stateDir, 'worktrees', `${next.taskId}-1`, 'sessions', 'claude-code', `${sessionId}.jsonl`);
      await eventually('the follow-up’s kept session', () => (existsSync(kept) ? true : undefined));
    });

    it('fails a resume of a session the branch’s attempt did not keep, naming what is kept, before any model call', async () => {
      const before = anthropic.requests.filter((r) => r.method === 'POST').length;
      const missing = '30410da0-ce53-4950-a8e3-0d7a1f62ecf8';
      const done = await run(worker, promptTask('claude-code', secondPrompt, { ref: branchOf(first), resumeSession: missing }));
      expect(done.outcome).toBe('failed');
      expect(done.result.error).toBe(
        `cannot resume claude-code session ${missing} from ${branchOf(first)}: no claude-code session ${missing} was kept with it (kept: ${sessionId})`,
      );
      expect(anthropic.requests.filter((r) => r.method === 'POST').length).toBe(before);
    });

    it('fails a resume without the branch of the attempt that made the session, saying to continue that branch', async () => {
      const task = promptTask('claude-code', secondPrompt, { resumeSession: sessionId });
      const done = await run(worker, task);
      expect(done.outcome).toBe('failed');
      expect(done.result.error).toBe(
        `resumeSession ${sessionId}: claude-code keeps a session with the attempt that made it; continue that attempt's branch (workspace.ref agentyard/<task>-<attempt>) to resume it`,
      );
    });
  });

  describe('with codex', () => {
    it('keeps the session with the worktree and resumes it on the branch: the stand-in gets the earlier turn', async () => {
      const first = promptTask('codex', firstPrompt);
      const done = await run(worker, first);
      expect({ outcome: done.outcome, error: done.result.error }).toEqual({ outcome: 'succeeded', error: undefined });
      const sessionId = done.result.usage!.sessionId!;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      // Only its rollout is kept: not codex's config, databases or skills.
      const kept = join(worker.stateDir, 'worktrees', `${first.taskId}-1`, 'sessions', 'codex');
      // The directory appears before the rollout is copied into it: wait for a file, not the directory.
      const listFiles = () => (existsSync(kept) ? readdirSync(kept, { recursive: true, withFileTypes: true }).filter((entry) => !entry.isDirectory()) : []);
      await eventually('the kept codex session', () => (listFiles().length > 0 ? true : undefined));
      const files = listFiles();
      expect(files.map((entry) => entry.name)).toEqual([expect.stringMatching(new RegExp(`^rollout-.+-${sessionId}\\.jsonl$`))]);

      const before = responses.requests.length;
      const next = promptTask('codex', secondPrompt, { ref: branchOf(first), resumeSession: sessionId });
      const resumed = await run(worker, next);
      expect({ outcome: resumed.outcome, error: resumed.result.error }).toEqual({ outcome: 'succeeded', error: undefined });
      expect(resumed.result.usage?.sessionId).toBe(sessionId);
      const request = responses.requests.slice(before).find((r) => r.method === 'POST' && responsesUserTexts(r).includes(secondPrompt));
      expect(request).toBeDefined();
      expect(responsesUserTexts(request!)).toContain(firstPrompt);
      expect(JSON.stringify(request!.body)).toContain(firstAnswer);
    });
  });
});

describe('Resuming after the kept worktree was removed', () => {
  it('fails saying nothing of that attempt is kept any more, before any model call', async () => {
    const worker = await startWorker(['--worktree-retention', '1s']);
    const first = promptTask('claude-code', firstPrompt);
    const done = await run(worker, first);
    expect(done.outcome).toBe('succeeded');
    const sessionId = done.result.usage!.sessionId!;
    await eventually(
      'the first worktree’s removal',
      () => (worker.agent.log().includes(`removed the worktree of ${first.taskId}:1`) ? true : undefined),
      15_000,
    );

    const before = anthropic.requests.filter((r) => r.method === 'POST').length;
    const resumed = await run(worker, promptTask('claude-code', secondPrompt, { ref: branchOf(first), resumeSession: sessionId }));
    expect(resumed.outcome).toBe('failed');
    expect(resumed.result.error).toBe(
      `cannot resume claude-code session ${sessionId} from ${branchOf(first)}: nothing of that attempt is kept on this worker (a finished attempt's worktree and sessions are removed after --worktree-retention or over --worktree-disk-budget)`,
    );
    expect(anthropic.requests.filter((r) => r.method === 'POST').length).toBe(before);
  });
});
