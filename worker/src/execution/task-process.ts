/*
 * One attempt of one task, running in a PTY (node-pty): tools behave as in a terminal (colours,
 * progress bars, line buffering), and the PTY makes the tool a session and process-group leader,
 * so cancel and timeout can kill the whole tree with one signal to -pid. An isolated task runs
 * behind a launch prefix (bubblewrap, setpriv: isolation/task-isolation.ts), whose sandbox or uid
 * widens "the tree" to everything the task started (system/process-group.ts).
 *
 * Invariants: `finished` resolves only after the tool exited AND its process tree is gone
 * (leftover background children are killed too), so a freed slot never hides running processes.
 * On a normal exit every byte the tool wrote has been passed to `onData` first (completion-marker.ts
 * explains the wrapper that guarantees it). The first stop reason wins; a stop that arrives after
 * a natural exit changes nothing.
 */
import { spawn, type IPty } from 'node-pty';
import { killProcessTree, treeAlive, type ProcessTree } from '../system/process-group';
import { CompletionMarkerFilter, wrapCommand } from './completion-marker';

/** Why the agent, not the tool, ended the run. `budget_exceeded`: the run passed one of the task's caps (budget-watch.ts). */
export type StopReason = 'cancelled' | 'timed_out' | 'handed_back' | 'budget_exceeded';

export interface TaskProcessSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Killed (tree) with reason timed_out after this long; 0 or less = no limit. */
  timeoutSeconds: number;
  /** Output as the PTY delivers it (UTF-8 text). */
  onData(data: string): void;
  /** SIGTERM → SIGKILL grace. Default 2 s. */
  killGraceMs?: number;
  /** How the task is isolated (task-isolation.ts); none = run as the agent's user. */
  launch?: TaskLaunch;
  /** Where the wrapper writes the tool's exit status, a path the task can write (completion-marker.ts). */
  statusFile?: string;
}

/** A command prefix that runs the (wrapped) task isolated, and what then belongs to its tree. */
export interface TaskLaunch {
  /** e.g. `bwrap … --` or `setpriv … --`; the wrapped command follows it. */
  prefix: string[];
  /** The uid only this task runs as, if any: its processes are the task's wherever they went. */
  uid?: number;
  /** The leader is a bubblewrap monitor (see process-group.ts). */
  spareLeader?: boolean;
  /**
   * The task runs in a pid namespace of its own whose init is the leader's child: once the leader
   * has exited by itself, the namespace is empty (the kernel kills and reaps every process in it
   * before its init is gone, and the monitor waits for its init), so nothing can be left behind.
   */
  pidNamespace?: boolean;
}

export interface TaskExit {
  /** Null when a signal ended the process, or the agent stopped it. */
  exitCode: number | null;
  signal: number | null;
  stoppedBy: StopReason | undefined;
  durationMs: number;
}

export class TaskProcess {
  readonly pid: number;
  readonly finished: Promise<TaskExit>;
  private stoppedBy: StopReason | undefined;
  private exited = false;
  private released = false;
  private killing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly pty: IPty;
  /** What belongs to this attempt (its group, with a task uid every process of that uid): the watchdog samples its CPU. */
  readonly tree: ProcessTree;
  private readonly startedAt = Date.now();

  /** Spawns the process; throws if the PTY cannot be created. */
  constructor(private readonly spec: TaskProcessSpec) {
    const wrapped = wrapCommand(spec.file, spec.args, spec.statusFile);
    const filter = new CompletionMarkerFilter(wrapped.marker);
    const [file, ...args] = [...(spec.launch?.prefix ?? []), wrapped.file, ...wrapped.args] as [string, ...string[]];
    this.pty = spawn(file, args, { cwd: spec.cwd, env: spec.env, cols: 160, rows: 48 });
    this.pid = this.pty.pid;
    this.tree = { pgid: this.pid, uid: spec.launch?.uid, spareLeader: spec.launch?.spareLeader };
    const dataSub = this.pty.onData((data) => {
      const output = filter.push(data);
      if (output) spec.onData(output);
      if (filter.complete && !this.released) {
        // All output is in: let the wrapper exit with the tool's status.
        this.released = true;
        this.pty.write('\n');
      }
    });
    this.finished = new Promise<{ exitCode: number; signal?: number }>((resolve) => {
      const exitSub = this.pty.onExit((event) => {
        // Set synchronously, so a stop() racing a natural exit cannot relabel its outcome.
        this.exited = true;
        exitSub.dispose();
        resolve(event);
      });
    }).then(async ({ exitCode, signal }) => {
      if (this.timer) clearTimeout(this.timer);
      // Background children may outlive the leader: kill them before the slot counts as free. A
      // sandbox whose monitor exited by itself is empty already, and looking costs a walk of
      // every process on the machine (most of what a short task cost the agent).
      const emptied = spec.launch?.pidNamespace === true && (signal === undefined || signal === 0);
      await (this.killing ?? (!emptied && treeAlive(this.tree) ? this.killTree() : undefined));
      dataSub.dispose();
      const rest = filter.flush();
      if (rest) spec.onData(rest);
      const bySignal = signal !== undefined && signal !== 0;
      // A stopped tool's status says only how it died (the wrapper outlives it and passes on 143).
      const exit = bySignal || this.stoppedBy ? null : exitCode;
      return { exitCode: exit, signal: bySignal ? signal : null, stoppedBy: this.stoppedBy, durationMs: Date.now() - this.startedAt };
    });
    if (spec.timeoutSeconds > 0) this.timer = setTimeout(() => void this.stop('timed_out'), Math.min(spec.timeoutSeconds * 1000, 2 ** 31 - 1));
  }

  /** Kills the process tree (SIGTERM, SIGKILL after the grace period); resolves when it is gone. */
  stop(reason: StopReason): Promise<void> {
    if (this.exited) return this.killing ?? Promise.resolve();
    this.stoppedBy ??= reason;
    if (this.timer) clearTimeout(this.timer);
    this.killing ??= this.killTree();
    return this.killing;
  }

  private killTree(): Promise<void> {
    return killProcessTree(this.tree.pgid, { graceMs: this.spec.killGraceMs, uid: this.tree.uid, spareLeader: this.tree.spareLeader });
  }
}
