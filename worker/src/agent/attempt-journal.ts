/*
 * What the agent must remember across its own `kill -9`: the attempts it holds. Without it, an
 * agent killed and restarted within the platform's offline threshold (15 s) comes back knowing
 * nothing, its worker never goes offline, and the tasks it was running stay `running` until their
 * timeout (an hour by default) — found by the crash matrix (`npm run chaos`, row "worker agent").
 *
 * Invariant: an attempt has an entry in the journal from the moment the agent takes it (before its
 * process can start) until its `finished` report is stored; the report is written into the entry
 * before it is sent. At start, every entry left ends its attempt:
 *   - with that report when there is one (the process had finished; the report was lost with the
 *     agent), so the work is not run again;
 *   - else handed back: the process died with the agent (bubblewrap's --die-with-parent) or is killed
 *     now (its process group, when the pid still names the process the agent started), and the
 *     platform requeues the attempt.
 *   - with a report made at the restart when the attempt's wrapper had written its tool's exit
 *     status (leftover-attempt.ts): the tool exited while the agent had not yet seen it.
 * What remains is at-least-once: a process that finished its work in the instant before the agent
 * died, before its exit status reached the file, runs again. Nothing is fsynced: the journal survives
 * the agent's death, not the machine's (then the worker goes offline and the platform requeues).
 * Tested by worker/test/agent-restart.int.spec.ts, attempt-journal.unit.spec.ts and bench/chaos
 * (row "worker agent").
 *
 * Stored as one append-only file, `<state-dir>/attempts/journal.log`: a JSON line per change —
 * the attempt's whole entry, or `{"taskId","attempt","end":true}` — and an attempt's last line is
 * its state. An append is one write(2) of a short line and no change to the directory. Before, it
 * was a file per attempt, replaced (write, rename) three times and then unlinked: on a disk that
 * Postgres fsyncs, those waited for the filesystem's journal on the agent's only thread — 1.7 s of
 * unlink and 0.6 s of rename over ~1,000 no-op tasks in a CPU profile of a busy agent. A kill
 * mid-append leaves at most a partial last line, which is skipped. The file is rewritten with only
 * the attempts held (a temp file renamed over it) at start, and emptied whenever no attempt is
 * held and it has grown past COMPACT_AFTER_BYTES, so it stays about as small as what it holds.
 * Files of the earlier layout (`<task>-<attempt>.json`) are read at start and folded in.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkReport } from '@agentyard/contracts/agent';

export interface JournalEntry {
  taskId: string;
  attempt: number;
  /** The attempt's process group leader, and its start time in clock ticks (so a reused pid is not killed). */
  process?: { pid: number; startTicks: number };
  /** The tool it ran: a restart reads an agent CLI's usage from the log with that tool's parser (leftover-attempt.ts). */
  tool?: string;
  /** The `finished` report, once the attempt ended. */
  report?: WorkReport;
}

/** Once nothing is held, a log larger than this is emptied. */
const COMPACT_AFTER_BYTES = 256 * 1024;

export class AttemptJournal {
  private readonly dir: string;
  private readonly file: string;
  /** `<taskId>:<attempt>` → the attempt's entry, for every attempt held. */
  private readonly held = new Map<string, JournalEntry>();
  /** What the previous run left (read at start). */
  private readonly previous: JournalEntry[];
  private fd: number;
  private bytes = 0;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'attempts');
    this.file = join(this.dir, 'journal.log');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.load();
    this.previous = [...this.held.values()];
    this.rewrite();
    this.fd = openSync(this.file, 'a', 0o600);
    this.bytes = statSync(this.file).size;
  }

  /** The agent took the attempt. */
  begin(taskId: string, attempt: number): void {
    this.put({ taskId, attempt });
  }

  /** Its process started (pid = its process group), running `tool`. */
  started(taskId: string, attempt: number, pid: number | undefined, tool?: string): void {
    const startTicks = pid === undefined ? undefined : processStartTicks(pid);
    if (pid === undefined || startTicks === undefined) return;
    this.put({ taskId, attempt, process: { pid, startTicks }, ...(tool !== undefined ? { tool } : {}) });
  }

  /** It ended: the report that says how, kept until it is stored. */
  finished(report: WorkReport): void {
    this.put({ taskId: report.taskId, attempt: report.attempt, report });
  }

  /** Its report is stored: nothing left to remember. */
  end(taskId: string, attempt: number): void {
    if (!this.held.delete(keyOf(taskId, attempt))) return;
    this.append(JSON.stringify({ taskId, attempt, end: true }));
    if (this.held.size === 0 && this.bytes > COMPACT_AFTER_BYTES) {
      ftruncateSync(this.fd, 0); // appends go on at the new end
      this.bytes = 0;
    }
  }

  /** The attempts a previous run of the agent left unfinished (unreadable lines and files are dropped). */
  leftovers(): JournalEntry[] {
    return [...this.previous];
  }

  /** Closes the file (the agent keeps it open while it runs). */
  close(): void {
    closeSync(this.fd);
  }

  private put(entry: JournalEntry): void {
    this.held.set(keyOf(entry.taskId, entry.attempt), entry);
    this.append(JSON.stringify(entry));
  }

  private append(line: string): void {
    const data = Buffer.from(`${line}\n`);
    writeSync(this.fd, data);
    this.bytes += data.length;
  }

  /** Folds the log's lines, then any files of the earlier layout, into `held`. */
  private load(): void {
    for (const entry of foldLog(readText(this.file))) this.held.set(keyOf(entry.taskId, entry.attempt), entry);
    for (const name of readdirSync(this.dir)) {
      if (name === 'journal.log') continue;
      const file = join(this.dir, name);
      const record = name.endsWith('.json') ? parseRecord(readText(file)) : undefined;
      if (record && !('end' in record) && !this.held.has(keyOf(record.taskId, record.attempt))) this.held.set(keyOf(record.taskId, record.attempt), record);
      rmSync(file, { force: true }); // folded in, or a temp file of a write cut short
    }
  }

  /** The log with only the attempts held: a temp file renamed over it, so a kill meanwhile leaves the old log whole. */
  private rewrite(): void {
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, [...this.held.values()].map((entry) => `${JSON.stringify(entry)}\n`).join(''), { mode: 0o600 });
    renameSync(temp, this.file);
  }
}

/** The attempts a state dir's journal holds, read without changing it (for a look from outside, e.g. a test). */
export function heldAttempts(stateDir: string): JournalEntry[] {
  return foldLog(readText(join(stateDir, 'attempts', 'journal.log')));
}

/** The entries a log's lines leave held, in the order they were first taken. */
function foldLog(text: string): JournalEntry[] {
  const held = new Map<string, JournalEntry>();
  for (const line of text.split('\n')) {
    const record = parseRecord(line);
    if (!record) continue; // empty, or a write cut short by the kill
    const key = keyOf(record.taskId, record.attempt);
    if ('end' in record) held.delete(key);
    else held.set(key, record);
  }
  return [...held.values()];
}

function keyOf(taskId: string, attempt: number): string {
  return `${taskId}:${attempt}`;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A journal line as an entry or an end marker, or undefined when it is not one. */
function parseRecord(line: string): JournalEntry | (Pick<JournalEntry, 'taskId' | 'attempt'> & { end: true }) | undefined {
  if (!line.trim()) return undefined;
  try {
    const record = JSON.parse(line) as JournalEntry & { end?: unknown };
    if (typeof record.taskId !== 'string' || !Number.isInteger(record.attempt)) return undefined;
    return record.end === true ? { taskId: record.taskId, attempt: record.attempt, end: true } : record;
  } catch {
    return undefined;
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
