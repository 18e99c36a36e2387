/*
 * One interface for everything the agent can run. A tool says whether it is installed (and which
 * version) and turns a task input into a command line; the runner does the rest identically for
 * every tool (PTY, clean env, output, timeout, cancel). Inputs are validated with the contracts'
 * schemas, so a worker never runs something the platform would not have accepted.
 */
import type { z } from 'zod';
import type { EnvValue, ToolName, WorkspaceInput } from '@agentyard/contracts/agent';
import type { StreamParser } from './agent-stream';
import type { ToolHealthReport } from './tool-health';

/** What every tool input may carry (ShellInput and PromptInput both do). */
export interface ToolInput {
  cwd?: string;
  /** Plain values and secret references; the agent resolves the references before the process starts. */
  env?: Record<string, EnvValue>;
  /** A repository the attempt works in (the agent checks it out and commits it; workspace-manager.ts). */
  workspace?: WorkspaceInput;
}

export interface ToolContext {
  /** The task's fresh working directory. */
  workDir: string;
  /** Where the process starts: `workDir` or the input's `cwd` inside it. */
  cwd: string;
  /** The agent's own environment, to read API keys a tool forwards; never passed through whole. */
  hostEnv: NodeJS.ProcessEnv;
  /**
   * The agent already runs the task in its bubblewrap sandbox (only the attempt's directory, HOME
   * and /tmp writable). A tool with a sandbox of its own (codex) cannot start that one inside it,
   * so it relies on the agent's instead.
   */
  sandboxed?: boolean;
}

export interface ToolCommand {
  /** Absolute path of the executable. */
  file: string;
  args: string[];
  /** Variables this tool needs on top of the allow-listed base (e.g. its API key). */
  env: Record<string, string>;
}

export interface ToolVersion {
  version: string | null;
}

/** A task input a tool cannot run (wrong shape, too large): the task fails, no retry helps. */
export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

export interface Tool<I extends ToolInput = ToolInput> {
  readonly name: ToolName;
  /** The contracts schema of this tool's input. */
  readonly inputSchema: z.ZodType<I>;
  /** Null when the tool cannot run on this machine. */
  detect(): Promise<ToolVersion | null>;
  /**
   * For a tool that talks to an API: whether its credentials work right now (tool-health.ts),
   * asked after a successful detect. Without it the tool counts as healthy (shell, noop).
   */
  checkHealth?(): Promise<ToolHealthReport>;
  /** Throws ToolInputError for an input it cannot turn into a command. */
  buildCommand(input: I, ctx: ToolContext): ToolCommand;
  /** For a tool that prints a structured stream: a fresh parser for one attempt's stdout lines. */
  streamParser?(): StreamParser;
}

/**
 * Linux refuses a single argv/env string over 128 KiB (MAX_ARG_STRLEN, E2BIG). Prompts travel as
 * one argument, so larger ones are refused up front with a clear message.
 */
export const maxArgumentBytes = 128 * 1024 - 1;

export function assertArgumentFits(what: string, value: string): void {
  if (Buffer.byteLength(value) > maxArgumentBytes) {
    throw new ToolInputError(`${what} is ${Buffer.byteLength(value)} bytes; this tool takes it as one argument, limited to ${maxArgumentBytes} bytes`);
  }
}
