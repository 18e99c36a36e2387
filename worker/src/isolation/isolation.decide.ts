/*
 * Which isolation the agent applies to tasks, decided from facts about the machine (pure; the
 * probes live in task-isolation.ts). A task is someone else's code: on a shared worker, another
 * user's. Unisolated, it runs as the agent's user next to `<state-dir>/worker.json` and could read
 * the worker's credential, the agent's memory and other tasks' files. So:
 *  - `bubblewrap`: each task in a sandbox (pid, mount and IPC namespaces; the state dir hidden; a
 *    private /tmp and HOME; the rest of the file system read-only). As root, bubblewrap runs
 *    privileged and the task drops to a uid of its own inside it.
 *  - `task-user` (root without bubblewrap): each task under a uid of its own; the state dir is
 *    closed to it by file permissions.
 *  - `none`: only when the operator asks for it (`--isolation none`). `auto` never falls back to
 *    it silently: with neither mechanism available the agent refuses to start and says what to do.
 * The agent reports its level in every heartbeat, and allocation gives a worker that is not
 * isolated only its owners' tasks. Tested in isolation.decide.unit.spec.ts.
 */
import type { WorkerIsolation } from '@agentyard/contracts/agent';

export const isolationModes = ['auto', 'bubblewrap', 'task-user', 'none'] as const;
/** What the operator asks for (`--isolation`). */
export type IsolationMode = (typeof isolationModes)[number];

/** What the agent found on this machine. */
export interface IsolationFacts {
  /** The agent's user, for messages (e.g. "root", "ada"). */
  user: string;
  isRoot: boolean;
  /** Path of bwrap, if found. */
  bwrap: string | undefined;
  /** Path of setpriv (util-linux), if found: switches a task to its own uid. */
  setpriv: string | undefined;
  /** For task-user: a directory above the state dir other users cannot enter (e.g. /root), if any. */
  stateDirBlockedBy: string | undefined;
}

/** Why `level` cannot work here, or undefined when its prerequisites are met (a probe still runs it). */
export function missingFor(level: Exclude<WorkerIsolation, 'none'>, facts: IsolationFacts): string | undefined {
  if (level === 'bubblewrap') {
    if (!facts.bwrap) return 'bubblewrap (bwrap) is not installed';
    if (facts.isRoot && !facts.setpriv) return 'setpriv (util-linux) is missing: as root, tasks need it to leave root inside the sandbox';
    return undefined;
  }
  if (!facts.isRoot) return `a task user needs the agent to run as root (it runs as ${facts.user})`;
  if (!facts.setpriv) return 'setpriv (util-linux) is missing';
  if (facts.stateDirBlockedBy)
    return `other users cannot enter ${facts.stateDirBlockedBy}, which holds the state dir: pass --state-dir somewhere they can (e.g. /var/lib/agentyard)`;
  return undefined;
}

/** The levels to try for a mode, best first. */
export function candidatesFor(mode: IsolationMode): WorkerIsolation[] {
  switch (mode) {
    case 'auto':
      return ['bubblewrap', 'task-user'];
    case 'bubblewrap':
    case 'task-user':
    case 'none':
      return [mode];
    default: {
      const unreachable: never = mode;
      return unreachable;
    }
  }
}

/** One line for the log and doctor: what a task can and cannot reach at this level. */
export function describeIsolation(level: WorkerIsolation, facts: Pick<IsolationFacts, 'user' | 'isRoot'>): string {
  switch (level) {
    case 'bubblewrap':
      return (
        'bubblewrap: each task runs in its own sandbox (pid, mount and IPC namespaces; the state dir hidden; ' +
        `private /tmp and HOME; the file system read-only outside its directory)${facts.isRoot ? ' under a uid of its own' : ` as ${facts.user}`}`
      );
    case 'task-user':
      return 'task-user: each task runs under a uid of its own (no sandbox: bubblewrap is not used); the state dir and other tasks are closed to it';
    case 'none':
      return (
        `NONE: tasks run as ${facts.user} and can read this worker's credential and the agent's memory; ` +
        "the platform gives this worker only its owners' tasks"
      );
    default: {
      const unreachable: never = level;
      return unreachable;
    }
  }
}

/** Why the agent refuses to start: what is missing for each level it tried, and the ways out. */
export function refusalMessage(mode: IsolationMode, problems: string[], facts: Pick<IsolationFacts, 'user'>): string {
  const what = mode === 'auto' ? 'cannot isolate tasks from this agent' : `cannot apply --isolation ${mode}`;
  return (
    `${what}: ${problems.join('; ')}. ` +
    'Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) or run the agent as root; ' +
    `or start it with --isolation none to run tasks as ${facts.user} — they can then read this worker's credential, ` +
    "so the platform gives it only its owners' tasks."
  );
}
