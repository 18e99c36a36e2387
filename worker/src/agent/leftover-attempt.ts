/*
 * An attempt a killed agent held whose process had already finished: found at the restart by the
 * exit status the wrapper wrote (execution/completion-marker.ts), so the attempt is reported and
 * its work kept instead of handed back to run again.
 *
 * Why: between a tool's exit and the agent's own record of it (the journal's `finished` line) lie
 * the wrapper's marker, the PTY, node-pty's exit and the agent's event loop. On a busy agent that
 * took tens to hundreds of milliseconds, and the crash matrix's "worker agent" row ran 4–13 tasks
 * of 80 twice: nearly every attempt the killed agent held had finished its work in that window.
 *
 * What the restart can still give: the exit status, the masked log the agent wrote as output came
 * (`<state-dir>/logs/<task>-<attempt>.log`, outside the task's reach) and its tail as the output
 * tail, the structured output and the declared artifacts from the attempt's directory, and an
 * agent CLI's usage, summary and the limit it stopped at: the log holds the stream the agent parsed
 * live, so it is parsed again with the tool's parser (the journal names the tool). Not: the CLI's
 * session files, which a live attempt keeps for a follow-up to resume.
 * A status of 128 or more is a tool ended by a signal — the kill that took the agent, or a stop the
 * agent was making — and is handed back as before. A workspace attempt writes no status: its result
 * is the commit that keeping its work pushes, which a restart does not redo.
 *
 * The status file lies in a directory the task can write, so it is read as hostile: no links, a
 * regular file of the task directory's owner, a few bytes of digits. A task that writes its own
 * status gains nothing it could not get by exiting with it.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { reservedArtifactNames, type TaskResult } from '@agentyard/contracts/agent';
import { addStructuredOutput, readStructuredOutput } from '../execution/structured-output';
import { removeWorkDir } from '../execution/work-dir';
import { collectDeclaredArtifacts } from '../storage/declared-artifacts';
import type { AgentEvent, StreamParser } from '../tools/agent-stream';
import { addAgentOutcome } from './agent-outcome';
import { AgentOutput } from './live-agent-event';

/** Characters of the log kept as the result's output tail (taskResult.outputTail's limit). */
const TAIL_CHARS = 64 * 1024;
/** A log larger than this is not parsed again at a restart (its usage is lost, as before). */
const REPARSE_MAX_BYTES = 64 * 1024 * 1024;

export interface LeftoverPaths {
  /** The attempt's directory (execution/work-dir.ts). */
  root: string;
  /** Its masked log (storage/task-log.ts). */
  log: string;
}

export function leftoverPaths(stateDir: string, taskId: string, attempt: number): LeftoverPaths {
  return { root: join(stateDir, 'work', `${taskId}-${attempt}`), log: join(stateDir, 'logs', `${taskId}-${attempt}.log`) };
}

/** Where the wrapper writes the tool's exit status: beside the structured output, in the task's `.agentyard`. */
export function exitStatusFile(attemptRoot: string): string {
  return join(attemptRoot, '.agentyard', 'exit-status');
}

/** The tool's exit status the wrapper wrote, or undefined (none, or not one the agent wrote the way it expects). */
export function readExitStatus(attemptRoot: string): number | undefined {
  const file = exitStatusFile(attemptRoot);
  try {
    const root = statSync(attemptRoot);
    if (!lstatSync(join(attemptRoot, '.agentyard')).isDirectory()) return undefined;
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile() || stats.uid !== root.uid || stats.size > 8) return undefined;
      const buffer = Buffer.alloc(8);
      const text = buffer.subarray(0, readSync(fd, buffer, 0, 8, 0)).toString('latin1');
      const match = /^(\d{1,3})\n$/.exec(text);
      const status = match ? Number(match[1]) : NaN;
      return status <= 255 ? status : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * The result of a leftover attempt whose tool exited by itself (status below 128), else undefined.
 * `durationMs` is from the log's creation (the spawn) to the status file's last write (the exit).
 * With the tool's stream `parser` (an agent CLI's), the log is parsed again for the usage, the
 * summary and a limit the tool stopped at, as the live attempt would have been.
 */
export function finishedLeftover(
  paths: LeftoverPaths,
  parser?: StreamParser,
): { outcome: 'succeeded' | 'failed' | 'budget_exceeded'; result: TaskResult } | undefined {
  const status = readExitStatus(paths.root);
  if (status === undefined || status >= 128) return undefined;
  const result: TaskResult = { exitCode: status, outputTail: logTail(paths.log), durationMs: durationOf(paths) };
  let outcome: 'succeeded' | 'failed' | 'budget_exceeded' = status === 0 ? 'succeeded' : 'failed';
  const agent = parser ? addAgentOutcome(result, reparsed(paths.log, parser)) : {};
  if (agent.limitMessage) result.error = agent.limitMessage;
  if (agent.limit === 'budget_exceeded') outcome = 'budget_exceeded';
  // As live: an output the task promised but broke fails the attempt, whatever else it says.
  if (!addStructuredOutput(result, readStructuredOutput(join(paths.root, '.agentyard', 'output.json')))) outcome = 'failed';
  return { outcome, result };
}

/** The agent events of a kept (masked) log, parsed again as they were live; none when it cannot be read. */
function reparsed(log: string, parser: StreamParser): AgentEvent[] {
  let fd: number;
  try {
    fd = openSync(log, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return [];
  }
  try {
    if (fstatSync(fd).size > REPARSE_MAX_BYTES) return [];
    return new AgentOutput({ write: () => undefined }, parser).write(readFileSync(fd, 'utf8'), true);
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
}

/** What to upload for a leftover attempt: its log (from the agent's state dir) and its declared artifacts. */
export function leftoverWork(paths: LeftoverPaths): { name: string; bytes: Buffer }[] {
  const uploads: { name: string; bytes: Buffer }[] = [];
  try {
    uploads.push({ name: reservedArtifactNames.log, bytes: readFileSync(paths.log) });
  } catch {
    // No log: the agent died before it opened one.
  }
  uploads.push(...collectDeclaredArtifacts(join(paths.root, 'artifacts')).files);
  return uploads;
}

/** Removes a leftover attempt's directories and log (never throws). */
export function removeLeftover(paths: LeftoverPaths): void {
  removeWorkDir(paths.root);
  removeWorkDir(`${paths.root}.sandbox`);
  rmSync(paths.log, { force: true });
}

function logTail(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    // UTF-8: up to 4 bytes a character; the cut may split one, which decodes as U+FFFD and is dropped.
    const bytes = Math.min(size, TAIL_CHARS * 4);
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, size - bytes);
    const text = buffer.subarray(0, read).toString('utf8');
    return text.slice(Math.max(0, text.length - TAIL_CHARS)).replace(/^\uFFFD+/, '');
  } finally {
    closeSync(fd);
  }
}

function durationOf(paths: LeftoverPaths): number {
  try {
    const started = statSync(paths.log).birthtimeMs || statSync(paths.log).ctimeMs;
    const ended = lstatSync(exitStatusFile(paths.root)).mtimeMs;
    return Math.max(0, Math.round(ended - started));
  } catch {
    return 0;
  }
}
