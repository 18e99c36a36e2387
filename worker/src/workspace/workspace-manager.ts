/*
 * Workspaces: a git worktree per attempt, made and finished by the agent itself, outside the
 * task's sandbox.
 *
 * - The agent keeps one bare mirror per (owner, repository) in `<state-dir>/repos/` (never
 *   visible to a task: the sandbox covers the state dir), fetched before each attempt.
 * - The attempt's worktree is `<attempt-dir>/repo` on the branch `agentyard/<task>-<attempt>`,
 *   from the task's ref. Its files belong to the task's uid; its git metadata stays in the mirror.
 * - When the process has ended, the agent commits every change on that branch, records the diff
 *   (patch and stat) and pushes the branch when asked. The branch stays in the mirror, so a
 *   follow-up task on this worker can continue from it (`ref: agentyard/<task>-<attempt>`) even
 *   unpushed. The worktree itself is kept for a while in `<state-dir>/worktrees/` and removed
 *   after the retention or when the disk budget is exceeded, never while its attempt runs
 *   (worktree-retention.ts, retention.decide.ts).
 * - Starting fast (bench/README.md "Agents: worktree start"): the fetch is skipped when
 *   `git ls-remote` shows the remote's ref is what the mirror has (fetch.decide.ts: never a stale
 *   commit), and the worktree is taken from a small pool of pristine ones made ahead of time
 *   (worktree-pool.ts) when there is one — else `worktree add` as before.
 * Calls on one mirror are serialised (git's own locks would fail a second fetch, not wait).
 */
import { existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkspaceInput, WorkspaceResult } from '@agentyard/contracts/agent';
import { describeError, type Logger } from '../logging/logger';
import { decideFetch, parseLsRemote, remoteRefQueries } from './fetch.decide';
import { git, GitError, gitText } from './git';
import type { RetentionDecision, RetentionPolicy } from './retention.decide';
import { WorktreeRetention } from './worktree-retention';
import { WorktreePool } from './worktree-pool';
import { defaultPoolPolicy, type PoolPolicy } from './worktree-pool.decide';
import { maskCredential, withRepoCredential, type RepoCredential } from './repo-credentials';
import { branchFor, isUnder, locateRepo, mirrorName, localRefCandidates, parseNumstat, refCandidates, remoteHeadRef, WorkspaceError } from './workspace-rules';

/** A worktree made for one attempt. */
export interface Checkout {
  input: WorkspaceInput;
  mirror: string;
  /** The worktree's own git dir (inside the mirror), read before the task ran. */
  gitDir: string;
  path: string;
  branch: string;
  baseRef: string;
  baseCommit: string;
}

export interface FinishedWorkspace {
  result: WorkspaceResult;
  /** `git diff <base> <commit>`, empty when nothing changed. */
  patch: Buffer;
  /** `git diff --stat`. */
  stat: string;
}

/** Largest patch kept as an artifact; a larger one is cut with a note (the branch has it all). */
export const patchLimitBytes = 32 * 1024 * 1024;

/** `--worktree-retention` and `--worktree-disk-budget` defaults: a day, 10 GiB. */
export const defaultRetentionPolicy: RetentionPolicy = { retentionMs: 24 * 3600 * 1000, budgetBytes: 10 * 1024 ** 3 };

export class WorkspaceManager {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Worktrees of attempts that run (checked out, not yet kept or released), by path. */
  private readonly active = new Map<string, { taskId: string; attempt: number }>();
  /** The source each mirror's `origin` was set to in this run. */
  private readonly origins = new Map<string, string>();
  readonly retention: WorktreeRetention;
  readonly pool: WorktreePool;

  constructor(
    private readonly stateDir: string,
    /** Directories local repositories may be taken from (`--repo-root`). */
    private readonly repoRoots: readonly string[],
    private readonly logger: Logger,
    policy: RetentionPolicy = defaultRetentionPolicy,
    /** The worktree pool (entries per mirror, idle time) and the agent's slots (no refill while all are used). */
    pool: { policy?: PoolPolicy; slots?: number } = {},
  ) {
    this.retention = new WorktreeRetention(
      stateDir,
      policy,
      logger,
      // The pool's entries use the disk too: counted like running attempts' worktrees, never swept.
      () => [...[...this.active].map(([path, task]) => ({ path, ...task })), ...this.pool.paths().map((path) => ({ path, taskId: 'pool', attempt: 0 }))],
      (mirror, work) => this.serial(mirror, work),
    );
    this.pool = new WorktreePool(
      stateDir,
      pool.policy ?? defaultPoolPolicy,
      logger,
      (mirror, work) => this.serial(mirror, work),
      () => ({ running: this.active.size, slots: pool.slots ?? Number.POSITIVE_INFINITY }),
    );
  }

  /**
   * Makes the attempt's worktree at `path` (which must not exist yet) and gives it to `owner`.
   * Throws WorkspaceError with a message for the task: repository not allowed or not reachable, ref unknown.
   */
  async checkout(
    task: { taskId: string; attempt: number; ownerId?: string },
    input: WorkspaceInput,
    path: string,
    owner?: { uid: number; gid: number },
    /** The repository's credential (workspace.credentials' value), for the fetch only. */
    credential?: RepoCredential,
  ): Promise<Checkout> {
    const location = locateRepo(input.repo, this.repoRoots);
    let source: string;
    if (location.kind === 'path') {
      let real: string;
      try {
        real = realpathSync(location.path);
      } catch {
        throw new WorkspaceError(`workspace.repo ${location.path} does not exist on this worker`);
      }
      if (!this.repoRoots.some((root) => isUnder(real, safeRealpath(root)))) {
        throw new WorkspaceError(`workspace.repo ${location.path} leads outside the directories this worker allows (--repo-root)`);
      }
      source = real;
    } else {
      source = location.url;
    }
    const mirror = join(this.stateDir, 'repos', mirrorName(task.ownerId, input.repo));
    const branch = branchFor(task.taskId, task.attempt);
    const baseRef = input.ref ?? 'HEAD';
    // This attempt run before (a redelivery after a crash) and kept: its branch must be free for the new worktree.
    if (existsSync(this.retention.placeOf(task))) await this.retention.forget(task);
    const baseCommit = await this.serial(mirror, async () => {
      // A pooled worktree moved to `path` while the remote was asked, at the mirror's commit of the ref.
      let placed = false;
      let commit: string | undefined;
      try {
        // What the mirror has already, when the remote's ref is still that (else undefined: fetch).
        commit = await this.lookUpWithoutFetch(mirror, source, input, credential, async (likely) => {
          placed = await this.pool.take(mirror, likely, branch, path);
        });
        if (!commit) {
          await this.fetch(mirror, source, input.repo, credential);
          commit = await resolveRef(mirror, refCandidates(input.ref));
          if (!commit) throw new WorkspaceError(`ref ${baseRef} is not a branch, tag or commit of ${input.repo}`);
          if (placed) {
            // The remote moved on: the pristine worktree goes to the fetched commit (only files that differ are rewritten).
            await git(['checkout', '--quiet', '--force', '--no-recurse-submodules', '-B', branch, commit], { cwd: path });
            this.pool.remember(mirror, commit);
          }
        }
      } catch (error) {
        // Nothing of this attempt is left behind: neither the placed worktree nor the branch it was put on.
        if (placed) {
          rmSync(path, { recursive: true, force: true });
          await git(['worktree', 'prune'], { cwd: mirror })
            .then(() => git(['update-ref', '-d', `refs/heads/${branch}`], { cwd: mirror }))
            .catch(() => undefined);
        }
        throw error;
      }
      if (placed || (await this.pool.take(mirror, commit, branch, path))) return commit;
      const at = commit;
      const add = () => git(['worktree', 'add', '--quiet', '-B', branch, path, at], { cwd: mirror });
      try {
        await add();
      } catch {
        // A crashed agent may have left this attempt's worktree registered: forget it, then make it again.
        await git(['worktree', 'prune'], { cwd: mirror });
        await add();
      }
      return commit;
    });
    this.active.set(path, { taskId: task.taskId, attempt: task.attempt });
    this.pool.refillSoon(mirror);
    let gitDir: string;
    try {
      gitDir = readGitDir(path);
      if (owner) chownTree(path, owner);
    } catch (error) {
      this.active.delete(path);
      throw error;
    }
    return { input, mirror, gitDir, path, branch, baseRef, baseCommit };
  }

  /**
   * Commits what the task changed (as the agent, with the task's files read but not trusted),
   * records the diff and pushes when asked and `push` is true. Never throws: a failure is the result's `error`.
   */
  async finish(checkout: Checkout, task: { taskId: string; attempt: number }, push: boolean, credential?: RepoCredential): Promise<FinishedWorkspace> {
    const result: WorkspaceResult = {
      repo: checkout.input.repo,
      baseRef: checkout.baseRef,
      baseCommit: checkout.baseCommit,
      branch: checkout.branch,
      commit: null,
      filesChanged: 0,
      insertions: 0,
      deletions: 0,
      pushed: false,
    };
    // The task owned the worktree: a symlink in its place would have the agent read (and commit) files outside it.
    if (!isPlainDirectory(checkout.path)) {
      result.error = `the worktree ${checkout.path} is no longer a directory (the task replaced it); nothing was committed`;
      return { result, patch: Buffer.alloc(0), stat: '' };
    }
    const inTree = ['--git-dir', checkout.gitDir, '--work-tree', checkout.path];
    const opts = { cwd: checkout.path, isolatedConfig: true };
    try {
      await git([...inTree, 'add', '--all', '--', '.'], opts);
      const staged = await git([...inTree, 'diff', '--cached', '--quiet'], { ...opts, okExitCodes: [1] });
      if (staged.exitCode === 1) {
        const who = ['-c', 'user.name=Agentyard', '-c', 'user.email=agent@agentyard.invalid'];
        await git(
          [...who, ...inTree, 'commit', '--quiet', '--no-verify', '--no-gpg-sign', '-m', `agentyard: task ${task.taskId} attempt ${task.attempt}`],
          opts,
        );
        result.commit = await gitText([...inTree, 'rev-parse', 'HEAD'], opts);
      }
    } catch (error) {
      result.error = `could not commit the task's changes: ${describeError(error)}`;
      return { result, patch: Buffer.alloc(0), stat: '' };
    }
    if (result.commit === null) return { result, patch: Buffer.alloc(0), stat: '' };
    const range = [checkout.baseCommit, result.commit];
    const [numstat, stat, patch] = await Promise.all([
      gitText(['diff', '--numstat', '--no-renames', ...range], { cwd: checkout.mirror, isolatedConfig: true }),
      gitText(['diff', '--stat=200', ...range], { cwd: checkout.mirror, isolatedConfig: true }),
      git(['diff', '--no-color', '--no-ext-diff', '--no-textconv', ...range], { cwd: checkout.mirror, isolatedConfig: true, maxBuffer: 512 * 1024 * 1024 }),
    ]);
    Object.assign(result, parseNumstat(numstat));
    let patchBytes = patch.stdout;
    if (patchBytes.length > patchLimitBytes) {
      patchBytes = Buffer.concat([
        patchBytes.subarray(0, patchLimitBytes),
        Buffer.from(`\n[agentyard: patch cut at ${patchLimitBytes} bytes; the branch ${checkout.branch} has every change]\n`),
      ]);
    }
    if (push && checkout.input.push) {
      try {
        await this.serial(checkout.mirror, () =>
          withRepoCredential(this.stateDir, checkout.input.repo, credential, (env) =>
            git(['push', '--quiet', 'origin', `refs/heads/${checkout.branch}:refs/heads/${checkout.branch}`], { cwd: checkout.mirror, env }),
          ),
        );
        result.pushed = true;
      } catch (error) {
        result.error = maskCredential(`could not push ${checkout.branch}: ${describeError(error)}`, credential);
      }
    }
    return { result, patch: patchBytes, stat: `${stat}\n` };
  }

  /**
   * Keeps a finished attempt's worktree for the retention (out of the attempt's directory, which
   * then goes), with what `alsoKeep` stores beside it, and sweeps; when it cannot be kept it is
   * released. Never throws.
   */
  async keep(checkout: Checkout, task: { taskId: string; attempt: number }, alsoKeep?: (place: string) => Promise<void>): Promise<void> {
    let kept = false;
    try {
      kept = await this.retention.keep(checkout, task, new Date(), alsoKeep);
    } catch (error) {
      this.logger.warn(`could not keep the worktree of ${task.taskId}:${task.attempt}: ${describeError(error)}`);
    }
    if (!kept) await this.release(checkout);
    this.active.delete(checkout.path);
    this.retention.sweepSoon();
    // A slot is free again: a refill that waited for one may run.
    this.pool.refillSoon();
  }

  /** Starts the retention sweeps (now, after each kept worktree, and on a timer) and clears the pool an earlier run left. */
  startSweeping(): void {
    this.retention.start();
    void this.pool.start().catch((error: unknown) => this.logger.warn(`could not clear the worktree pool: ${describeError(error)}`));
  }

  async stopSweeping(): Promise<void> {
    await Promise.all([this.retention.stop(), this.pool.stop()]);
  }

  /** One sweep now (tests, doctor). */
  sweep(): Promise<RetentionDecision> {
    return this.retention.sweep();
  }

  /** Removes the worktree now (a process that never ran leaves nothing worth keeping); the branch stays. Never throws. */
  async release(checkout: Checkout): Promise<void> {
    this.active.delete(checkout.path);
    try {
      rmSync(checkout.path, { recursive: true, force: true });
      await this.serial(checkout.mirror, () => git(['worktree', 'prune'], { cwd: checkout.mirror }));
    } catch (error) {
      this.logger.debug(`could not prune the worktree of ${checkout.branch}: ${describeError(error)}`);
    }
  }

  /**
   * The commit the task's ref names when no fetch is needed for it: the agent's own branch or a
   * full commit id the mirror holds (no remote can change those; works while the remote is down),
   * or a remote ref whose value `git ls-remote` shows to be what the mirror has (fetch.decide.ts).
   * One `cat-file` for every lookup, beside the `ls-remote`; while the remote answers, `meanwhile`
   * gets the mirror's commit of the ref (the likely answer: a pooled worktree is placed at it).
   * Undefined: fetch first.
   */
  private async lookUpWithoutFetch(
    mirror: string,
    source: string,
    input: WorkspaceInput,
    credential: RepoCredential | undefined,
    meanwhile: (likely: string) => Promise<void>,
  ): Promise<string | undefined> {
    if (!existsSync(join(mirror, 'HEAD'))) return undefined;
    const local = localRefCandidates(input.ref);
    const queries = remoteRefQueries(input.ref);
    const own = input.ref !== undefined && (input.ref.startsWith('agentyard/') || local.length > 1);
    // The remote is asked only once this run set the mirror's origin (the first fetch does), and
    // not for the agent's own branches and commit ids, which the mirror answers alone.
    const ask = !own && this.origins.get(mirror) === source;
    const names = [...local.map((c) => `${c}^{commit}`), ...queries.map((q) => q.mirror), ...queries.map((q) => `${q.mirror}^{commit}`)];
    // Started first: the slower of the two, and spawning a process holds the event loop a moment.
    const asking = ask
      ? withRepoCredential(this.stateDir, source, credential, (env) =>
          gitText(['ls-remote', 'origin', ...queries.map((q) => q.remote)], { cwd: mirror, env, timeoutMs: 60_000 }),
        ).then(parseLsRemote, (error: unknown) => {
          this.logger.debug(`ls-remote ${maskCredential(source, credential)}: ${maskCredential(describeError(error), credential)}`);
          return undefined;
        })
      : undefined;
    const found = await lookUp(mirror, names).catch((error: unknown) => {
      void asking?.catch(() => undefined);
      throw error;
    });
    const commitOf = (name: string): string | undefined => (found.get(name)?.type === 'commit' ? found.get(name)?.id : undefined);
    for (const candidate of local) {
      const commit = commitOf(`${candidate}^{commit}`);
      if (commit) {
        await asking;
        return commit;
      }
    }
    if (!asking) return undefined;
    // The lookup's order (refCandidates): the remote's branch, then its tag.
    const likely = queries.map((q) => commitOf(`${q.mirror}^{commit}`)).find((c) => c !== undefined);
    const [advertised] = await Promise.all([asking, likely ? meanwhile(likely) : undefined]);
    if (!advertised || !likely) return undefined;
    const mirrored = new Map<string, string>();
    for (const q of queries) {
      const id = found.get(q.mirror)?.id;
      if (id) mirrored.set(q.mirror, id);
    }
    return decideFetch(queries, advertised, mirrored).fetch ? undefined : likely;
  }

  /** Creates the mirror if needed and fetches the remote's branches, tags and HEAD into it. */
  private async fetch(mirror: string, source: string, repo: string, credential: RepoCredential | undefined): Promise<void> {
    const created = !existsSync(join(mirror, 'HEAD'));
    if (created) {
      mkdirSync(join(this.stateDir, 'repos'), { recursive: true, mode: 0o700 });
      await git(['init', '--quiet', '--bare', mirror]);
      await git(['remote', 'add', 'origin', source], { cwd: mirror });
    } else if (this.origins.get(mirror) !== source) {
      // Once per mirror and agent run (or when the source moved): a spawn per task costs more than it checks.
      await git(['remote', 'set-url', 'origin', source], { cwd: mirror });
    }
    this.origins.set(mirror, source);
    try {
      await withRepoCredential(this.stateDir, source, credential, (env) =>
        git(
          [
            'fetch',
            '--quiet',
            '--prune',
            '--no-recurse-submodules',
            'origin',
            '+refs/heads/*:refs/remotes/origin/*',
            '+refs/tags/*:refs/tags/*',
            `+HEAD:${remoteHeadRef}`,
          ],
          {
            cwd: mirror,
            timeoutMs: 600_000,
            env,
          },
        ),
      );
    } catch (error) {
      // A first fetch that failed leaves nothing behind.
      if (created) rmSync(mirror, { recursive: true, force: true });
      const why = maskCredential(error instanceof GitError ? error.message : describeError(error), credential);
      const hint = /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(why)
        ? ` (the host's key is not the one this worker trusted on first use, kept in ${join(this.stateDir, 'ssh', 'known_hosts')})`
        : /could not read Username|Authentication failed|terminal prompts disabled|Permission denied \(publickey|returned error: 40[13]/.test(why)
          ? credential
            ? ' (the repository refused the credential in workspace.credentials)'
            : ' (the repository needs credentials: set workspace.credentials to a secret holding a token or deploy key)'
          : '';
      throw new WorkspaceError(`could not fetch ${repo}: ${why}${hint}`);
    }
  }

  /** Runs `work` after every earlier call on the same mirror has settled. */
  private serial<T>(mirror: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(mirror) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(mirror, settled);
    void settled.then(() => {
      if (this.locks.get(mirror) === settled) this.locks.delete(mirror);
    });
    return next;
  }
}

/** The commit of the first of `candidates` the mirror has. */
async function resolveRef(mirror: string, candidates: string[]): Promise<string | undefined> {
  if (candidates.length === 0) return undefined;
  // One process for every candidate (a spawn costs more than the lookup): cat-file answers each
  // line with `<sha> commit <size>`, or `<query> missing` / `ambiguous`.
  const out = await gitText(['cat-file', '--batch-check'], { cwd: mirror, input: candidates.map((c) => `${c}^{commit}\n`).join('') });
  for (const line of out.split('\n')) {
    const match = /^([0-9a-f]{40,64}) commit \d+$/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** What the mirror holds for each name (an object id and its type), in one `cat-file`; missing names are left out. */
async function lookUp(mirror: string, names: string[]): Promise<Map<string, { id: string; type: string }>> {
  const found = new Map<string, { id: string; type: string }>();
  if (names.length === 0) return found;
  const out = await gitText(['cat-file', '--batch-check'], { cwd: mirror, input: names.map((n) => `${n}\n`).join('') });
  // One answer line per query line, in order: `<id> <type> <size>`, or `<name> missing` / `ambiguous`.
  out.split('\n').forEach((line, i) => {
    const match = /^([0-9a-f]{40,64}) (\w+) \d+$/.exec(line);
    const name = names[i];
    if (match && name !== undefined) found.set(name, { id: match[1]!, type: match[2]! });
  });
  return found;
}

/** The worktree's git dir, from the `.git` file `worktree add` just wrote (before any task ran). */
function readGitDir(path: string): string {
  const match = /^gitdir: (.+)$/m.exec(readFileSync(join(path, '.git'), 'utf8'));
  if (!match?.[1]) throw new WorkspaceError(`the worktree at ${path} has no git dir`);
  return match[1].trim();
}

/** Gives every file of the fresh checkout to the task's uid (links themselves, never their targets). */
function chownTree(path: string, owner: { uid: number; gid: number }): void {
  lchownSync(path, owner.uid, owner.gid);
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    lchownSync(join(entry.parentPath, entry.name), owner.uid, owner.gid);
  }
}

function isPlainDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
