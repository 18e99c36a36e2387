/*
 * The watchdog of a running attempt. An attempt is stalled when three signs of life were all
 * still for the policy's `stallSeconds`: its output (the PTY's last byte), the CPU time of its
 * process tree (/proc/<pid>/stat of every process of the attempt — its group, and with a task uid
 * every process of that uid, so a child that left with setsid counts too: system/process-group.ts),
 * and the newest mtime in its working directory (a bounded walk: at most `maxEntries` entries,
 * `.git` skipped, links not followed).
 *
 * Invariant: a stall is flagged once; only new activity (output, CPU beyond the idle allowance,
 * a file change) re-arms the watch, and the next stall is counted from that activity. The
 * decision is the pure `observeStall` (stall-watch.unit.spec.ts); `StallWatch` only samples.
 * The task's policy (contracts' `watchdogSchema`) says what follows; the agent acts on it
 * (agent/worker-agent.ts) and the tasks service records it (TaskStalled).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { watchdogSchema, type WatchdogAction } from '@agentyard/contracts/agent';
import { treeCpuTicks, type ProcessTree } from '../system/process-group';

export interface StallPolicy {
  stallSeconds: number;
  action: WatchdogAction;
}

/**
 * Lowers every policy's stallSeconds on this worker, for tests only (the API refuses less than
 * 10 s): a positive whole number of seconds.
 */
export const testStallSecondsEnvName = 'AGENTYARD_TEST_STALL_SECONDS';

/**
 * The attempt's policy: the task's own `watchdog`, else the worker's default (`--stall-seconds`,
 * which only notifies), else none (0 = off).
 */
export function stallPolicyOf(input: object, workerDefaultSeconds: number, hostEnv: NodeJS.ProcessEnv = {}): StallPolicy | undefined {
  const own = watchdogSchema.safeParse((input as { watchdog?: unknown }).watchdog);
  const policy: StallPolicy | undefined = own.success
    ? own.data
    : workerDefaultSeconds > 0
      ? { stallSeconds: workerDefaultSeconds, action: 'notify' }
      : undefined;
  const override = Number(hostEnv[testStallSecondsEnvName]);
  if (policy && Number.isInteger(override) && override > 0) return { ...policy, stallSeconds: override };
  return policy;
}

/** The result error of an attempt the watchdog failed. */
export function stallError(silentSeconds: number): string {
  return `stalled: no output, CPU or file change for ${silentSeconds} s`;
}

/** One look at the attempt. Times in ms since the epoch. */
export interface ActivitySample {
  at: number;
  /** When the attempt last printed (its start, before any output). */
  lastOutputAt: number;
  /** CPU ticks of the process tree; undefined when unknown (no /proc). */
  cpuTicks: number | undefined;
  /** The newest mtime in the working directory; undefined when it cannot be read. */
  newestMtimeMs: number | undefined;
}

export interface StallState {
  /** The last time output, CPU or a file change was seen. */
  lastActivityAt: number;
  cpuTicks: number | undefined;
  newestMtimeMs: number | undefined;
  /** The current stall was reported; no second report until activity re-arms the watch. */
  flagged: boolean;
}

/** The state at the attempt's start (its first sample is the baseline). */
export function initialStallState(first: ActivitySample): StallState {
  return { lastActivityAt: Math.max(first.at, first.lastOutputAt), cpuTicks: first.cpuTicks, newestMtimeMs: first.newestMtimeMs, flagged: false };
}

export interface StallDecision {
  state: StallState;
  /** Set when this sample completes a stall: how long the attempt was silent, in whole seconds. */
  stalled?: { silentSeconds: number };
}

/**
 * Folds one sample in. `idleCpuTicks`: CPU ticks between two samples that still count as idle
 * (an idle runtime's timers, the sandbox monitor); more is activity.
 */
export function observeStall(state: StallState, sample: ActivitySample, stallSeconds: number, idleCpuTicks = 0): StallDecision {
  let lastActivityAt = state.lastActivityAt;
  if (sample.lastOutputAt > lastActivityAt) lastActivityAt = sample.lastOutputAt;
  const cpuMoved = sample.cpuTicks !== undefined && state.cpuTicks !== undefined && sample.cpuTicks - state.cpuTicks > idleCpuTicks;
  const filesMoved = sample.newestMtimeMs !== state.newestMtimeMs;
  if (cpuMoved || filesMoved) lastActivityAt = Math.max(lastActivityAt, sample.at);
  const rearmed = lastActivityAt !== state.lastActivityAt;
  const next: StallState = {
    lastActivityAt,
    cpuTicks: sample.cpuTicks,
    newestMtimeMs: sample.newestMtimeMs,
    flagged: rearmed ? false : state.flagged,
  };
  const silentMs = sample.at - lastActivityAt;
  if (next.flagged || silentMs < stallSeconds * 1000) return { state: next };
  return { state: { ...next, flagged: true }, stalled: { silentSeconds: Math.floor(silentMs / 1000) } };
}

/**
 * The newest mtime (ms) of `root` and what lies under it, looking at no more than `maxEntries`
 * entries (breadth first, so the top of a huge tree is seen); `.git` is skipped (git's own
 * bookkeeping), symbolic links are not followed. Undefined when `root` cannot be read.
 */
export function newestMtime(root: string, maxEntries = 5_000): number | undefined {
  let newest: number;
  try {
    newest = lstatSync(root).mtimeMs;
  } catch {
    return undefined;
  }
  const queue = [root];
  let seen = 0;
  while (queue.length > 0 && seen < maxEntries) {
    const dir = queue.shift()!;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // gone or unreadable meanwhile
    }
    for (const entry of entries) {
      if (seen++ >= maxEntries) break;
      if (entry.name === '.git') continue;
      const path = join(dir, entry.name);
      try {
        newest = Math.max(newest, lstatSync(path).mtimeMs);
      } catch {
        continue;
      }
      if (entry.isDirectory()) queue.push(path);
    }
  }
  return newest;
}

/** Ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const ticksPerSecond = 100;
/** The share of one core an attempt may use and still count as idle. */
const idleCpuShare = 0.01;

export interface StallWatchOptions {
  policy: StallPolicy;
  tree: ProcessTree;
  /** The attempt's working directory (its root). */
  dir: string;
  /** Called once per stall, with how long the attempt has been silent. */
  onStall(silentSeconds: number): void;
  now?: () => number;
}

/** Samples one attempt every few seconds (a quarter of stallSeconds, 1–5 s) until stopped. */
export class StallWatch {
  /** The attempt's result error once a `fail` policy acted on a stall. */
  failure: string | undefined;
  private lastOutputAt: number;
  private state: StallState;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly idleCpuTicks: number;

  constructor(private readonly options: StallWatchOptions) {
    this.now = options.now ?? Date.now;
    this.lastOutputAt = this.now();
    const intervalMs = Math.min(5_000, Math.max(1_000, (options.policy.stallSeconds * 1000) / 4));
    this.idleCpuTicks = Math.ceil((intervalMs / 1000) * ticksPerSecond * idleCpuShare);
    this.state = initialStallState(this.sample());
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** The attempt printed something. */
  noteOutput(): void {
    this.lastOutputAt = this.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const decision = observeStall(this.state, this.sample(), this.options.policy.stallSeconds, this.idleCpuTicks);
    this.state = decision.state;
    if (!decision.stalled) return;
    if (this.options.policy.action === 'fail') this.failure ??= stallError(decision.stalled.silentSeconds);
    this.options.onStall(decision.stalled.silentSeconds);
  }

  private sample(): ActivitySample {
    return { at: this.now(), lastOutputAt: this.lastOutputAt, cpuTicks: treeCpuTicks(this.options.tree), newestMtimeMs: newestMtime(this.options.dir) };
  }
}
