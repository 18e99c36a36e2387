/*
 * What an agent CLI did, in one shape for every tool. Each agent CLI prints a structured stream
 * (claude-code `--output-format stream-json`, gemini-cli `--output-format stream-json`, codex
 * `exec --json`): one JSON object per line, each tool with its own vocabulary. A tool's
 * `StreamParser` turns those lines into `AgentEvent`s, so the rest of the agent (the task's
 * result, its usage, later the live transcript) never needs to know which CLI ran.
 *
 * Parsers are pure and stateful per attempt: lines in, events out, no I/O. A line that is not
 * JSON (a CLI's warning on stderr, which the PTY mixes in) is ignored, never fatal.
 */
import type { AgentUsage } from '@agentyard/contracts/agent';

export type AgentEvent =
  /** The tool's session (resume it with `resumeSession`) and, when it says, the model. */
  | { kind: 'session'; sessionId: string; model?: string }
  /** Text the model wrote (a whole message or a delta, as the tool streams it). */
  | { kind: 'text'; text: string }
  /** The model called one of the tool's own tools (read a file, run a command, edit). */
  | { kind: 'tool_call'; name: string; id?: string; input?: unknown }
  | { kind: 'tool_result'; id?: string; isError: boolean }
  /** A file the tool changed in its working directory. */
  | { kind: 'file_edit'; path: string; change: 'add' | 'update' | 'delete' }
  /**
   * The tool's final answer with the whole run's usage; `limit` when the tool stopped at a limit
   * the task set (its budget, its turns) rather than because the work was done or failed.
   */
  | { kind: 'result'; summary: string; isError: boolean; usage: AgentUsage; limit?: AgentLimit }
  /**
   * What the run has used so far (cumulative, not a delta), where the tool streams it before its
   * result: the figure the task's budget is checked against while it runs (execution/budget.decide.ts).
   * Not sent live; the final usage is the result's.
   */
  | { kind: 'usage'; usage: RunningUsage };

/** Tokens per model in a running usage. */
export interface ModelTokens {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

/**
 * A run's usage so far. `costUsd` is the tool's own figure, null when it gives none mid-run;
 * `models` splits the tokens per model when the stream names them (for pricing); `estimated` marks
 * figures guessed from the text (a chat tool streams no counts before its end).
 */
export interface RunningUsage extends ModelTokens {
  costUsd: number | null;
  models?: Record<string, ModelTokens>;
  estimated?: boolean;
}

/** A limit of the task's that stopped the agent; the task's `result.error` starts with it. */
export type AgentLimit = 'budget_exceeded' | 'max_turns';

export interface StreamParser {
  /** One line of the tool's stdout (without its line break). */
  push(line: string): AgentEvent[];
  /** The stream ended: whatever the tool left unsaid (a usage summed from turns). */
  end(): AgentEvent[];
}

/** The JSON object on `line`, or undefined when the line is not one. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What an attempt's agent events amount to: its usage and final answer (the last result wins).
 * A run stopped before its result (at its budget, say) keeps the last running usage it streamed,
 * so the tokens it spent still count.
 */
export function outcomeOf(events: readonly AgentEvent[]): { usage?: AgentUsage; summary?: string; sessionId?: string; limit?: AgentLimit } {
  let usage: AgentUsage | undefined;
  let running: RunningUsage | undefined;
  let summary: string | undefined;
  let sessionId: string | undefined;
  let limit: AgentLimit | undefined;
  for (const e of events) {
    if (e.kind === 'session') sessionId = e.sessionId;
    if (e.kind === 'usage') running = e.usage;
    if (e.kind === 'result') {
      usage = e.usage;
      summary = e.summary;
      limit = e.limit;
    }
  }
  if (!usage && running && !running.estimated) usage = agentUsageOf(running);
  if (usage && sessionId && !usage.sessionId) usage = { ...usage, sessionId };
  return {
    ...(usage ? { usage } : {}),
    ...(summary !== undefined ? { summary } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(limit ? { limit } : {}),
  };
}

/** A running usage in the result's shape (per-model cost unknown: the tool gave none mid-run). */
export function agentUsageOf(running: RunningUsage): AgentUsage {
  const models = running.models ? Object.entries(running.models).slice(0, 20) : [];
  return {
    inputTokens: running.inputTokens,
    outputTokens: running.outputTokens,
    cachedInputTokens: running.cachedInputTokens,
    costUsd: running.costUsd,
    ...(models.length > 0
      ? {
          models: Object.fromEntries(
            models.map(([name, m]) => [name.slice(0, 200), { inputTokens: m.inputTokens, outputTokens: m.outputTokens, costUsd: null }]),
          ),
        }
      : {}),
  };
}

/** A line longer than this is dropped (no CLI event comes near it; a runaway one must not eat memory). */
export const maxStreamLineBytes = 4 * 1024 * 1024;

/**
 * Splits terminal output into lines for a parser: the PTY turns `\n` into `\r\n`, and a chunk
 * may end mid-line.
 */
export class LineSplitter {
  private partial = '';
  private dropping = false;

  feed(data: string): string[] {
    const parts = (this.partial + data).split('\n');
    this.partial = parts.pop() ?? '';
    const lines: string[] = [];
    for (const part of parts) {
      if (!this.dropping) lines.push(part.endsWith('\r') ? part.slice(0, -1) : part);
      this.dropping = false;
    }
    if (this.partial.length > maxStreamLineBytes) {
      this.partial = '';
      this.dropping = true;
    }
    return lines;
  }

  flush(): string[] {
    const rest = this.dropping ? '' : this.partial.replace(/\r$/, '');
    this.partial = '';
    this.dropping = false;
    return rest === '' ? [] : [rest];
  }
}
