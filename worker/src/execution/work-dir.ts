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
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';

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
}

export interface WorkDirOptions {
  /** Create the sandbox directory (HOME, /tmp) too. */
  sandbox?: boolean;
  /** The uid/gid the task runs as, when not the agent's: it gets its directories. */
  owner?: { uid: number; gid: number };
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
  const start = resolveInside(root, cwd);
  const dir: WorkDir = { root, cwd: start };
  // A redelivered assignment after a crash may find the old directory: start from empty.
  rmSync(root, { recursive: true, force: true });
  mkdirSync(start, { recursive: true, mode: 0o700 });
  const { owner } = options;
  if (owner) for (let path = start; path.startsWith(root); path = dirname(path)) chownSync(path, owner.uid, owner.gid);
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
