/*
 * An agent CLI's sessions, kept with the attempt's worktree and given to a follow-up that resumes
 * one (where the files lie: session-paths.ts).
 *
 * - keepSessions: when a workspace attempt of claude-code or codex ends, its sessions are copied
 *   from the attempt's tool home into `<state-dir>/worktrees/<task>-<attempt>/sessions/<tool>/`,
 *   beside the kept worktree, so the retention removes both together (and counts both against the
 *   disk budget). Only session transcripts are copied — never the tool's config, credentials or
 *   other state — as agent-owned files (0700 directories, 0600 files).
 * - seedSession: a follow-up on that attempt's branch with `resumeSession` gets that one session's
 *   files in its own, fresh tool home (claude's under its new cwd's project name), owned by the
 *   task's uid. The caller runs it under the retention's lock, so a sweep cannot remove them midway.
 *
 * The files were written by the task, which may run as another uid and may have left anything in
 * its tool home: only regular files with a single link are read (opened without following a
 * link; a link or a directory that is a link is skipped), in bounded numbers and sizes, so the
 * agent never copies a file the task could not read itself into a later task's reach. The task's
 * processes are gone by then (the attempt's process tree ended), so nothing changes under the walk.
 */
import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { keptSessionsDir, sessionDirIn, sessionIdOfFile, toolHomeDirs, type ResumableTool } from './session-paths';

/** A finished attempt's tool state: where it ran. */
export interface SessionSource {
  tool: ResumableTool;
  /** The attempt's directory (its tool home is inside). */
  attemptRoot: string;
  /** The cwd the tool ran in (claude files its sessions under its name). */
  cwd: string;
}

/** A resume the kept state cannot serve: the task fails with this message before its tool starts. */
export class SessionNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionNotFoundError';
  }
}

/** What one attempt's sessions may take when kept. */
export const sessionLimits = { files: 10_000, bytes: 512 * 1024 ** 2 } as const;

/**
 * Copies the attempt's sessions into `<keptPlace>/sessions/<tool>/`. Returns the session ids kept
 * (empty when the tool kept none there). Throws only on an I/O error of the kept side.
 */
export async function keepSessions(source: SessionSource, keptPlace: string): Promise<string[]> {
  const from = join(source.attemptRoot, toolHomeDirs[source.tool], sessionDirIn(source.tool, source.cwd));
  const files = await regularFilesUnder(from);
  if (files.length === 0) return [];
  const to = join(keptPlace, keptSessionsDir(source.tool));
  await makeDirs(keptPlace, keptSessionsDir(source.tool));
  let budget: number = sessionLimits.bytes;
  const ids = new Set<string>();
  for (const rel of files) {
    const bytes = await readPlainFile(join(from, rel), budget);
    if (!bytes) continue;
    budget -= bytes.length;
    await makeDirs(to, dirname(rel));
    await writeFile(join(to, rel), bytes, { mode: 0o600, flag: 'wx' });
    const id = sessionIdOfFile(source.tool, rel);
    if (id) ids.add(id);
  }
  return [...ids];
}

/** The session ids kept in `keptPlace` for `tool`. */
export async function keptSessionIds(tool: ResumableTool, keptPlace: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const rel of await regularFilesUnder(join(keptPlace, keptSessionsDir(tool)))) {
    const id = sessionIdOfFile(tool, rel);
    if (id) ids.add(id);
  }
  return [...ids].sort();
}

/**
 * Puts session `sessionId` kept in `keptPlace` into the new attempt's tool home, where the CLI
 * looks for it from `cwd`, owned by `owner` (the task's uid) when given. Throws
 * SessionNotFoundError when no such session is kept for `tool`.
 */
export async function seedSession(
  tool: ResumableTool,
  keptPlace: string,
  sessionId: string,
  target: { attemptRoot: string; cwd: string; owner?: { uid: number; gid: number } },
): Promise<void> {
  const from = join(keptPlace, keptSessionsDir(tool));
  const all = await regularFilesUnder(from);
  // claude: `<id>.jsonl` and its own directory (subagents' transcripts); codex: the rollout file of that id.
  const wanted = all.filter((rel) =>
    tool === 'claude-code' ? rel === `${sessionId}.jsonl` || rel.startsWith(`${sessionId}/`) : sessionIdOfFile(tool, rel) === sessionId,
  );
  if (!wanted.some((rel) => sessionIdOfFile(tool, rel) === sessionId)) {
    const kept = await keptSessionIds(tool, keptPlace);
    throw new SessionNotFoundError(
      kept.length > 0 ? `no ${tool} session ${sessionId} was kept with it (kept: ${kept.join(', ')})` : `no ${tool} session was kept with it`,
    );
  }
  const home = join(target.attemptRoot, toolHomeDirs[tool]);
  const to = join(home, sessionDirIn(tool, target.cwd));
  await makeDirs(target.attemptRoot, relative(target.attemptRoot, to), target.owner);
  for (const rel of wanted) {
    const bytes = await readPlainFile(join(from, rel), Number.POSITIVE_INFINITY);
    if (!bytes) continue;
    await makeDirs(to, dirname(rel), target.owner);
    const path = join(to, rel);
    await writeFile(path, bytes, { mode: 0o600, flag: 'wx' });
    if (target.owner) await chown(path, target.owner.uid, target.owner.gid);
  }
}

/** Regular files under `root` (relative paths with `/`), links and special files skipped, bounded; none when `root` is not a real directory. */
async function regularFilesUnder(root: string): Promise<string[]> {
  const files: string[] = [];
  const pending: string[] = [''];
  let seen = 0;
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const dir = join(root, rel);
    try {
      if (!(await lstat(dir)).isDirectory()) continue;
    } catch {
      continue;
    }
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++seen > sessionLimits.files) return files;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) pending.push(child);
      else if (entry.isFile()) files.push(child);
    }
  }
  return files.sort();
}

/** The file's bytes when it is a regular file with one link and at most `maxBytes`; undefined otherwise. */
async function readPlainFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.nlink !== 1 || stat.size > maxBytes) return undefined;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Makes `rel` under `base` level by level (0700, given to `owner`); a level that exists must be a real directory. */
async function makeDirs(base: string, rel: string, owner?: { uid: number; gid: number }): Promise<void> {
  let path = base;
  for (const part of rel === '.' || rel === '' ? [] : rel.split(sep)) {
    path = join(path, part);
    try {
      await mkdir(path, { mode: 0o700 });
      if (owner) await chown(path, owner.uid, owner.gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await lstat(path)).isDirectory()) throw error;
    }
  }
}
