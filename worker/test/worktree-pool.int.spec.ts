/*
 * Starting a workspace attempt fast, on real git (a bare repository under an allowed root stands in
 * for the remote): the fetch is skipped only while the remote's ref is what the mirror has, and the
 * worktree comes from a pool of pristine ones made ahead of time. What must hold: a checkout gets
 * the remote's current commit after the remote moved on, never a stale one; a pooled worktree has
 * exactly the commit's files — none of an earlier commit's, none a finished task left; the pool is
 * refilled after a take (not while every slot runs an attempt), counts toward the disk budget, is
 * cleared at start and goes with its mirror.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../src/logging/logger';
import { WorkspaceManager } from '../src/workspace/workspace-manager';

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
let seed: string;
let n = 0;

/** A commit on the remote's main: `files` written, `gone` deleted. */
function pushCommit(files: Record<string, string>, gone: string[] = []): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(seed, name), text);
  for (const name of gone) rmSync(join(seed, name));
  sh(['add', '-A'], seed);
  sh(['commit', '-q', '-m', `commit ${++n}`], seed);
  sh(['push', '-q', remote, 'main'], seed);
  return sh(['rev-parse', 'HEAD'], seed);
}

/** A manager of its own state dir, with a pool of two. */
function managerWith(slots = 4): { manager: WorkspaceManager; state: string; path: (name: string) => string } {
  const state = mkdtempSync(join(base, 'state-'));
  const path = (name: string): string => {
    mkdirSync(join(state, 'work', name), { recursive: true });
    return join(state, 'work', name, 'repo');
  };
  const manager = new WorkspaceManager(
    state,
    [roots],
    quiet,
    { retentionMs: 3_600_000, budgetBytes: 1024 ** 3 },
    { policy: { size: 2, idleMs: 3_600_000 }, slots },
  );
  return { manager, state, path };
}

const gitDirOf = (worktree: string): string => readFileSync(join(worktree, '.git'), 'utf8').trim();
const filesOf = (worktree: string): string[] =>
  readdirSync(worktree)
    .filter((f) => f !== '.git')
    .sort();

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'ay-pool-'));
  roots = join(base, 'repos');
  mkdirSync(roots);
  remote = join(roots, 'project.git');
  sh(['init', '-q', '--bare', '-b', 'main', remote]);
  seed = join(base, 'seed');
  mkdirSync(seed);
  sh(['init', '-q', '-b', 'main'], seed);
  pushCommit({ 'README.md': 'hello\n', 'old.txt': 'only in the first commit\n' });
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('A workspace checkout from the worktree pool', () => {
  it('gives the remote’s current commit after the remote moved on, with none of the pooled commit’s files, and refills the pool', async () => {
    const { manager, path } = managerWith();
    const first = await manager.checkout({ taskId: 'p1', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'main' }, path('p1-1'));
    await manager.release(first);
    await manager.pool.settled();
    const pooled = manager.pool.ready(first.mirror);
    expect(pooled).toHaveLength(2);
    expect(pooled.every((e) => e.commit === first.baseCommit)).toBe(true);
    const pooledGitDirs = pooled.map((e) => gitDirOf(e.path));

    const moved = pushCommit({ 'new.txt': 'second\n', 'README.md': 'hello again\n' }, ['old.txt']);
    const next = await manager.checkout({ taskId: 'p2', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'main' }, path('p2-1'));

    expect(next.baseCommit).toBe(moved);
    // It is one of the pooled worktrees, moved into the attempt's directory and registered there.
    expect(pooledGitDirs).toContain(gitDirOf(next.path));
    expect(sh(['worktree', 'list', '--porcelain'], next.mirror)).toContain(`worktree ${next.path}`);
    expect(sh(['rev-parse', '--abbrev-ref', 'HEAD'], next.path)).toBe('agentyard/p2-1');
    expect(sh(['rev-parse', 'HEAD'], next.path)).toBe(moved);
    expect(filesOf(next.path)).toEqual(['README.md', 'new.txt']);
    expect(readFileSync(join(next.path, 'README.md'), 'utf8')).toBe('hello again\n');
    expect(sh(['status', '--porcelain', '--untracked-files=all'], next.path)).toBe('');

    // The agent commits on that branch as from any worktree.
    writeFileSync(join(next.path, 'work.txt'), 'done\n');
    const done = await manager.finish(next, { taskId: 'p2', attempt: 1 }, false);
    expect(done.result).toMatchObject({ filesChanged: 1, baseCommit: moved });
    expect(sh(['rev-parse', `${done.result.commit}^`], next.mirror)).toBe(moved);

    await manager.pool.settled();
    const refilled = manager.pool.ready(next.mirror);
    expect(refilled).toHaveLength(2);
    expect(refilled.map((e) => e.commit)).toContain(moved);
    await manager.keep(next, { taskId: 'p2', attempt: 1 });
    await manager.stopSweeping();
  });

  it('never hands on what a finished task left: a later checkout has only the commit’s files', async () => {
    const { manager, path } = managerWith();
    const first = await manager.checkout({ taskId: 'q1', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('q1-1'));
    writeFileSync(join(first.path, 'secret.txt'), 'from task q1\n');
    mkdirSync(join(first.path, 'build'));
    writeFileSync(join(first.path, 'build', 'out.o'), 'junk\n');
    writeFileSync(join(first.path, 'README.md'), 'changed by q1\n');
    await manager.finish(first, { taskId: 'q1', attempt: 1 }, false);
    await manager.keep(first, { taskId: 'q1', attempt: 1 });
    await manager.pool.settled();

    for (const name of ['q2', 'q3', 'q4']) {
      const next = await manager.checkout({ taskId: name, attempt: 1, ownerId: 'u1' }, { repo: remote }, path(`${name}-1`));
      expect(filesOf(next.path)).toEqual(['README.md', 'new.txt']);
      expect(readFileSync(join(next.path, 'README.md'), 'utf8')).toBe('hello again\n');
      expect(sh(['status', '--porcelain', '--untracked-files=all', '--ignored'], next.path)).toBe('');
      await manager.release(next);
      await manager.pool.settled();
    }
    await manager.stopSweeping();
  });

  it('skips the fetch while the remote’s ref is unchanged and fetches as soon as it moved', async () => {
    const { manager, path } = managerWith();
    const first = await manager.checkout({ taskId: 'r1', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('r1-1'));
    await manager.release(first);
    const fetchHead = join(first.mirror, 'FETCH_HEAD');
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(fetchHead, past, past);

    const same = await manager.checkout({ taskId: 'r2', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('r2-1'));
    expect(same.baseCommit).toBe(first.baseCommit);
    expect(statSync(fetchHead).mtimeMs).toBeLessThan(Date.now() - 60_000);
    await manager.release(same);

    const moved = pushCommit({ 'third.txt': 'third\n' });
    const after = await manager.checkout({ taskId: 'r3', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('r3-1'));
    expect(after.baseCommit).toBe(moved);
    expect(existsSync(join(after.path, 'third.txt'))).toBe(true);
    expect(statSync(fetchHead).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    await manager.release(after);

    // A tag that moved (deleted and made again elsewhere) is fetched too.
    sh(['tag', 'release', `${moved}^`], seed);
    sh(['push', '-q', remote, 'release'], seed);
    const tagged = await manager.checkout({ taskId: 'r4', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'release' }, path('r4-1'));
    expect(tagged.baseCommit).toBe(sh(['rev-parse', `${moved}^`], seed));
    await manager.release(tagged);
    sh(['tag', '-f', 'release', moved], seed);
    sh(['push', '-q', '-f', remote, 'release'], seed);
    const retagged = await manager.checkout({ taskId: 'r5', attempt: 1, ownerId: 'u1' }, { repo: remote, ref: 'release' }, path('r5-1'));
    expect(retagged.baseCommit).toBe(moved);
    await manager.release(retagged);
    await manager.stopSweeping();
  });

  it('waits with the refill while every slot runs an attempt, and refills once one ends', async () => {
    const { manager, path } = managerWith(1);
    const first = await manager.checkout({ taskId: 's1', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('s1-1'));
    await manager.pool.settled();
    expect(manager.pool.ready(first.mirror)).toHaveLength(0);
    await manager.keep(first, { taskId: 's1', attempt: 1 });
    await manager.pool.settled();
    expect(manager.pool.ready(first.mirror)).toHaveLength(2);
    await manager.stopSweeping();
  });

  it('counts its entries toward the disk budget, clears what an earlier run left at start, and goes with its mirror', async () => {
    const { manager, state, path } = managerWith();
    const first = await manager.checkout({ taskId: 't1', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('t1-1'));
    await manager.release(first);
    await manager.pool.settled();
    const entries = manager.pool.ready(first.mirror).map((e) => e.path);
    expect(entries).toHaveLength(2);
    const swept = await manager.sweep();
    expect(swept.totalBytes).toBeGreaterThan(0);
    expect(swept.remove).toEqual([]);

    // Another run of the agent on the same state dir: nothing of the earlier pool is used.
    const again = new WorkspaceManager(state, [roots], quiet, undefined, { policy: { size: 2, idleMs: 3_600_000 } });
    await again.pool.start();
    for (const entry of entries) expect(existsSync(entry)).toBe(false);
    expect(sh(['worktree', 'list', '--porcelain'], first.mirror)).not.toContain(join(state, 'pool'));

    const next = await again.checkout({ taskId: 't2', attempt: 1, ownerId: 'u1' }, { repo: remote }, path('t2-1'));
    await again.release(next);
    await again.pool.settled();
    const refilled = again.pool.ready(next.mirror).map((e) => e.path);
    expect(refilled).toHaveLength(2);

    rmSync(next.mirror, { recursive: true, force: true });
    again.pool.refillSoon();
    await again.pool.settled();
    expect(again.pool.ready(next.mirror)).toHaveLength(0);
    for (const entry of refilled) expect(existsSync(entry)).toBe(false);
    await again.stopSweeping();
    await manager.stopSweeping();
  });
});
