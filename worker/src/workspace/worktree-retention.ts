/*
 * Finished worktrees, kept for a while, then removed (the decision is retention.decide.ts).
 *
 * - When an attempt ends, its worktree moves from `<attempt dir>/repo` (which goes with the
 *   attempt) to `<state-dir>/worktrees/<task>-<attempt>/repo`, with a record `kept.json` beside it
 *   (task, attempt, mirror, git dir, finished time, size). The directory is the agent's, 0700: no
 *   later task — another uid that happens to get the same number, or a sandbox, which never sees
 *   the state dir — can enter it. The worktree stays registered in its mirror (its git dir is
 *   pointed at the new place), so `git -C … log/diff/status` works there.
 * - A sweep runs at start, right after each attempt ends, and then when the next kept worktree
 *   expires (at most a minute later, at least a second): it measures (disk-usage.ts), decides and
 *   removes, logging each removal with its reason. Worktrees of running attempts are counted
 *   toward the budget but are never in `worktrees/`, nor removed.
 * - Removal: `git worktree remove --force` on the mirror when the worktree is still what git made
 *   (a real directory whose `.git` names its recorded git dir), then the directory itself (no link
 *   followed), then `git worktree prune`. The branch stays in the mirror: a follow-up task continues
 *   from it (`ref: agentyard/<task>-<attempt>`) whether or not the worktree is still kept.
 * - What else the attempt leaves for a follow-up (an agent CLI's sessions, tools/tool-sessions.ts)
 *   is kept in the same directory (`keep`'s `alsoKeep`), so it goes with the worktree; a follow-up
 *   reads it under the same lock as removals (`withKept`), so a sweep never removes it midway.
 * Keeping, sweeping and removing are serialised with each other, and git calls on a mirror with
 * the mirror's other calls (the manager's lock).
 */
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, type Logger } from '../logging/logger';
import { diskUsage } from './disk-usage';
import { git } from './git';
import { decideRetention, type RemovalReason, type RetentionDecision, type RetentionPolicy, type WorktreeFacts } from './retention.decide';

/** What the agent knows of a kept worktree (written by the agent, never by the task). */
export interface KeptRecord {
  taskId: string;
  attempt: number;
  branch: string;
  mirror: string;
  gitDir: string;
  finishedAt: string;
  sizeBytes?: number;
}

/** A worktree being used by a running attempt (the manager's checkouts). */
export interface InUseWorktree {
  path: string;
  taskId: string;
  attempt: number;
}

/** Sweeps at least this often, and never closer together than the floor. */
const sweepCeilingMs = 60_000;
const sweepFloorMs = 1_000;

export class WorktreeRetention {
  readonly dir: string;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<RetentionDecision | undefined> | undefined;
  private sweepAgain = false;
  private stopped = true;
  private warnedOverBudget = false;

  constructor(
    stateDir: string,
    readonly policy: RetentionPolicy,
    private readonly logger: Logger,
    private readonly inUse: () => InUseWorktree[],
    /** Runs git work on a mirror after that mirror's other calls. */
    private readonly serial: <T>(mirror: string, work: () => Promise<T>) => Promise<T>,
  ) {
    this.dir = join(stateDir, 'worktrees');
  }

  /** Where an attempt's worktree is kept. */
  placeOf(task: { taskId: string; attempt: number }): string {
    return join(this.dir, `${task.taskId}-${task.attempt}`);
  }

  /**
   * Moves a finished attempt's worktree out of its attempt directory and records it. False when it
   * cannot be kept (the task replaced it, another file system): the caller removes it as before.
   */
  keep(
    worktree: { path: string; mirror: string; gitDir: string; branch: string },
    task: { taskId: string; attempt: number },
    finishedAt: Date,
    /** Stores more of the attempt in its kept directory once the worktree is there; a failure is logged, the worktree still kept. */
    alsoKeep?: (place: string) => Promise<void>,
  ): Promise<boolean> {
    return this.exclusive(async () => {
      if (!(await isPlainDirectory(worktree.path))) return false;
      const place = this.placeOf(task);
      // The same attempt kept before (a redelivery after a crash): the new run replaces it.
      await this.removePlace(place);
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await mkdir(place, { mode: 0o700 });
      const record: KeptRecord = { ...task, branch: worktree.branch, mirror: worktree.mirror, gitDir: worktree.gitDir, finishedAt: finishedAt.toISOString() };
      await writeRecord(place, record);
      const target = join(place, 'repo');
      try {
        // With the mirror's lock: a `worktree prune` between the move and the new git-dir link would drop the worktree.
        await this.serial(worktree.mirror, async () => {
          await rename(worktree.path, target);
          // gitrepository-layout(5): `worktrees/<id>/gitdir` holds the path of the worktree's `.git` file.
          await writeFile(join(worktree.gitDir, 'gitdir'), `${join(target, '.git')}\n`);
        });
      } catch (error) {
        this.logger.warn(`could not keep the worktree of ${task.taskId}:${task.attempt} (${describeError(error)}); removing it now`);
        await this.removePlace(place);
        return false;
      }
      if (alsoKeep) {
        await alsoKeep(place).catch((error: unknown) =>
          this.logger.warn(`could not keep the tool state of ${task.taskId}:${task.attempt} with its worktree: ${describeError(error)}`),
        );
      }
      return true;
    });
  }

  /**
   * Runs `work` on an attempt's kept directory (undefined record: nothing of it is kept) while no
   * keep, sweep step or removal can change it.
   */
  withKept<T>(task: { taskId: string; attempt: number }, work: (place: string, record: KeptRecord | undefined) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const place = this.placeOf(task);
      return work(place, await readRecord(place));
    });
  }

  /** Removes the kept worktree of this attempt, if any (a new run of the same attempt is starting). */
  forget(task: { taskId: string; attempt: number }): Promise<void> {
    return this.exclusive(() => this.removePlace(this.placeOf(task)));
  }

  /** Sweeps now and from then on by itself, until `stop`. */
  start(): void {
    this.stopped = false;
    this.sweepSoon();
  }

  /** Stops the timer and waits for a running sweep. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** A sweep as soon as possible (coalesced with one that runs). */
  sweepSoon(): void {
    if (this.stopped) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.sweeping = this.sweep()
      .catch((error: unknown) => {
        this.logger.warn(`worktree sweep failed: ${describeError(error)}`);
        return undefined;
      })
      .then((decision) => {
        this.sweeping = undefined;
        if (this.stopped) return decision;
        if (this.sweepAgain) {
          this.sweepAgain = false;
          this.sweepSoon();
          return decision;
        }
        const untilExpiry = decision?.nextExpiryAt !== undefined ? decision.nextExpiryAt - Date.now() : sweepCeilingMs;
        this.timer = setTimeout(() => this.sweepSoon(), Math.min(sweepCeilingMs, Math.max(sweepFloorMs, untilExpiry)));
        this.timer.unref();
        return decision;
      });
  }

  /** One sweep: measure, decide, remove. */
  async sweep(): Promise<RetentionDecision> {
    const kept = await this.exclusive(() => this.listKept());
    const facts: WorktreeFacts[] = [];
    for (const entry of kept) {
      let size = entry.record?.sizeBytes;
      if (size === undefined) {
        const usage = await diskUsage(entry.place);
        size = usage.bytes;
        if (!usage.complete) this.logger.warn(`worktree ${entry.place} has more than ${usage.entries} files; counted as at least ${formatBytes(size)}`);
        // A finished worktree does not change: measured once.
        if (entry.record && usage.complete) await this.exclusive(() => this.updateSize(entry.place, entry.finishedAt, size!));
      }
      facts.push({
        path: entry.place,
        taskId: entry.record?.taskId ?? entry.name,
        attempt: entry.record?.attempt ?? 0,
        finishedAt: entry.finishedAt,
        sizeBytes: size,
        inUse: false,
      });
    }
    for (const running of this.inUse()) {
      const usage = await diskUsage(running.path);
      facts.push({ path: running.path, taskId: running.taskId, attempt: running.attempt, sizeBytes: usage.bytes, inUse: true });
    }
    const decision = decideRetention(facts, Date.now(), this.policy);
    for (const { worktree, reason } of decision.remove) {
      if (worktree.inUse) continue; // the decider never says so; a removal here would be unrecoverable
      const removed = await this.exclusive(async () => {
        // Measured a moment ago: the place may hold a newer run of the same attempt by now.
        if (!(await this.stillSame(worktree))) return false;
        await this.removePlace(worktree.path);
        return true;
      });
      if (!removed) continue;
      this.logger.info(
        `removed the worktree of ${worktree.taskId}:${worktree.attempt} (${formatBytes(worktree.sizeBytes)}): ${this.explain(reason, decision)}`,
      );
    }
    if (decision.overBudgetBytes > 0 && !this.warnedOverBudget) {
      this.logger.warn(
        `worktrees use ${formatBytes(decision.keptBytes)}, over the ${formatBytes(this.policy.budgetBytes)} disk budget, and what is left belongs to running tasks: nothing more can be removed until they end`,
      );
    }
    this.warnedOverBudget = decision.overBudgetBytes > 0;
    return decision;
  }

  private explain(reason: RemovalReason, decision: RetentionDecision): string {
    switch (reason) {
      case 'expired':
        return `kept longer than the retention (${formatDuration(this.policy.retentionMs)})`;
      case 'over-budget':
        return `worktrees used ${formatBytes(decision.totalBytes)}, over the ${formatBytes(this.policy.budgetBytes)} disk budget (oldest finished first)`;
      default: {
        const unreachable: never = reason;
        return unreachable;
      }
    }
  }

  /** The kept worktrees on disk, with their records (a missing record: the directory's time stands in). */
  private async listKept(): Promise<{ name: string; place: string; record?: KeptRecord; finishedAt: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const kept = [];
    for (const name of names) {
      const place = join(this.dir, name);
      let stat;
      try {
        stat = await lstat(place);
      } catch {
        continue;
      }
      if (!stat.isDirectory()) continue;
      const record = await readRecord(place);
      const finishedAt = record ? Date.parse(record.finishedAt) : stat.mtimeMs;
      kept.push({ name, place, ...(record ? { record } : {}), finishedAt });
    }
    return kept;
  }

  /** Records the size, unless the place now holds another run of the attempt (a redelivery kept meanwhile). */
  private async updateSize(place: string, finishedAt: number, sizeBytes: number): Promise<void> {
    const record = await readRecord(place);
    if (record && Date.parse(record.finishedAt) === finishedAt) await writeRecord(place, { ...record, sizeBytes });
  }

  private async stillSame(worktree: WorktreeFacts): Promise<boolean> {
    const record = await readRecord(worktree.path);
    if (record) return Date.parse(record.finishedAt) === worktree.finishedAt;
    return isPlainDirectory(worktree.path);
  }

  /** Removes a kept worktree: through git when it is still git's, then its directory, then the mirror's stale metadata. Never throws. */
  private async removePlace(place: string): Promise<void> {
    const record = await readRecord(place);
    const repo = join(place, 'repo');
    if (record && (await isOwnWorktree(repo, record.gitDir))) {
      await this.serial(record.mirror, () => git(['worktree', 'remove', '--force', repo], { cwd: record.mirror })).catch((error: unknown) =>
        this.logger.debug(`git worktree remove ${repo}: ${describeError(error)}`),
      );
    }
    await removeTree(place, this.logger);
    if (record) {
      await this.serial(record.mirror, () => git(['worktree', 'prune'], { cwd: record.mirror })).catch((error: unknown) =>
        this.logger.debug(`git worktree prune in ${record.mirror}: ${describeError(error)}`),
      );
    }
  }

  /** Runs `work` after every earlier keep, sweep step and removal has settled. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

async function readRecord(place: string): Promise<KeptRecord | undefined> {
  try {
    const value = JSON.parse(await readFile(join(place, 'kept.json'), 'utf8')) as Partial<KeptRecord>;
    const ok =
      typeof value.taskId === 'string' &&
      typeof value.attempt === 'number' &&
      typeof value.branch === 'string' &&
      typeof value.mirror === 'string' &&
      typeof value.gitDir === 'string' &&
      typeof value.finishedAt === 'string' &&
      !Number.isNaN(Date.parse(value.finishedAt)) &&
      (value.sizeBytes === undefined || typeof value.sizeBytes === 'number');
    return ok ? (value as KeptRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all (a crash mid-write leaves the old record, or none). */
async function writeRecord(place: string, record: KeptRecord): Promise<void> {
  const temp = join(place, 'kept.json.tmp');
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, join(place, 'kept.json'));
}

async function isPlainDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether `repo` is still the worktree git made: a directory (not a link) whose `.git` file names
 * the recorded git dir. Only then may git delete it: `worktree remove` deletes what the worktree's
 * path leads to.
 */
async function isOwnWorktree(repo: string, gitDir: string): Promise<boolean> {
  if (!(await isPlainDirectory(repo))) return false;
  try {
    const dotGit = join(repo, '.git');
    if (!(await lstat(dotGit)).isFile()) return false;
    return (await readFile(dotGit, 'utf8')).trim() === `gitdir: ${gitDir}`;
  } catch {
    return false;
  }
}

/**
 * `rm -rf` that follows no link. A task running as the agent's own user may have left directories
 * without write permission; those are opened up (its own files only) and the removal tried again.
 */
async function removeTree(path: string, logger: Logger): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (error) {
    if (!isPermissionError(error)) {
      logger.warn(`could not remove ${path}: ${describeError(error)}`);
      return;
    }
  }
  await openUp(path);
  await rm(path, { recursive: true, force: true }).catch((error: unknown) => logger.warn(`could not remove ${path}: ${describeError(error)}`));
}

async function openUp(root: string): Promise<void> {
  const pending = [root];
  const uid = process.getuid?.();
  while (pending.length > 0) {
    const path = pending.pop()!;
    try {
      const stat = await lstat(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      await chmod(path, 0o700);
      for (const name of await readdir(path)) pending.push(join(path, name));
    } catch {
      // best effort
    }
  }
}

function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** `1.5 GiB`, `12 KiB`, `300 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `7 d`, `24 h`, `90 min`, `1 s`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds % 86_400 === 0 && seconds >= 2 * 86_400) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
