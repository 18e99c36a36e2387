/*
 * Killing a task's whole process tree. node-pty starts the tool as a session leader, so its pid
 * is also its process-group id and `kill(-pgid)` reaches every child that did not deliberately
 * leave the group (platform-notes.md). Escalation: SIGTERM, then SIGKILL if anything is left after
 * the grace period. Zombies count as gone: an orphan killed here is reparented to PID 1, which may
 * reap it late, but it no longer runs.
 *
 * Two additions for isolated tasks (see execution/task-isolation.ts):
 *  - `uid`: the task runs under a uid no other process uses, so "the tree" is also every process
 *    of that uid — a child that left the group with `setsid` is still found and killed.
 *  - `spareLeader`: the leader is a bubblewrap monitor whose death takes the whole sandbox (its
 *    pid namespace) down at once; SIGTERM goes to the rest of the group only, so the tool gets its
 *    grace period, and the SIGKILL to the leader at the end ends everything left in the sandbox.
 * Proven by process-group.unit.spec.ts and the cancel/timeout cases in test/worker-agent.int.spec.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** What belongs to one task: its process group, and with `uid` every process of that uid. */
export interface ProcessTree {
  pgid: number;
  /** A uid that only this task uses (isolated tasks); undefined = the group only. */
  uid?: number;
  /** The group leader is a sandbox monitor that must get SIGKILL only (see above). */
  spareLeader?: boolean;
}

/** Sends `signal` to every process in the group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while some live (non-zombie) process is in the group. */
export function groupAlive(pgid: number): boolean {
  if (process.platform !== 'linux') return signalGroup(pgid, 0);
  return members({ pgid }).length > 0;
}

/** True while some live process of the tree (its group, or its uid) runs. */
export function treeAlive(tree: ProcessTree): boolean {
  if (process.platform !== 'linux') return signalGroup(tree.pgid, 0);
  return members(tree).length > 0;
}

/** True if `pid` runs (exists and is not a zombie). */
export function processAlive(pid: number): boolean {
  if (process.platform === 'linux') {
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live pids in the tree's group or (with `uid`) running as its uid. */
function members(tree: ProcessTree): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const pid = Number(entry);
    const stat = readProcStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') continue;
    if (stat.pgrp === tree.pgid || (tree.uid !== undefined && realUid(pid) === tree.uid)) found.push(pid);
  }
  return found;
}

/**
 * CPU time the tree's live processes have used, in clock ticks (utime + stime, plus cutime +
 * cstime: the children they already reaped, so a shell looping over short commands counts). The
 * watchdog compares successive samples (execution/stall-watch.ts); the sum can drop when a member
 * exits unreaped. Undefined off Linux (no /proc).
 */
export function treeCpuTicks(tree: ProcessTree): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let ticks = 0;
  for (const pid of members(tree)) ticks += readProcStat(pid)?.cpuTicks ?? 0;
  return ticks;
}

function readProcStat(pid: number): { state: string; pgrp: number; cpuTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: parse after its last ')'.
  // From there fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[11..14] fields 14–17 (utime, stime, cutime, cstime).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = [11, 12, 13, 14].reduce((sum, i) => sum + (Number(fields[i]) || 0), 0);
  return { state: fields[0] ?? '', pgrp: Number(fields[2]), cpuTicks };
}

/** The real uid from /proc/<pid>/status (its owner in /proc can be root for a non-dumpable process). */
function realUid(pid: number): number | undefined {
  try {
    const match = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Signals every process of the tree; with `spareLeader`, SIGTERM skips the leader. */
function signalTree(tree: ProcessTree, signal: NodeJS.Signals): void {
  if (!tree.spareLeader && tree.uid === undefined) {
    signalGroup(tree.pgid, signal);
    return;
  }
  if (!tree.spareLeader || signal === 'SIGKILL') signalGroup(tree.pgid, signal);
  if (process.platform !== 'linux') return;
  for (const pid of members(tree)) {
    if (tree.spareLeader && signal !== 'SIGKILL' && pid === tree.pgid) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

export interface KillTreeOptions extends Omit<ProcessTree, 'pgid'> {
  /** Time between SIGTERM and SIGKILL. Default 2 s. */
  graceMs?: number;
  /** How often to look whether the tree is gone. Default 50 ms. */
  pollMs?: number;
}

/** SIGTERM the tree, SIGKILL whatever is left after the grace period; resolves once it is gone. */
export async function killProcessTree(pgid: number, options: KillTreeOptions = {}): Promise<void> {
  const graceMs = options.graceMs ?? 2_000;
  const pollMs = options.pollMs ?? 50;
  const tree: ProcessTree = { pgid, uid: options.uid, spareLeader: options.spareLeader };
  if (!treeAlive(tree)) return;
  signalTree(tree, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (!treeAlive(tree)) return;
  }
  // SIGKILL cannot be caught; give the kernel a moment to tear the processes down (a process
  // forked between two sweeps of a uid is caught by the next one).
  for (let i = 0; i < 40 && treeAlive(tree); i++) {
    signalTree(tree, 'SIGKILL');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
