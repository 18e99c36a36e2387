/*
 * Worktree retention and the disk budget with the compiled agent, a real nats-server, real git
 * and the machine's isolation (bubblewrap as root here: tasks run as a uid of their own). A bare
 * repository under `--repo-root` stands in for the remote.
 *
 * - With a 1 s retention a finished task's worktree is removed by itself (no further task needed:
 *   the next sweep is timed to the expiry) while its branch stays in the mirror, and a follow-up
 *   task continues on that branch.
 * - With a 1500 KiB budget the oldest finished worktree goes first, and a running task's worktree
 *   is never removed, also when it alone exceeds the budget; that task then succeeds with its
 *   changes committed, and its worktree goes once it has finished.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Assignment } from '@agentyard/contracts';
import { mirrorName } from '../src/workspace/workspace-rules';
import { AgentHarness, eventually, shellTask, type StartedWorker } from './agent-harness';

jest.setTimeout(120_000);

const harness = new AgentHarness({ ...process.env });
let remote: string;
let roots: string;
const owner = 'owner-1';

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
});
afterAll(() => harness.tearDown());
afterEach(() => expect(harness.observer.invalid).toEqual([]));

function workspaceTask(command: string, ref?: string): Assignment {
  const task = shellTask(command, { ownerId: owner });
  task.input = { command, workspace: { repo: remote, ...(ref ? { ref } : {}) } };
  return task;
}

async function run(worker: StartedWorker, task: Assignment) {
  await harness.order(worker.workerId, task);
  const finished = await harness.observer.finished(task.taskId, 1, 60_000);
  expect(finished.outcome).toBe('succeeded');
  return finished;
}

const keptDir = (worker: StartedWorker, task: Assignment): string => join(worker.stateDir, 'worktrees', `${task.taskId}-1`);
const workTree = (worker: StartedWorker, task: Assignment): string => join(worker.stateDir, 'work', `${task.taskId}-1`, 'repo');
const mirrorOf = (worker: StartedWorker): string => join(worker.stateDir, 'repos', mirrorName(owner, remote));
const removalLine = (task: Assignment): RegExp => new RegExp(`removed the worktree of ${task.taskId}:1 \\([^)]*\\): (.*)`);

describe('Worktree retention', () => {
  it('refuses to start with a retention or budget that is not positive or not readable, naming the flag', async () => {
    const agent = harness.start(['--state-dir', harness.tempDir(), '--worktree-retention', '0', '--worktree-disk-budget', '10X']);
    expect(await agent.exited).toBe(2);
    expect(agent.log()).toContain('--worktree-retention: must be positive, got "0"');
    expect(agent.log()).toContain('--worktree-disk-budget: "10X" is not a size (e.g. 500M, 10G or 1T)');
  });

  it('removes a finished task’s worktree after the retention while its branch stays, and a follow-up continues on that branch', async () => {
    const worker = await harness.startWorker(['--repo-root', roots, '--worktree-retention', '1s']);
    const first = workspaceTask('echo step-one > notes.md');
    const done = await run(worker, first);
    const commit = done.result.workspace?.commit;
    expect(commit).toMatch(/^[0-9a-f]{40}$/);

    const reason = await eventually('the first worktree’s removal', () => removalLine(first).exec(worker.agent.log())?.[1], 15_000);
    expect(reason).toBe('kept longer than the retention (1 s)');
    expect(existsSync(keptDir(worker, first))).toBe(false);
    expect(existsSync(join(worker.stateDir, 'work', `${first.taskId}-1`))).toBe(false);
    expect(git(['worktree', 'list', '--porcelain'], mirrorOf(worker))).not.toContain(first.taskId);
    expect(git(['rev-parse', `refs/heads/agentyard/${first.taskId}-1`], mirrorOf(worker))).toBe(commit);

    const next = workspaceTask('cat notes.md && echo step-two >> notes.md', `agentyard/${first.taskId}-1`);
    const continued = await run(worker, next);
    expect(continued.result.outputTail).toContain('step-one');
    expect(continued.result.workspace).toMatchObject({ baseRef: `agentyard/${first.taskId}-1`, baseCommit: commit, filesChanged: 1 });
    expect(git(['show', `agentyard/${next.taskId}-1:notes.md`], mirrorOf(worker))).toBe('step-one\nstep-two');
  });

  it('over the disk budget removes the oldest finished worktree first and never the worktree of a running task', async () => {
    const worker = await harness.startWorker(['--repo-root', roots, '--worktree-disk-budget', '1500K', '--slots', '3']);
    // Runs until told: grows by 2 MiB when `go` appears, ends when `finish` does.
    const running = workspaceTask(
      'while [ ! -e go ]; do sleep 0.1; done; head -c 2097152 /dev/zero > grown.bin; touch grown; while [ ! -e finish ]; do sleep 0.1; done; echo running-done',
    );
    running.timeoutSeconds = 110;
    await harness.order(worker.workerId, running);
    const runningTree = workTree(worker, running);
    await eventually('the running task’s worktree', () => (existsSync(join(runningTree, 'README.md')) ? true : undefined), 30_000);

    const megabyte = 'head -c 1048576 /dev/zero > data.bin';
    const older = workspaceTask(megabyte);
    await run(worker, older);
    // Kept and measured (1 MiB and a little, under the budget with the running one).
    const measured = await eventually(
      'the older worktree’s size',
      () => {
        const path = join(keptDir(worker, older), 'kept.json');
        return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { sizeBytes?: number }).sizeBytes : undefined;
      },
      15_000,
    );
    expect(measured).toBeGreaterThanOrEqual(1024 * 1024);

    const newer = workspaceTask(megabyte);
    await run(worker, newer);
    const olderReason = await eventually('the older worktree’s removal', () => removalLine(older).exec(worker.agent.log())?.[1], 15_000);
    expect(olderReason).toMatch(/over the 1\.5 MiB disk budget \(oldest finished first\)$/);
    expect(existsSync(keptDir(worker, older))).toBe(false);
    expect(existsSync(join(keptDir(worker, newer), 'repo', 'data.bin'))).toBe(true);
    expect(existsSync(join(runningTree, 'README.md'))).toBe(true);

    // The running task alone goes over the budget; a task ending forces a sweep.
    writeFileSync(join(runningTree, 'go'), '');
    await eventually('the running task’s growth', () => (existsSync(join(runningTree, 'grown')) ? true : undefined), 30_000);
    const small = workspaceTask('echo small > small.txt');
    await run(worker, small);
    await eventually('the newer worktree’s removal', () => removalLine(newer).exec(worker.agent.log())?.[1], 15_000);
    await eventually('the small worktree’s removal', () => removalLine(small).exec(worker.agent.log())?.[1], 15_000);
    await eventually('the over-budget warning', () =>
      worker.agent.log().includes('belongs to running tasks: nothing more can be removed') ? true : undefined,
    );
    expect(worker.agent.log()).not.toMatch(removalLine(running));
    expect(readFileSync(join(runningTree, 'grown.bin')).length).toBe(2 * 1024 * 1024);

    writeFileSync(join(runningTree, 'finish'), '');
    const done = await harness.observer.finished(running.taskId, 1, 60_000);
    expect(done.outcome).toBe('succeeded');
    expect(done.result.outputTail).toContain('running-done');
    expect(done.result.workspace?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(git(['show', '--stat', '--format=', `agentyard/${running.taskId}-1`], mirrorOf(worker))).toContain('grown.bin');
    // Finished, it is no longer protected: alone over the budget, it goes too.
    await eventually('the finished task’s removal', () => removalLine(running).exec(worker.agent.log())?.[1], 15_000);
  });
});
