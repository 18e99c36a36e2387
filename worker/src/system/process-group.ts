/*
 * Killing a task's whole process tree. node-pty starts the tool as a session leader, so its pid
 * is also its process-group id and `kill(-pgid)` reaches every child that did not deliberately
 * leave the group (platform-notes.md). Escalation: SIGTERM, then SIGKILL if anything is left after
 * the grace period. Zombies count as gone: an orphan killed here is reparented to PID 1, which may
 * reap it late, but it no longer runs. Proven by the cancel and timeout cases in
 * test/worker-agent.int.spec.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';

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
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
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

function readProcStat(pid: number): { state: string; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: parse after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

export interface KillTreeOptions {
  /** Time between SIGTERM and SIGKILL. Default 2 s. */
  graceMs?: number;
  /** How often to look whether the group is gone. Default 50 ms. */
  pollMs?: number;
}

/** SIGTERM the group, SIGKILL whatever is left after the grace period; resolves once it is gone. */
export async function killProcessTree(pgid: number, options: KillTreeOptions = {}): Promise<void> {
  const graceMs = options.graceMs ?? 2_000;
  const pollMs = options.pollMs ?? 50;
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (!groupAlive(pgid)) return;
  }
  signalGroup(pgid, 'SIGKILL');
  // SIGKILL cannot be caught; give the kernel a moment to tear the processes down.
  for (let i = 0; i < 20 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, pollMs));
}
