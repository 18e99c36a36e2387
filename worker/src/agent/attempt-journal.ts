/*
 * What the agent must remember across its own `kill -9`: the attempts it holds. Without it, an
 * agent killed and restarted within the platform's offline threshold (15 s) comes back knowing
 * nothing, its worker never goes offline, and the tasks it was running stay `running` until their
 * timeout (an hour by default) — found by the crash matrix (`npm run chaos`, row "worker agent").
 *
 * Invariant: an attempt has a file `<state-dir>/attempts/<task>-<attempt>.json` from the moment the
 * agent takes it (before its process can start) until its `finished` report is stored; the report
 * is written into the file before it is sent. At start, every file left ends its attempt:
 *   - with that report when there is one (the process had finished; the report was lost with the
 *     agent), so the work is not run again;
 *   - else handed back: the process died with the agent (bubblewrap's --die-with-parent) or is killed
 *     now (its process group, when the pid still names the process the agent started), and the
 *     platform requeues the attempt.
 * What remains is at-least-once: a process that finished its work in the instant before the agent
 * died, before the report reached the file, runs again. Files are written without fsync: they
 * survive the agent's death, not the machine's (then the worker goes offline and the platform requeues).
 * Tested by worker/test/agent-restart.int.spec.ts and bench/chaos (row "worker agent").
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkReport } from '@agentyard/contracts/agent';

export interface JournalEntry {
  taskId: string;
  attempt: number;
  /** The attempt's process group leader, and its start time in clock ticks (so a reused pid is not killed). */
  process?: { pid: number; startTicks: number };
  /** The `finished` report, once the attempt ended. */
  report?: WorkReport;
}

export class AttemptJournal {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'attempts');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The agent took the attempt. */
  begin(taskId: string, attempt: number): void {
    this.write({ taskId, attempt });
  }

  /** Its process started (pid = its process group). */
  started(taskId: string, attempt: number, pid: number | undefined): void {
    const startTicks = pid === undefined ? undefined : processStartTicks(pid);
    if (pid === undefined || startTicks === undefined) return;
    this.write({ taskId, attempt, process: { pid, startTicks } });
  }

  /** It ended: the report that says how, kept until it is stored. */
  finished(report: WorkReport): void {
    this.write({ taskId: report.taskId, attempt: report.attempt, report });
  }

  /** Its report is stored: nothing left to remember. */
  end(taskId: string, attempt: number): void {
    rmSync(this.path(taskId, attempt), { force: true });
  }

  /** The attempts a previous run of the agent left unfinished (unreadable files are dropped). */
  leftovers(): JournalEntry[] {
    const entries: JournalEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      if (!name.endsWith('.json')) {
        rmSync(file, { force: true }); // a write cut short by the kill
        continue;
      }
      try {
        const entry = JSON.parse(readFileSync(file, 'utf8')) as JournalEntry;
        if (typeof entry.taskId === 'string' && Number.isInteger(entry.attempt)) entries.push(entry);
        else rmSync(file, { force: true });
      } catch {
        rmSync(file, { force: true });
      }
    }
    return entries;
  }

  private path(taskId: string, attempt: number): string {
    return join(this.dir, `${taskId}-${attempt}.json`);
  }

  /** Write then rename: a kill mid-write leaves the previous content or a stray temp file, never half a file. */
  private write(entry: JournalEntry): void {
    const target = this.path(entry.taskId, entry.attempt);
    const temp = `${target}.tmp`;
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, target);
  }
}

/** Field 22 of /proc/<pid>/stat (start time), or undefined when the process is gone. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/**
 * Kills what is left of a journaled attempt's process group (SIGKILL). The group is ours while its
 * leader is the process the agent started (same start time), or while the leader is gone but the
 * group is not: Linux does not hand out a pid still in use as a process group id. A leader pid that
 * now names another process means the group ended and the pid was reused: nothing is killed.
 */
export function killLeftover(entry: JournalEntry): boolean {
  const p = entry.process;
  if (!p) return false;
  const ticks = processStartTicks(p.pid);
  if (ticks !== undefined && ticks !== p.startTicks) return false;
  try {
    process.kill(-p.pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
