/*
 * Each attempt runs in a fresh directory `<state-dir>/work/<taskId>-<attempt>`, so attempts never
 * see each other's files and a retry starts clean. The input's `cwd` is relative to it and may not
 * escape it; the contracts schema already refuses `..` and absolute paths, and this module checks
 * again on the resolved path because the worker must not trust its input.
 *
 * An isolated attempt (isolation/task-isolation.ts) also gets `<taskId>-<attempt>.sandbox/` beside
 * it: its own HOME and /tmp, and the passwd/group files of its uid. With a task uid, the task's
 * directories belong to that uid (0700), so no other task — another uid — can enter them.
 */
import { chownSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute, sep } from 'node:path';

/** The task input points outside its directory or the ids cannot name a directory. */
export class WorkDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkDirError';
  }
}

export interface WorkDir {
  /** The attempt's root directory. */
  root: string;
  /** Where the process starts (root or cwd inside it). */
  cwd: string;
  /** Isolated attempts: `<root>.sandbox`, holding `home` and `tmp`. */
  sandbox?: { dir: string; home: string; tmp: string };
  /**
   * A workspace task's worktree, `<root>/repo` (not made yet: the agent checks it out, then makes
   * `cwd`, which lies inside it). The root keeps what is not the repository's (the structured output file).
   */
  repo?: string;
}

export interface WorkDirOptions {
  /** Create the sandbox directory (HOME, /tmp) too. */
  sandbox?: boolean;
  /** The uid/gid the task runs as, when not the agent's: it gets its directories. */
  owner?: { uid: number; gid: number };
  /** The task works in a repository checked out at `<root>/repo`; its cwd is relative to that. */
  workspace?: boolean;
}

/** Resolves `cwd` inside `root`; throws WorkDirError if it would leave it. */
export function resolveInside(root: string, cwd: string | undefined): string {
  if (!cwd) return root;
  if (isAbsolute(cwd)) throw new WorkDirError(`cwd must be relative to the task directory, got ${cwd}`);
  const target = resolve(root, cwd);
  const rel = relative(root, target);
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) throw new WorkDirError(`cwd ${cwd} leaves the task directory`);
  return target;
}

/** Creates a fresh, empty working directory for this attempt (and its cwd). */
export function createWorkDir(stateDir: string, taskId: string, attempt: number, cwd?: string, options: WorkDirOptions = {}): WorkDir {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(taskId)) throw new WorkDirError(`task id ${JSON.stringify(taskId)} cannot name a directory`);
  const root = join(stateDir, 'work', `${taskId}-${attempt}`);
  const repo = options.workspace ? join(root, 'repo') : undefined;
  const start = resolveInside(repo ?? root, cwd);
  const dir: WorkDir = { root, cwd: start, ...(repo ? { repo } : {}) };
  // A redelivered assignment after a crash may find the old directory: start from empty.
  rmSync(root, { recursive: true, force: true });
  const { owner } = options;
  mkdirSync(repo ? root : start, { recursive: true, mode: 0o700 });
  if (owner && !repo) for (let path = start; path.startsWith(root); path = dirname(path)) chownSync(path, owner.uid, owner.gid);
  if (owner && repo) chownSync(root, owner.uid, owner.gid);
  if (options.sandbox) {
    const sandboxDir = `${root}.sandbox`;
    rmSync(sandboxDir, { recursive: true, force: true });
    // Traversable (not listable) by the task uid, which owns what is inside.
    mkdirSync(sandboxDir, { mode: owner ? 0o711 : 0o700 });
    dir.sandbox = { dir: sandboxDir, home: join(sandboxDir, 'home'), tmp: join(sandboxDir, 'tmp') };
    for (const path of [dir.sandbox.home, dir.sandbox.tmp]) {
      mkdirSync(path, { mode: 0o700 });
      if (owner) chownSync(path, owner.uid, owner.gid);
    }
  }
  return dir;
}

/**
 * Makes a workspace task's `cwd` once its repository is checked out (the repository may not have
 * it). The repository is untrusted: a component that is a symlink in it is refused, so the agent
 * never makes directories, nor starts the task, outside the worktree.
 */
export function makeCwdInRepo(dir: WorkDir, owner?: { uid: number; gid: number }): void {
  if (!dir.repo || dir.cwd === dir.repo) return;
  let path = dir.repo;
  for (const part of relative(dir.repo, dir.cwd).split(sep)) {
    path = join(path, part);
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      mkdirSync(path, { mode: 0o700 });
      if (owner) chownSync(path, owner.uid, owner.gid);
      continue;
    }
    if (!stat.isDirectory()) throw new WorkDirError(`cwd ${relative(dir.repo, dir.cwd)}: ${relative(dir.repo, path)} in the repository is not a directory`);
  }
}

/** Removes an attempt's directories once its result is reported (never throws). */
export function removeWorkDir(dir: WorkDir | string): void {
  const paths = typeof dir === 'string' ? [dir] : [dir.root, ...(dir.sandbox ? [dir.sandbox.dir] : [])];
  for (const path of paths) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Best effort: a file the task made read-only must not break reporting.
    }
  }
}
