/*
 * Applies the isolation chosen at start (isolation.decide.ts) to each attempt: its directories,
 * the uid it runs as, the command prefix that confines it, and the variables that go with it.
 *
 * Invariants (proven by test/task-isolation.int.spec.ts, test/worker-agent.int.spec.ts and the
 * gateway's shared-worker e2e):
 *  - an isolated task cannot read `<state-dir>` (worker.json, other attempts' directories): with
 *    bubblewrap a tmpfs covers it and only the attempt's own directories are bound back; with a
 *    task uid it is closed by permissions (state dir 0711, worker.json 0600, attempts 0700 of
 *    their own uid);
 *  - it cannot see the agent's process (/proc/<pid>/environ, /mem): bubblewrap gives it a pid
 *    namespace of its own; a task uid is another user, which /proc refuses;
 *  - everything it starts dies with it: the sandbox's pid namespace ends with its init, and a
 *    task uid is used by one attempt only, so every process of it belongs to the task;
 *  - the choice is probed at start with the same command line tasks get, on a canary file in the
 *    state dir: a level that cannot hide the canary is not used.
 * As root, the task never stays root: bubblewrap runs privileged and `setpriv` switches to a uid
 * from a range nothing else uses (taskUidRange), one per attempt, with no groups, no
 * capabilities and no_new_privs.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { WorkerIsolation } from '@agentyard/contracts/agent';
import type { TaskLaunch } from '../execution/task-process';
import { createWorkDir, removeWorkDir, type WorkDir } from '../execution/work-dir';
import { findExecutable } from '../tools/executable-lookup';
import { candidatesFor, describeIsolation, missingFor, refusalMessage, type IsolationFacts, type IsolationMode } from './isolation.decide';

/**
 * Task uids: 0x70000000 + up to 2²⁴, just above the range systemd hands to containers
 * (524288–1879048191) and far above login users, subuid ranges and systemd's dynamic users.
 */
export const taskUidRange = { first: 0x7000_0000, size: 0x100_0000 } as const;
/** The name a task uid gets in the sandbox's /etc/passwd, and in USER/LOGNAME. */
export const taskUserName = 'agentyard-task';

/** What one attempt runs with. */
export interface PreparedAttempt {
  dir: WorkDir;
  /** Undefined when tasks are not isolated. */
  launch: TaskLaunch | undefined;
  /** Variables for the task's environment (HOME, TMPDIR, USER), on top of the allow-listed ones. */
  env: Record<string, string>;
}

/** The uid/gid the attempt's files must belong to, when not the agent's. */
export function ownerOf(prepared: PreparedAttempt): { uid: number; gid: number } | undefined {
  const uid = prepared.launch?.uid;
  return uid === undefined ? undefined : { uid, gid: uid };
}

export class TaskIsolation {
  private readonly uidsInUse = new Set<number>();

  constructor(
    readonly level: WorkerIsolation,
    private readonly facts: IsolationFacts,
    /** The state dir with symlinks resolved (bubblewrap mounts on real paths). */
    private readonly stateDir: string,
  ) {}

  /** For the log and doctor. */
  get description(): string {
    return describeIsolation(this.level, this.facts);
  }

  /** Creates the attempt's directories and says how to launch it. Throws WorkDirError for a bad cwd. */
  prepare(taskId: string, attempt: number, cwd: string | undefined, options: { workspace?: boolean } = {}): PreparedAttempt {
    const { workspace } = options;
    if (this.level === 'none') return { dir: createWorkDir(this.stateDir, taskId, attempt, cwd, { workspace }), launch: undefined, env: {} };
    const uid = this.facts.isRoot ? this.allocateUid() : undefined;
    try {
      const owner = uid === undefined ? undefined : { uid, gid: uid };
      const dir = createWorkDir(this.stateDir, taskId, attempt, cwd, { sandbox: true, owner, workspace });
      const sandbox = dir.sandbox!;
      const user: Record<string, string> = uid === undefined ? {} : { USER: taskUserName, LOGNAME: taskUserName };
      if (this.level === 'task-user') {
        return {
          dir,
          launch: { prefix: setprivPrefix(this.facts.setpriv!, uid!), uid },
          env: { HOME: sandbox.home, TMPDIR: sandbox.tmp, ...user },
        };
      }
      const identity = uid === undefined ? undefined : writeIdentityFiles(sandbox.dir, uid, sandbox.home);
      const prefix = bubblewrapPrefix(this.facts.bwrap!, {
        stateDir: this.stateDir,
        dir,
        identity,
        setpriv: uid === undefined ? undefined : setprivPrefix(this.facts.setpriv!, uid),
        masks: hostMasks(),
      });
      return { dir, launch: { prefix, uid, spareLeader: true, pidNamespace: true }, env: { HOME: sandbox.home, ...user } };
    } catch (error) {
      if (uid !== undefined) this.uidsInUse.delete(uid);
      throw error;
    }
  }

  /** Removes the attempt's directories and frees its uid; call once its process tree is gone. */
  release(prepared: PreparedAttempt): void {
    removeWorkDir(prepared.dir);
    if (prepared.launch?.uid !== undefined) this.uidsInUse.delete(prepared.launch.uid);
  }

  private allocateUid(): number {
    const passwd = readOrEmpty('/etc/passwd');
    const running = processUids();
    for (;;) {
      const uid = taskUidRange.first + randomInt(taskUidRange.size);
      if (this.uidsInUse.has(uid) || running.has(uid) || new RegExp(`^[^:]*:[^:]*:${uid}:`, 'm').test(passwd)) continue;
      this.uidsInUse.add(uid);
      return uid;
    }
  }
}

/** `setpriv … --` switching to `uid` with no groups, no capabilities and no_new_privs. */
export function setprivPrefix(setpriv: string, uid: number): string[] {
  return [setpriv, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--'];
}

export interface SandboxSpec {
  stateDir: string;
  dir: WorkDir;
  /** passwd/group files naming the task uid (root only). */
  identity: { passwd: string; group: string } | undefined;
  /** The uid switch run inside the sandbox (root only). */
  setpriv: string[] | undefined;
  /** Host paths to cover: directories get a tmpfs, sockets /dev/null; `programs` are bound back read-only inside covered dirs. */
  masks: { dirs: string[]; files: string[]; programs?: string[] };
}

/**
 * `bwrap … --`: the host read-only; new /dev, /proc (own pid namespace), IPC namespace; the
 * attempt's tmp as /tmp; a tmpfs over the state dir with only the attempt's directory and HOME
 * bound back (read-write) at their own paths; dies with the agent. As root, privileged with just
 * the capabilities `setpriv` needs to drop to the task uid (dropped with the switch).
 */
export function bubblewrapPrefix(bwrap: string, spec: SandboxSpec): string[] {
  const sandbox = spec.dir.sandbox;
  if (!sandbox) throw new Error('a sandboxed attempt needs its sandbox directories');
  const args = [bwrap, '--die-with-parent', '--unshare-pid', '--unshare-ipc'];
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--perms', '1777', '--tmpfs', '/dev/shm');
  // The agent's home first: a state dir inside it (the default ~/.agentyard) is mounted again inside the covered home.
  for (const dir of spec.masks.dirs) args.push('--tmpfs', dir);
  // Programs installed in a covered home (nvm's node, ~/.local/bin) must still run: their prefix comes back read-only.
  for (const dir of spec.masks.programs ?? []) args.push('--ro-bind-try', dir, dir);
  // /tmp next: a state dir under /tmp (tests) is then covered inside the private /tmp.
  args.push('--bind', sandbox.tmp, '/tmp', '--tmpfs', spec.stateDir);
  // Mount points inside the tmpfs: made explicitly, since bwrap would make them 0700 (root's, as root).
  for (const dir of [dirname(spec.dir.root), sandbox.dir]) args.push('--perms', '0711', '--dir', dir);
  args.push('--bind', spec.dir.root, spec.dir.root, '--bind', sandbox.home, sandbox.home);
  for (const file of spec.masks.files) args.push('--ro-bind', '/dev/null', file);
  if (spec.identity) args.push('--ro-bind', spec.identity.passwd, '/etc/passwd', '--ro-bind', spec.identity.group, '/etc/group');
  if (spec.setpriv) args.push('--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID');
  args.push('--chdir', spec.dir.cwd, '--', ...(spec.setpriv ?? []));
  return args;
}

/**
 * Host paths a sandboxed task would use to act as the agent's user outside the sandbox: its home
 * (`~/.ssh`, cloud and CLI logins — readable by a task that runs as the same user), the per-user
 * runtime dirs (systemd --user, the D-Bus session bus) and container engine sockets.
 */
function hostMasks(): SandboxSpec['masks'] {
  const homes = agentHomes().filter((p) => existsSync(p));
  const dirs = [...homes, '/run/user'].filter((p) => existsSync(p));
  const programs = programPrefixesIn(homes, [...(process.env.PATH ?? '').split(':'), dirname(process.execPath)]);
  const files = ['/run/docker.sock', '/run/podman/podman.sock', '/run/containerd/containerd.sock'].filter((p) => existsSync(p));
  return { dirs, files, programs };
}

/** Install prefixes (`…/bin` → its parent) of program dirs that lie in a covered home. */
export function programPrefixesIn(homes: string[], dirs: string[]): string[] {
  const prefixes = new Set<string>();
  for (const dir of dirs) {
    if (!dir.startsWith('/') || !homes.some((home) => dir.startsWith(`${home}/`))) continue;
    const prefix = basename(dir) === 'bin' ? dirname(dir) : dir;
    if (!homes.includes(prefix)) prefixes.add(prefix);
  }
  return [...prefixes];
}

/** The agent user's home directories (HOME and the passwd entry's), never `/`. */
function agentHomes(): string[] {
  const homes = new Set<string>();
  for (const home of [process.env.HOME, safeHomedir()]) if (home && home !== '/' && home.startsWith('/')) homes.add(home);
  return [...homes];
}

function safeHomedir(): string | undefined {
  try {
    return userInfo().homedir;
  } catch {
    return undefined;
  }
}

/** The host's passwd and group plus an entry for `uid`, so `whoami`, ssh and os.userInfo() work. */
function writeIdentityFiles(dir: string, uid: number, home: string): { passwd: string; group: string } {
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  writeFileSync(passwd, `${withNewline(readOrEmpty('/etc/passwd'))}${taskUserName}:x:${uid}:${uid}:Agentyard task:${home}:/bin/sh\n`, { mode: 0o644 });
  writeFileSync(group, `${withNewline(readOrEmpty('/etc/group'))}${taskUserName}:x:${uid}:\n`, { mode: 0o644 });
  return { passwd, group };
}

const withNewline = (text: string): string => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Uids at or above the task range that running processes have, by the owner of `/proc/<pid>`
 * (one stat each; reading every process's status file made this the agent's largest cost per
 * task on a machine with many processes). A process that made itself non-dumpable shows as root
 * there and is missed; this check only lowers the 1-in-16-million chance of drawing a uid another
 * agent's running task holds, and a task's own leftovers are killed by uid (process-group.ts's
 * real-uid walk) before its uid is freed.
 */
function processUids(): Set<number> {
  const uids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    try {
      const uid = statSync(`/proc/${entry}`).uid;
      if (uid >= taskUidRange.first) uids.add(uid);
    } catch {
      // gone meanwhile
    }
  }
  return uids;
}

/** What the machine offers, for `missingFor`. */
export function gatherFacts(stateDir: string, env: NodeJS.ProcessEnv = process.env): IsolationFacts {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const search = `${env.PATH ?? ''}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;
  // AGENTYARD_BWRAP names the bubblewrap binary (a non-standard install, or a path that does not
  // exist to turn bubblewrap off).
  const bwrap = env.AGENTYARD_BWRAP !== undefined ? findExecutable(env.AGENTYARD_BWRAP) : findExecutable('bwrap', search);
  return {
    user: currentUser(),
    isRoot,
    bwrap,
    setpriv: process.platform === 'linux' ? findExecutable('setpriv', search) : undefined,
    stateDirBlockedBy: isRoot ? blockedAncestor(stateDir) : undefined,
  };
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** The first directory above `dir` that others may not enter (no o+x), if any. */
function blockedAncestor(dir: string): string | undefined {
  for (let path = dirname(dir); ; path = dirname(path)) {
    try {
      if ((statSync(path).mode & 0o001) === 0) return path;
    } catch {
      return path;
    }
    if (path === dirname(path)) return undefined;
  }
}

export type DetectedIsolation = { ok: true; isolation: TaskIsolation; tried: string[] } | { ok: false; message: string };

/**
 * Finds the best level the mode allows and proves it with a probe; the state dir must exist.
 * With `none` nothing is probed. Prepares the state dir's permissions for the level.
 */
export async function detectIsolation(mode: IsolationMode, stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<DetectedIsolation> {
  const realStateDir = realpathSync(stateDir);
  const facts = gatherFacts(realStateDir, env);
  const problems: string[] = [];
  if (process.platform !== 'linux' && mode !== 'none') {
    return { ok: false, message: refusalMessage(mode, [`task isolation needs Linux (this is ${process.platform})`], facts) };
  }
  for (const level of candidatesFor(mode)) {
    if (level === 'none') return { ok: true, isolation: new TaskIsolation('none', facts, realStateDir), tried: problems };
    const missing = missingFor(level, facts);
    if (missing) {
      problems.push(`${level}: ${missing}`);
      continue;
    }
    prepareStateDir(level, realStateDir);
    const isolation = new TaskIsolation(level, facts, realStateDir);
    const failure = await probe(isolation, realStateDir);
    if (!failure) return { ok: true, isolation, tried: problems };
    problems.push(`${level}: ${failure}`);
  }
  return { ok: false, message: refusalMessage(mode, problems, facts) };
}

/** task-user: others may pass through the state dir (not list it) to reach their attempt. */
function prepareStateDir(level: WorkerIsolation, stateDir: string): void {
  const work = join(stateDir, 'work');
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const mode = level === 'task-user' ? 0o711 : 0o700;
  chmodSync(stateDir, mode);
  chmodSync(work, mode);
}

/**
 * Runs one throwaway attempt the way tasks run: it must write its directory, HOME and /tmp, and
 * must not read a canary file the agent put in the state dir. Returns what failed, if anything.
 */
async function probe(isolation: TaskIsolation, stateDir: string): Promise<string | undefined> {
  const id = `isolation-probe-${randomBytes(6).toString('hex')}`;
  const canary = join(stateDir, `.${id}`);
  writeFileSync(canary, 'canary\n', { mode: 0o600 });
  let prepared: PreparedAttempt | undefined;
  try {
    prepared = isolation.prepare(id, 1, undefined);
    const { launch, dir, env } = prepared;
    const script = `touch "$HOME/.probe" "\${TMPDIR:-/tmp}/.probe" ./probe-ok || exit 3; if cat "$1" >/dev/null 2>&1; then exit 4; fi`;
    const argv = [...(launch?.prefix ?? []), '/bin/sh', '-c', script, 'probe', canary];
    const [file, ...args] = argv as [string, ...string[]];
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(file, args, { cwd: dir.cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 15_000 }, (error, _stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr: String(stderr) }),
      );
    });
    if (result.code === 4) return 'a probe task could read a file in the state dir';
    if (result.code !== 0 || !existsSync(join(dir.root, 'probe-ok'))) {
      const why = result.stderr.trim().split('\n')[0] ?? '';
      return `a probe task failed (exit ${result.code ?? 'by signal'}${why ? `: ${why}` : ''})`;
    }
    return undefined;
  } catch (error) {
    return `could not prepare a probe task: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    if (prepared) isolation.release(prepared);
    rmSync(canary, { force: true });
  }
}
