/*
 * A few pristine worktrees per mirror, made ahead of time (the choices: worktree-pool.decide.ts).
 *
 * `git worktree add` writes every file of the repository, the largest part of a workspace
 * attempt's start. An entry here is a worktree of the mirror, detached at the commit the mirror's
 * last checkout used, under `<state-dir>/pool/<mirror>/<id>` (agent-owned 0700, in the state dir
 * every sandbox covers). A checkout takes one: `git checkout --force -B <branch> <commit>` inside
 * it (only files that differ are rewritten; the entry is clean, so the result is exactly the
 * commit's tree), then a rename to `<attempt dir>/repo` and its git-dir link pointed there — what
 * `worktree add -B` would have made, in the same place.
 *
 * Invariants: an entry is made by the pool and taken at most once — a finished attempt's worktree
 * is kept or removed, never returned here — so no task sees another's files; entries left by an
 * earlier agent run are removed at start (their state is unknown); entries count toward the
 * worktree disk budget (as worktrees in use: the sweep never removes them); a mirror's entries go
 * when it has had no checkout for `idleMs` or when the mirror itself is gone. A take or fill that
 * fails leaves nothing behind and the caller makes the worktree as before. Tested in
 * worker/test/worktree-pool.int.spec.ts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeError, type Logger } from '../logging/logger';
import { git } from './git';
import { decideRefill, pickEntry, type PoolEntryFacts, type PoolPolicy } from './worktree-pool.decide';

interface Entry extends PoolEntryFacts {
  path: string;
  /** The worktree's git dir inside the mirror, once made. */
  gitDir?: string;
  /** Its index is being written again (not to be taken meanwhile). */
  refreshing?: boolean;
}

interface MirrorPool {
  entries: Entry[];
  /** The commit new entries are made at: the last checkout's. */
  commit: string;
  lastTakenAt: number;
  /** A refill asked for. */
  timer?: NodeJS.Timeout;
  /** When the entries would be idle. */
  idleTimer?: NodeJS.Timeout;
}

/**
 * A refill waits this long after it is asked for: it writes every file of the repository, and the
 * attempt that just took an entry is starting its process (CPU and disk it needs first).
 */
const refillDelayMs = 500;
/** Past git's timestamp granularity (whole seconds where it is built without USE_NSEC). */
const racyGitMs = 1100;

export class WorktreePool {
  readonly dir: string;
  private readonly mirrors = new Map<string, MirrorPool>();
  private readonly work = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    stateDir: string,
    readonly policy: PoolPolicy,
    private readonly logger: Logger,
    /** Runs git work on a mirror after that mirror's other calls. */
    private readonly serial: <T>(mirror: string, work: () => Promise<T>) => Promise<T>,
    /** Attempts running now and the agent's slots: no refill while every slot is used. */
    private readonly load: () => { running: number; slots: number },
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(stateDir, 'pool');
  }

  /** Every entry on disk (also those being made), for the disk budget. */
  paths(): string[] {
    return [...this.mirrors.values()].flatMap((pool) => pool.entries.map((e) => e.path));
  }

  /** Ready entries of a mirror (tests). */
  ready(mirror: string): { path: string; commit: string }[] {
    return (this.mirrors.get(mirror)?.entries ?? []).filter((e) => e.state === 'ready').map((e) => ({ path: e.path, commit: e.commit }));
  }

  /**
   * Moves an entry, on `branch` at `commit`, to `path` (which must not exist). Call with the
   * mirror's lock held. False when there is none or it failed (nothing is left at `path` then).
   */
  async take(mirror: string, commit: string, branch: string, path: string): Promise<boolean> {
    if (this.policy.size <= 0) return false;
    let pool = this.mirrors.get(mirror);
    if (!pool) {
      pool = { entries: [], commit, lastTakenAt: this.now() };
      this.mirrors.set(mirror, pool);
    }
    pool.commit = commit;
    pool.lastTakenAt = this.now();
    const entry = pickEntry(
      pool.entries.filter((e) => !e.refreshing),
      commit,
    ) as Entry | undefined;
    if (!entry?.gitDir) return false;
    pool.entries = pool.entries.filter((e) => e !== entry);
    let moved = false;
    try {
      await git(['checkout', '--quiet', '--force', '--no-recurse-submodules', '-B', branch, commit], { cwd: entry.path });
      await rename(entry.path, path);
      moved = true;
      // gitrepository-layout(5): `worktrees/<id>/gitdir` holds the path of the worktree's `.git` file.
      await writeFile(join(entry.gitDir, 'gitdir'), `${join(path, '.git')}\n`);
      return true;
    } catch (error) {
      this.logger.debug(`could not take a pooled worktree of ${mirror}: ${describeError(error)}`);
      await rm(moved ? path : entry.path, { recursive: true, force: true }).catch(() => undefined);
      // The caller's `worktree add` prunes the entry's registration if it holds the branch.
      return false;
    }
  }

  /** New entries of the mirror are made at `commit` (a checkout went there after a fetch). */
  remember(mirror: string, commit: string): void {
    const pool = this.mirrors.get(mirror);
    if (pool) pool.commit = commit;
  }

  /** Refills the mirror's pool (or every mirror's) a moment from now, as the decider allows. */
  refillSoon(mirror?: string): void {
    if (this.stopped || this.policy.size <= 0) return;
    for (const [name, pool] of this.mirrors) {
      if (mirror !== undefined && name !== mirror) continue;
      if (pool.timer) continue;
      pool.timer = setTimeout(() => {
        pool.timer = undefined;
        this.track(this.refill(name, pool));
      }, refillDelayMs);
      pool.timer.unref();
    }
  }

  /** Removes entries an earlier run left (their state is unknown) and forgets them in their mirrors. */
  async start(): Promise<void> {
    this.stopped = false;
    let stems: string[];
    try {
      stems = await readdir(this.dir);
    } catch {
      return;
    }
    const known = new Set(this.paths());
    for (const stem of stems) {
      const place = join(this.dir, stem);
      const ids = await readdir(place).catch(() => [] as string[]);
      const stale = ids.map((id) => join(place, id)).filter((p) => !known.has(p));
      if (stale.length === 0) continue;
      await Promise.all(stale.map((p) => rm(p, { recursive: true, force: true }).catch(() => undefined)));
      const mirror = join(this.dir, '..', 'repos', `${stem}.git`);
      if (existsSync(join(mirror, 'HEAD'))) await this.serial(mirror, () => git(['worktree', 'prune'], { cwd: mirror })).catch(() => undefined);
    }
  }

  /** Stops refilling and waits for what runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const pool of this.mirrors.values()) {
      clearTimeout(pool.timer);
      clearTimeout(pool.idleTimer);
    }
    await Promise.all([...this.work]);
  }

  /** Waits for every refill under way (tests). */
  async settled(): Promise<void> {
    while (this.work.size > 0 || [...this.mirrors.values()].some((p) => p.timer)) {
      await Promise.all([...this.work]);
      if ([...this.mirrors.values()].some((p) => p.timer)) await new Promise((r) => setTimeout(r, refillDelayMs / 5));
    }
  }

  /** Removes every entry of a mirror (the mirror is going). */
  async drop(mirror: string): Promise<void> {
    const pool = this.mirrors.get(mirror);
    if (!pool) return;
    clearTimeout(pool.timer);
    clearTimeout(pool.idleTimer);
    this.mirrors.delete(mirror);
    await Promise.all(pool.entries.map((e) => rm(e.path, { recursive: true, force: true }).catch(() => undefined)));
  }

  private async refill(mirror: string, pool: MirrorPool): Promise<void> {
    if (this.stopped || this.mirrors.get(mirror) !== pool) return;
    const decision = decideRefill({
      entries: pool.entries,
      policy: this.policy,
      now: this.now(),
      lastTakenAt: pool.lastTakenAt,
      mirrorExists: existsSync(join(mirror, 'HEAD')),
      ...this.load(),
    });
    for (const id of decision.drop) {
      const entry = pool.entries.find((e) => e.id === id);
      if (!entry) continue;
      pool.entries = pool.entries.filter((e) => e !== entry);
      await this.remove(mirror, entry);
    }
    if (decision.why === 'idle' || decision.why === 'mirror-gone') {
      clearTimeout(pool.idleTimer);
      if (pool.entries.length === 0) this.mirrors.delete(mirror);
      if (decision.drop.length > 0) this.logger.debug(`removed the worktree pool of ${mirror} (${decision.why})`);
      return;
    }
    if (decision.make === 0) {
      // Idle mirrors lose their entries even when no checkout comes to trigger a refill.
      clearTimeout(pool.idleTimer);
      if (pool.entries.length > 0) {
        pool.idleTimer = setTimeout(() => this.track(this.refill(mirror, pool)), Math.max(refillDelayMs, pool.lastTakenAt + this.policy.idleMs - this.now()));
        pool.idleTimer.unref();
      }
      return;
    }
    const made = await this.make(mirror, pool, pool.commit);
    if (made) this.track(this.refill(mirror, pool));
  }

  /** Makes one entry at `commit`: registered under the mirror's lock, its files written outside it. */
  private async make(mirror: string, pool: MirrorPool, commit: string): Promise<boolean> {
    const id = randomBytes(6).toString('hex');
    const entry: Entry = { id, commit, state: 'filling', madeAt: this.now(), path: join(this.dir, basename(mirror, '.git'), id) };
    pool.entries.push(entry);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await mkdir(join(this.dir, basename(mirror, '.git')), { recursive: true, mode: 0o700 });
      await this.serial(mirror, () => git(['worktree', 'add', '--quiet', '--detach', '--no-checkout', entry.path, commit], { cwd: mirror }));
      entry.gitDir = readGitDir(entry.path);
      // Only this entry's own index and files: the mirror's other calls need not wait for it.
      await git(['reset', '--quiet', '--hard', '--no-recurse-submodules'], { cwd: entry.path, timeoutMs: 600_000 });
      if (this.stopped || this.mirrors.get(mirror) !== pool) throw new Error('the pool stopped');
      entry.state = 'ready';
      this.track(this.settle(entry));
      return true;
    } catch (error) {
      this.logger.debug(`could not add a pooled worktree to ${mirror}: ${describeError(error)}`);
      pool.entries = pool.entries.filter((e) => e !== entry);
      await this.remove(mirror, entry);
      return false;
    }
  }

  /**
   * Files written in the same second as the index are "racily clean" (racy-git.txt): a take would
   * read every one of them again. The index written again a second later records them as clean.
   */
  private async settle(entry: Entry): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, racyGitMs));
    if (this.stopped || !this.paths().includes(entry.path)) return;
    entry.refreshing = true;
    try {
      await git(['update-index', '-q', '--refresh'], { cwd: entry.path, okExitCodes: [1] });
    } finally {
      entry.refreshing = false;
    }
  }

  /** Removes an entry's directory and its registration in the mirror. Never throws. */
  private async remove(mirror: string, entry: Entry): Promise<void> {
    await rm(entry.path, { recursive: true, force: true }).catch(() => undefined);
    if (existsSync(join(mirror, 'HEAD'))) await this.serial(mirror, () => git(['worktree', 'prune'], { cwd: mirror })).catch(() => undefined);
  }

  private track(work: Promise<unknown>): void {
    const settled = work.catch((error: unknown) => this.logger.debug(`worktree pool: ${describeError(error)}`));
    this.work.add(settled);
    void settled.then(() => this.work.delete(settled));
  }
}

/** The worktree's git dir, from the `.git` file `worktree add` just wrote. */
function readGitDir(path: string): string {
  const match = /^gitdir: (.+)$/m.exec(readFileSync(join(path, '.git'), 'utf8'));
  if (!match?.[1]) throw new Error(`the worktree at ${path} has no git dir`);
  return match[1].trim();
}
