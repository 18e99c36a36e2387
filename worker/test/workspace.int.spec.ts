/*
 * Workspaces on real git: a bare repository under an allowed root stands in for a remote. An
 * attempt gets a worktree on its own branch from the task's ref; what the task changed is
 * committed by the agent, diffed and pushed; a follow-up continues on that branch; bad input
 * (a repository outside the roots, through a symlink, unknown; an unknown ref) is a clear error
 * with nothing left behind; and a worktree the task tampered with cannot make the agent run a
 * program of its choosing nor commit files from outside the worktree. Finished worktrees are kept
 * (moved beside a record, still registered with git), then removed after the retention or over the
 * budget, oldest first, never a running one, and never by following a link the task left.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../src/logging/logger';
import { WorkspaceManager } from '../src/workspace/workspace-manager';
import type { KeptRecord } from '../src/workspace/worktree-retention';
import { WorkspaceError } from '../src/workspace/workspace-rules';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

const sh = (args: string[], cwd?: string): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();

let base: string;
let roots: string;
let remote: string;
let stateDir: string;
let manager: WorkspaceManager;
let attemptNo = 0;

/** A fresh attempt directory, as the isolation makes it (the worktree path inside must not exist). */
function attemptPath(): string {
  attemptNo += 1;
  const dir = join(stateDir, 'work', `t${attemptNo}-1`);
  mkdirSync(dir, { recursive: true });
  return join(dir, 'repo');
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'ay-workspace-'));
  roots = join(base, 'repos');
  stateDir = join(base, 'state');
  mkdirSync(roots);
  const seed = join(base, 'seed');
  mkdirSync(seed);
  sh(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), 'hello\n');
  writeFileSync(join(seed, 'app.txt'), 'one\ntwo\nthree\n');
  sh(['add', '.'], seed);
  sh(['commit', '-q', '-m', 'first'], seed);
  sh(['tag', 'v1'], seed);
  writeFileSync(join(seed, 'app.txt'), 'one\ntwo\nthree\nfour\n');
  sh(['commit', '-q', '-am', 'second'], seed);
  remote = join(roots, 'project.git');
  sh(['clone', '-q', '--bare', seed, remote]);
  manager = new WorkspaceManager(stateDir, [roots], quiet);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('A workspace', () => {
  it('checks out the remote HEAD on the attempt’s branch, commits the task’s changes, records the diff and pushes the branch', async () => {
    const path = attemptPath();
    const checkout = await manager.checkout({ taskId: 'task-a', attempt: 1, ownerId: 'u1' }, { repo: remote, push: true }, path);
    expect(checkout.branch).toBe('agentyard/task-a-1');
    expect(readFileSync(join(path, 'app.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\n');
    expect(checkout.baseCommit).toBe(sh(['rev-parse', 'main'], remote));

    writeFileSync(join(path, 'app.txt'), 'one\n2\nthree\nfour\n');
    writeFileSync(join(path, 'new.txt'), 'brand new\n');
    const done = await manager.finish(checkout, { taskId: 'task-a', attempt: 1 }, true);

    expect(done.result).toMatchObject({ branch: 'agentyard/task-a-1', filesChanged: 2, insertions: 2, deletions: 1, pushed: true, baseRef: 'HEAD' });
    expect(done.result.error).toBeUndefined();
    expect(done.result.commit).toMatch(/^[0-9a-f]{40}$/);
    const patch = done.patch.toString('utf8');
    expect(patch).toContain('+++ b/new.txt');
    expect(patch).toContain('-two');
    expect(patch).toContain('+2');
    expect(done.stat).toContain('2 files changed');
    // The remote has the branch, at the agent's commit, whose parent is the base.
    expect(sh(['rev-parse', 'refs/heads/agentyard/task-a-1'], remote)).toBe(done.result.commit);
    expect(sh(['rev-parse', `${done.result.commit}^`], remote)).toBe(checkout.baseCommit);
    await manager.release(checkout);
    expect(existsSync(path)).toBe(false);
  });

  it('lets a follow-up continue on an earlier attempt’s branch, also when it was not pushed, and starts from a tag', async () => {
    const first = await manager.checkout({ taskId: 'task-b', attempt: 1, ownerId: 'u1' }, { repo: remote }, attemptPath());
    writeFileSync(join(first.path, 'notes.md'), 'step 1\n');
    const one = await manager.finish(first, { taskId: 'task-b', attempt: 1 }, true);
    expect(one.result.pushed).toBe(false); // not asked
    await manager.release(first);

    const next = await manager.checkout({ taskId: 'task-c', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'agentyard/task-b-1' }, attemptPath());
    expect(readFileSync(join(next.path, 'notes.md'), 'utf8')).toBe('step 1\n');
    expect(next.baseCommit).toBe(one.result.commit);
    await manager.release(next);

    // The agent's own branch, or a full commit id the mirror has, is taken without a fetch: with the
    // remote broken (its objects moved away) a follow-up still starts, while a remote branch cannot.
    renameSync(join(remote, 'objects'), join(remote, 'objects.away'));
    try {
      const offline = await manager.checkout({ taskId: 'task-c', attempt: 2, ownerId: 'u1' }, { repo: remote, ref: 'agentyard/task-b-1' }, attemptPath());
      expect(offline.baseCommit).toBe(one.result.commit);
      await manager.release(offline);
      const byCommit = await manager.checkout({ taskId: 'task-c', attempt: 3, ownerId: 'u1' }, { repo: remote, ref: one.result.commit! }, attemptPath());
      expect(readFileSync(join(byCommit.path, 'notes.md'), 'utf8')).toBe('step 1\n');
      await manager.release(byCommit);
      await expect(manager.checkout({ taskId: 'task-c', attempt: 4, ownerId: 'u1' }, { repo: remote, ref: 'main' }, attemptPath())).rejects.toThrow();
    } finally {
      renameSync(join(remote, 'objects.away'), join(remote, 'objects'));
    }

    // Another owner's mirror does not have that unpushed branch.
    await expect(manager.checkout({ taskId: 'task-d', attempt: 1, ownerId: 'u2' }, { repo: remote, ref: 'agentyard/task-b-1' }, attemptPath())).rejects.toThrow(
      'ref agentyard/task-b-1 is not a branch, tag or commit of',
    );

    const tagged = await manager.checkout({ taskId: 'task-e', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'v1' }, attemptPath());
    expect(readFileSync(join(tagged.path, 'app.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
    const unchanged = await manager.finish(tagged, { taskId: 'task-e', attempt: 1 }, true);
    expect(unchanged.result).toMatchObject({ commit: null, filesChanged: 0, pushed: false });
    expect(unchanged.patch.length).toBe(0);
    await manager.release(tagged);
  });

  it('refuses a repository outside the allowed roots (also through a symlink), one that does not exist, and an unknown ref, leaving nothing behind', async () => {
    const outside = join(base, 'outside.git');
    sh(['clone', '-q', '--bare', remote, outside]);
    symlinkSync(outside, join(roots, 'sneaky.git'));
    const cases: [string, string | undefined, string][] = [
      [outside, undefined, 'is not under a directory this worker allows'],
      [join(roots, 'sneaky.git'), undefined, 'leads outside the directories this worker allows'],
      [join(roots, 'missing.git'), undefined, 'does not exist on this worker'],
      [join(roots, '..', 'outside.git'), undefined, 'is not under a directory this worker allows'],
      [remote, 'no-such-branch', 'ref no-such-branch is not a branch, tag or commit'],
    ];
    const mirrorsBefore = readdirSync(join(stateDir, 'repos')).length;
    for (const [repo, ref, message] of cases) {
      const path = attemptPath();
      const attempt = manager.checkout({ taskId: 'task-x', attempt: 1, ownerId: 'u1' }, { repo, ref }, path);
      await expect(attempt).rejects.toBeInstanceOf(WorkspaceError);
      await expect(attempt).rejects.toThrow(message);
      expect(existsSync(path)).toBe(false);
    }
    // A directory under the roots that is no repository: the fetch fails, and its new mirror is removed.
    mkdirSync(join(roots, 'plain'));
    await expect(manager.checkout({ taskId: 'task-y', attempt: 1, ownerId: 'u9' }, { repo: join(roots, 'plain') }, attemptPath())).rejects.toThrow(
      `could not fetch ${join(roots, 'plain')}`,
    );
    expect(readdirSync(join(stateDir, 'repos')).length).toBe(mirrorsBefore);
    expect(() => new WorkspaceManager(stateDir, [], quiet).checkout({ taskId: 'z', attempt: 1 }, { repo: remote }, attemptPath())).rejects.toThrow(
      'this worker takes no local repositories',
    );
  });

  it('does not run what a tampering task left in the worktree (its own .git with hooks and fsmonitor, a filter) and commits only the worktree’s files', async () => {
    const checkout = await manager.checkout({ taskId: 'task-h', attempt: 1, ownerId: 'u1' }, { repo: remote }, attemptPath());
    const marker = join(base, 'pwned');
    const evil = `touch ${marker}`;
    // A .git directory of the task's own in place of the worktree's .git file.
    rmSync(join(checkout.path, '.git'));
    mkdirSync(join(checkout.path, '.git', 'hooks'), { recursive: true });
    writeFileSync(join(checkout.path, '.git', 'config'), `[core]\n\tfsmonitor = ${evil}\n\thooksPath = .git/hooks\n[filter "x"]\n\tclean = ${evil}\n`);
    writeFileSync(join(checkout.path, '.git', 'hooks', 'pre-commit'), `#!/bin/sh\n${evil}\n`, { mode: 0o755 });
    writeFileSync(join(checkout.path, '.gitattributes'), '* filter=x diff=x\n');
    writeFileSync(join(checkout.path, 'app.txt'), 'changed\n');
    const done = await manager.finish(checkout, { taskId: 'task-h', attempt: 1 }, false);
    expect(existsSync(marker)).toBe(false);
    expect(done.result.commit).toMatch(/^[0-9a-f]{40}$/);
    // The commit went to the attempt's branch in the mirror, and holds no .git of the task's.
    expect(sh(['rev-parse', 'refs/heads/agentyard/task-h-1'], checkout.mirror)).toBe(done.result.commit);
    const files = sh(['ls-tree', '-r', '--name-only', done.result.commit!], checkout.mirror).split('\n');
    expect(files).toEqual(expect.arrayContaining(['app.txt', '.gitattributes']));
    expect(files.some((f) => f.startsWith('.git/'))).toBe(false);
    await manager.release(checkout);
  });

  it('refuses to commit a worktree the task replaced with a symlink (it would read files outside it as the agent)', async () => {
    const checkout = await manager.checkout({ taskId: 'task-s', attempt: 1, ownerId: 'u1' }, { repo: remote }, attemptPath());
    const secretDir = join(base, 'agent-secrets');
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, 'id_ed25519'), 'PRIVATE KEY\n');
    rmSync(checkout.path, { recursive: true, force: true });
    symlinkSync(secretDir, checkout.path);
    const done = await manager.finish(checkout, { taskId: 'task-s', attempt: 1 }, false);
    expect(done.result.commit).toBeNull();
    expect(done.result.error).toContain('no longer a directory');
    expect(done.patch.toString('utf8')).not.toContain('PRIVATE KEY');
    await manager.release(checkout);
    expect(existsSync(join(secretDir, 'id_ed25519'))).toBe(true);
  });
});

describe('Keeping finished worktrees', () => {
  /** A manager of its own (its own state dir), so the retention and budget apply to its worktrees only. */
  function managerWith(policy: { retentionMs: number; budgetBytes: number }): { manager: WorkspaceManager; state: string; path: (n: string) => string } {
    const state = mkdtempSync(join(base, 'kept-'));
    const path = (name: string): string => {
      mkdirSync(join(state, 'work', name), { recursive: true });
      return join(state, 'work', name, 'repo');
    };
    // No worktree pool: its entries would count toward the budget these tests measure (worktree-pool.int.spec.ts covers that).
    return { manager: new WorkspaceManager(state, [roots], quiet, policy, { policy: { size: 0, idleMs: 3_600_000 } }), state, path };
  }
  const record = (state: string, name: string): KeptRecord => JSON.parse(readFileSync(join(state, 'worktrees', name, 'kept.json'), 'utf8')) as KeptRecord;

  it('keeps a finished worktree out of the attempt’s directory, still a git worktree, then removes it after the retention while its branch stays', async () => {
    const { manager: m, state, path } = managerWith({ retentionMs: 60_000, budgetBytes: 1024 ** 3 });
    const checkout = await m.checkout({ taskId: 'keep-a', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('keep-a-1'));
    writeFileSync(join(checkout.path, 'result.txt'), 'done\n');
    const done = await m.finish(checkout, { taskId: 'keep-a', attempt: 1 }, false);
    await m.keep(checkout, { taskId: 'keep-a', attempt: 1 });

    const kept = join(state, 'worktrees', 'keep-a-1', 'repo');
    expect(existsSync(checkout.path)).toBe(false);
    expect(readFileSync(join(kept, 'result.txt'), 'utf8')).toBe('done\n');
    expect(lstatSync(join(state, 'worktrees', 'keep-a-1')).mode & 0o777).toBe(0o700);
    expect(record(state, 'keep-a-1')).toMatchObject({ taskId: 'keep-a', attempt: 1, branch: 'agentyard/keep-a-1', mirror: checkout.mirror });
    // Still registered at its new place, so git works in it.
    expect(sh(['worktree', 'list', '--porcelain'], checkout.mirror)).toContain(`worktree ${kept}`);
    expect(sh(['rev-parse', 'HEAD'], kept)).toBe(done.result.commit);

    const within = await m.sweep();
    expect(within.remove).toEqual([]);
    expect(within.totalBytes).toBeGreaterThan(0);
    expect(record(state, 'keep-a-1').sizeBytes).toBe(within.totalBytes);

    // An hour later by its record: past the retention.
    const rec = record(state, 'keep-a-1');
    writeFileSync(join(state, 'worktrees', 'keep-a-1', 'kept.json'), JSON.stringify({ ...rec, finishedAt: new Date(Date.now() - 3_600_000).toISOString() }));
    const later = await m.sweep();
    expect(later.remove.map((r) => [r.worktree.taskId, r.reason])).toEqual([['keep-a', 'expired']]);
    expect(existsSync(join(state, 'worktrees', 'keep-a-1'))).toBe(false);
    expect(sh(['worktree', 'list', '--porcelain'], checkout.mirror)).not.toContain(kept);
    expect(sh(['rev-parse', 'refs/heads/agentyard/keep-a-1'], checkout.mirror)).toBe(done.result.commit);

    // A follow-up continues on the branch with the worktree gone.
    const next = await m.checkout({ taskId: 'keep-b', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'agentyard/keep-a-1' }, path('keep-b-1'));
    expect(readFileSync(join(next.path, 'result.txt'), 'utf8')).toBe('done\n');
    await m.release(next);
  });

  it('over the budget removes the oldest finished worktree first and never one whose attempt still runs', async () => {
    const kib = 1024;
    const { manager: m, state, path } = managerWith({ retentionMs: 3_600_000, budgetBytes: 400 * kib });
    const running = await m.checkout({ taskId: 'run', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('run-1'));
    writeFileSync(join(running.path, 'big.bin'), Buffer.alloc(256 * kib, 1));
    for (const [name, bytes] of [
      ['old', 256 * kib],
      ['new', 0],
    ] as const) {
      const c = await m.checkout({ taskId: name, attempt: 1, ownerId: 'u1' }, { repo: remote }, path(`${name}-1`));
      if (bytes > 0) writeFileSync(join(c.path, 'big.bin'), Buffer.alloc(bytes, 2));
      await m.finish(c, { taskId: name, attempt: 1 }, false);
      await m.keep(c, { taskId: name, attempt: 1 });
    }
    // `old` finished a minute before `new`.
    const rec = record(state, 'old-1');
    writeFileSync(join(state, 'worktrees', 'old-1', 'kept.json'), JSON.stringify({ ...rec, finishedAt: new Date(Date.now() - 60_000).toISOString() }));

    // Over 512 KiB in all: removing the oldest brings it under 400 KiB, so the newer one stays.
    const first = await m.sweep();
    expect(first.totalBytes).toBeGreaterThan(512 * kib);
    expect(first.remove.map((r) => [r.worktree.taskId, r.reason])).toEqual([['old', 'over-budget']]);
    expect(first.overBudgetBytes).toBe(0);
    expect(readdirSync(join(state, 'worktrees'))).toEqual(['new-1']);

    // The running attempt grows past the budget on its own: the finished one goes, the running one stays and is reported.
    writeFileSync(join(running.path, 'more.bin'), Buffer.alloc(256 * kib, 3));
    const second = await m.sweep();
    expect(second.remove.map((r) => [r.worktree.taskId, r.reason])).toEqual([['new', 'over-budget']]);
    expect(second.overBudgetBytes).toBeGreaterThan(0);
    expect(readdirSync(join(state, 'worktrees'))).toEqual([]);
    expect(readFileSync(join(running.path, 'more.bin')).length).toBe(256 * kib);
    const done = await m.finish(running, { taskId: 'run', attempt: 1 }, false);
    expect(done.result.filesChanged).toBe(2);
    await m.release(running);
  });

  it('removes a kept worktree the task replaced with a link without touching what the link leads to, and one with no record', async () => {
    const { manager: m, state, path } = managerWith({ retentionMs: 60_000, budgetBytes: 1024 ** 3 });
    const checkout = await m.checkout({ taskId: 'link', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('link-1'));
    await m.finish(checkout, { taskId: 'link', attempt: 1 }, false);
    await m.keep(checkout, { taskId: 'link', attempt: 1 });
    const kept = join(state, 'worktrees', 'link-1', 'repo');
    // What a task could leave if it still ran after its end: the worktree swapped for a link to a directory with the right `.git`.
    const victim = join(base, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious.txt'), 'keep me\n');
    writeFileSync(join(victim, '.git'), readFileSync(join(kept, '.git')));
    rmSync(kept, { recursive: true, force: true });
    symlinkSync(victim, kept);
    const rec = record(state, 'link-1');
    writeFileSync(join(state, 'worktrees', 'link-1', 'kept.json'), JSON.stringify({ ...rec, finishedAt: new Date(0).toISOString() }));
    // A directory left without its record (a crash while keeping): its time stands in; made old.
    mkdirSync(join(state, 'worktrees', 'orphan-1', 'repo'), { recursive: true });
    utimesSync(join(state, 'worktrees', 'orphan-1'), new Date(0), new Date(0));

    const decision = await m.sweep();
    expect(decision.remove.map((r) => r.reason)).toEqual(['expired', 'expired']);
    expect(readdirSync(join(state, 'worktrees'))).toEqual([]);
    expect(readFileSync(join(victim, 'precious.txt'), 'utf8')).toBe('keep me\n');
    expect(sh(['worktree', 'list', '--porcelain'], checkout.mirror)).not.toContain(kept);
  });

  it('replaces a kept worktree when the same attempt runs again (a redelivery), so its branch can be checked out', async () => {
    const { manager: m, state, path } = managerWith({ retentionMs: 60_000, budgetBytes: 1024 ** 3 });
    const first = await m.checkout({ taskId: 'again', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('again-1'));
    await m.finish(first, { taskId: 'again', attempt: 1 }, false);
    await m.keep(first, { taskId: 'again', attempt: 1 });
    expect(existsSync(join(state, 'worktrees', 'again-1', 'repo'))).toBe(true);
    rmSync(join(state, 'work', 'again-1'), { recursive: true, force: true });
    const second = await m.checkout({ taskId: 'again', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('again-1'));
    expect(existsSync(join(state, 'worktrees', 'again-1'))).toBe(false);
    expect(second.branch).toBe('agentyard/again-1');
    await m.release(second);
  });
});
