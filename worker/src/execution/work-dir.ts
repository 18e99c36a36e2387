/*
 * Each attempt runs in a fresh directory `<state-dir>/work/<taskId>-<attempt>`, so attempts never
 * see each other's files and a retry starts clean. The input's `cwd` is relative to it and may not
 * escape it; the contracts schema already refuses `..` and absolute paths, and this module checks
 * again on the resolved path because the worker must not trust its input.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';

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
export function createWorkDir(stateDir: string, taskId: string, attempt: number, cwd?: string): WorkDir {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(taskId)) throw new WorkDirError(`task id ${JSON.stringify(taskId)} cannot name a directory`);
  const root = join(stateDir, 'work', `${taskId}-${attempt}`);
  const start = resolveInside(root, cwd);
  // A redelivered assignment after a crash may find the old directory: start from empty.
  rmSync(root, { recursive: true, force: true });
  mkdirSync(start, { recursive: true, mode: 0o700 });
  return { root, cwd: start };
}

/** Removes an attempt's directory once its result is reported (never throws). */
export function removeWorkDir(root: string): void {
  try {
    rmSync(root, { recursive: true, force: true });
  } catch {
    // Best effort: a file the task made read-only must not break reporting.
  }
}
