/*
 * Where the agent CLIs keep a session, and how a follow-up task finds the one it resumes (pure;
 * the copying is tool-sessions.ts). Checked against the real CLIs (test/session-resume.int.spec.ts):
 *
 * - claude-code 2.1.197 keeps its state under CLAUDE_CONFIG_DIR (per attempt:
 *   `<attempt>/.agentyard/claude-home`) and a session in `projects/<cwd as a name>/<id>.jsonl`
 *   (subagents' transcripts beside it). `--resume <id>` looks only in the directory named after
 *   the *current* cwd, so a follow-up, whose worktree lies elsewhere, gets the files under its own
 *   cwd's name (claudeProjectDirName).
 * - codex 0.171 keeps a session in `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`;
 *   `exec resume <id>` finds that file wherever the cwd is (its sqlite state is not needed, and the
 *   resumed turn tells the model the new cwd).
 *
 * A follow-up resumes from the attempt that made its branch: its `workspace.ref` must be exactly
 * `agentyard/<task>-<attempt>` (attemptOfBranch), whose kept worktree directory holds the sessions.
 */
import { join } from 'node:path';
import type { ToolName } from '@agentyard/contracts/agent';

/** The tools whose sessions a follow-up task can resume. */
export type ResumableTool = 'claude-code' | 'codex';

export function isResumableTool(tool: ToolName): tool is ResumableTool {
  return tool === 'claude-code' || tool === 'codex';
}

/** Each resumable tool's own state directory, relative to the attempt's directory. */
export const toolHomeDirs: Record<ResumableTool, string> = {
  'claude-code': join('.agentyard', 'claude-home'),
  codex: join('.agentyard', 'codex-home'),
};

/** Where a kept attempt's sessions of `tool` lie, relative to its kept directory. */
export function keptSessionsDir(tool: ResumableTool): string {
  return join('sessions', tool);
}

/**
 * The directory, relative to the tool's home, whose files are the sessions an attempt in `cwd`
 * made: claude's project directory of that cwd, codex's `sessions`.
 */
export function sessionDirIn(tool: ResumableTool, cwd: string): string {
  return tool === 'claude-code' ? join('projects', claudeProjectDirName(cwd)) : 'sessions';
}

/** Longest project directory name claude-code uses as is; a longer one is cut and given a hash. */
const claudeNameLimit = 200;

/**
 * claude-code's name for a project directory (2.1.197): every character but a letter or a digit
 * becomes `-`; a name over 200 characters is cut there and gets `-` and a hash of the path
 * (`(h << 5) - h + charCode`, 32-bit, its absolute value in base 36 — what the CLI printed for a
 * long cwd in the test).
 */
export function claudeProjectDirName(cwd: string): string {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (name.length <= claudeNameLimit) return name;
  let hash = 0;
  for (let i = 0; i < cwd.length; i++) hash = ((hash << 5) - hash + cwd.charCodeAt(i)) | 0;
  return `${name.slice(0, claudeNameLimit)}-${Math.abs(hash).toString(36)}`;
}

/**
 * The session id a kept file holds, by its path relative to the kept sessions directory:
 * claude's `<id>.jsonl` at the top, codex's `…/rollout-<time>-<uuid>.jsonl`. Undefined for
 * anything else (claude's subagent transcripts, memory).
 */
export function sessionIdOfFile(tool: ResumableTool, relPath: string): string | undefined {
  const parts = relPath.split('/');
  const base = parts[parts.length - 1] ?? '';
  if (tool === 'claude-code') return parts.length === 1 ? /^([A-Za-z0-9._:-]{1,200})\.jsonl$/.exec(base)?.[1] : undefined;
  return /^rollout-.+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/.exec(base)?.[1];
}

/** The attempt an agent branch `agentyard/<task>-<attempt>` was made by; null for any other ref. */
export function attemptOfBranch(ref: string | undefined): { taskId: string; attempt: number } | null {
  const match = /^agentyard\/([A-Za-z0-9_-]{1,100})-([1-9][0-9]{0,5})$/.exec(ref ?? '');
  return match ? { taskId: match[1]!, attempt: Number(match[2]) } : null;
}
