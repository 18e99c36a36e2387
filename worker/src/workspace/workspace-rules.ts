/*
 * The pure part of workspaces: which repositories a worker takes, how a task's ref is looked up
 * in the agent's mirror, the names it gives things, and how a diff is counted. The I/O is in
 * workspace-manager.ts.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A repository the task cannot have (not allowed here, not found, a ref it lacks): the task fails with this message. */
export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

export type RepoLocation = { kind: 'url'; url: string } | { kind: 'path'; path: string };

/**
 * Where `repo` is: a URL as given, or a path that must lie under one of `roots` (the worker's
 * `--repo-root`s; none means no local paths at all). The caller checks the real path again once
 * symlinks are resolved (`isUnder`).
 */
export function locateRepo(repo: string, roots: readonly string[]): RepoLocation {
  if (/^(https?:\/\/|ssh:\/\/|git@[A-Za-z0-9.-]+:)/.test(repo)) return { kind: 'url', url: repo };
  if (!isAbsolute(repo)) throw new WorkspaceError(`workspace.repo ${JSON.stringify(repo)} is neither a URL nor an absolute path`);
  const path = resolve(repo);
  if (roots.length === 0) {
    throw new WorkspaceError(`this worker takes no local repositories (it was started without --repo-root); use a git URL`);
  }
  if (!roots.some((root) => isUnder(path, root))) {
    throw new WorkspaceError(`workspace.repo ${path} is not under a directory this worker allows (--repo-root ${roots.join(', ')})`);
  }
  return { kind: 'path', path };
}

/** Whether `path` is `root` or inside it (both absolute and normalised). */
export function isUnder(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The branch an attempt's changes are committed on. */
export function branchFor(taskId: string, attempt: number): string {
  return `agentyard/${taskId}-${attempt}`;
}

/**
 * The agent's mirror of a repository, one per (owner, repository): a user's unpushed
 * `agentyard/…` branches stay out of another user's reach on a shared worker.
 */
export function mirrorName(ownerId: string | undefined, repo: string): string {
  return `${createHash('sha256')
    .update(`${ownerId ?? ''}\0${repo}`)
    .digest('hex')
    .slice(0, 24)}.git`;
}

/** The ref the mirror keeps the remote's HEAD under. */
export const remoteHeadRef = 'refs/agentyard/remote-head';

/**
 * Where a task's ref is looked for in the mirror, first match wins: the agent's own branches
 * (an earlier attempt's `agentyard/…`, also when unpushed), the remote's branches, its tags,
 * and a commit id. No ref means the remote's HEAD.
 */
export function refCandidates(ref: string | undefined): string[] {
  if (ref === undefined || ref === 'HEAD') return [remoteHeadRef];
  const names = [`refs/heads/${ref}`, `refs/remotes/origin/${ref}`, `refs/tags/${ref}`];
  if (/^[0-9a-f]{7,64}$/i.test(ref)) names.push(ref);
  return names;
}

/**
 * The candidates nothing on the remote can change: the agent's own branch (an earlier attempt's
 * `agentyard/…`, which the candidates above prefer anyway) and a full commit id. A ref found
 * among them needs no fetch first.
 */
export function localRefCandidates(ref: string | undefined): string[] {
  if (ref === undefined || ref === 'HEAD') return [];
  return [`refs/heads/${ref}`, ...(/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref) ? [ref] : [])];
}

export interface DiffSize {
  filesChanged: number;
  insertions: number;
  deletions: number;
}

/** Sums `git diff --numstat` (a binary file counts as changed, with no lines). */
export function parseNumstat(text: string): DiffSize {
  const size: DiffSize = { filesChanged: 0, insertions: 0, deletions: 0 };
  for (const line of text.split('\n')) {
    const match = /^(\d+|-)\t(\d+|-)\t/.exec(line);
    if (!match) continue;
    size.filesChanged += 1;
    if (match[1] !== '-') size.insertions += Number(match[1]);
    if (match[2] !== '-') size.deletions += Number(match[2]);
  }
  return size;
}
