/*
 * gemini-cli (@google/gemini-cli, checked with 0.61.0) run headless with its structured stream:
 *
 *   gemini -p PROMPT --output-format stream-json --skip-trust --approval-mode default|auto_edit [-m MODEL]
 *
 * Each attempt gets its own CLI home, `<attempt>/.agentyard/gemini-home` (GEMINI_CLI_HOME; HOME
 * stays the isolation's), holding only the settings this file writes: API-key auth (without it
 * 0.61 picks another auth type when GOOGLE_GEMINI_BASE_URL is set and exits 41), no telemetry,
 * no usage statistics, no update checks, and the turn limit. No user config of the machine
 * reaches the CLI; the admin's system settings (/etc/gemini-cli) and a `.gemini/settings.json` in
 * the task's own workspace (trusted by --skip-trust) still apply, as the CLI intends. Stdin is the
 * task's PTY, a terminal, so the CLI does not read it as part of the prompt or wait on it.
 *
 * read-only is the CLI's headless `default` mode: it does not even declare its edit tools
 * (write_file, replace) or the shell to the model, and answers a call of one with "not found".
 * edit is `auto_edit`: edit tools run without a prompt, the shell still is not offered. Both
 * offer web_fetch and google_web_search. Tested in test/gemini-cli.int.spec.ts against the real
 * CLI and a stand-in of the Gemini API.
 */
import { chownSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promptInputSchema, type AgentUsage, type PromptInput } from '@agentyard/contracts/agent';
import { jsonLine, type AgentEvent, type StreamParser } from './agent-stream';
import { pickEnv, promptArg } from './cli-tool';
import { findExecutable, probeVersion } from './executable-lookup';
import { ToolInputError, assertArgumentFits, type Tool, type ToolContext } from './tool';
import { checkCredentials, geminiProbe } from './tool-health';

/** Host variables the CLI gets: its key and, for a proxy or a stand-in, its endpoint. */
export const geminiCliPassEnv = ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL'] as const;

/** The per-attempt CLI home, relative to the attempt's directory. */
export const geminiHomeDir = join('.agentyard', 'gemini-home');

export function geminiCliTool(path?: string, hostEnv: NodeJS.ProcessEnv = process.env): Tool<PromptInput> {
  let resolved: string | undefined;
  return {
    name: 'gemini-cli',
    inputSchema: promptInputSchema,
    async detect() {
      resolved = findExecutable('gemini', path);
      // "Authenticated" means a key is configured: the CLI needs one even against a base URL.
      // Whether it works is checkHealth's question (detection stays offline).
      if (!resolved || !hostEnv.GEMINI_API_KEY) return null;
      return { version: installedVersion(resolved) ?? (await probeVersion(resolved)) };
    },
    // The models list is free: a wrong key shows here, before a task is sent, not as the task's error.
    checkHealth: () => checkCredentials(geminiProbe(hostEnv.GEMINI_API_KEY, hostEnv.GOOGLE_GEMINI_BASE_URL)),
    buildCommand(input, ctx) {
      if (!resolved) throw new ToolInputError('gemini-cli is not installed on this worker (gemini not on PATH)');
      if (!ctx.hostEnv.GEMINI_API_KEY) throw new ToolInputError("gemini-cli needs GEMINI_API_KEY in the worker's environment");
      // 0.61 resumes (`--resume <uuid>`, headless too) only a session stored under its CLI home for
      // the same project directory; both are fresh per attempt, so it would exit 42 ("No previous
      // sessions found"). Refused here with the reason rather than silently starting a new session.
      if (input.resumeSession) throw new ToolInputError('gemini-cli cannot resume a session yet: its sessions stay in the attempt that made them');
      assertArgumentFits('prompt', input.prompt);
      const home = prepareGeminiHome(ctx.workDir, input);
      return { file: resolved, args: geminiCliArgs(input), env: geminiCliEnv(ctx, home) };
    },
    streamParser: () => new GeminiStreamParser(),
  };
}

/**
 * The version in the npm package the `gemini` link points into. Asking `gemini --version` takes
 * seconds (the whole CLI starts) and registers the current directory in the agent's own
 * ~/.gemini; the package says the same for free. Undefined for an install of another shape.
 */
export function installedVersion(executable: string): string | undefined {
  try {
    let dir = dirname(realpathSync(executable));
    for (let up = 0; up < 3; up++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === '@google/gemini-cli' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // no package.json at this level; look further up
      }
    }
  } catch {
    // a dangling link: let the version probe say
  }
  return undefined;
}

/** The argv after `gemini`. `maxTurns` goes into the settings (geminiSettings). */
export function geminiCliArgs(input: PromptInput): string[] {
  return [
    '-p',
    promptArg(input.prompt),
    '--output-format',
    'stream-json',
    // The attempt's directory is ours: without trust 0.61 exits 55 in a folder it has not seen.
    '--skip-trust',
    '--approval-mode',
    input.permissionMode === 'edit' ? 'auto_edit' : 'default',
    // Without a model the CLI first asks a small model to route the prompt: a side call the usage counts.
    ...(input.model ? ['-m', input.model] : []),
  ];
}

/** The variables the CLI gets on top of the task's base environment. */
export function geminiCliEnv(ctx: Pick<ToolContext, 'hostEnv'>, home: string): Record<string, string> {
  return { ...pickEnv(ctx.hostEnv, geminiCliPassEnv), GEMINI_CLI_HOME: home, GEMINI_TELEMETRY_ENABLED: 'false' };
}

/** The settings.json of one attempt's CLI home. */
export function geminiSettings(input: PromptInput): Record<string, unknown> {
  return {
    security: { auth: { selectedType: 'gemini-api-key' } },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    ...(input.maxTurns ? { model: { maxSessionTurns: input.maxTurns } } : {}),
  };
}

/**
 * Writes `<workDir>/.agentyard/gemini-home/.gemini/settings.json` and returns the home. Everything
 * is owned like the attempt's directory: an isolated task runs as another user, and the CLI writes
 * its session files under this home.
 */
export function prepareGeminiHome(workDir: string, input: PromptInput): string {
  const owner = statSync(workDir);
  const home = join(workDir, geminiHomeDir);
  const configDir = join(home, '.gemini');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const settings = join(configDir, 'settings.json');
  writeFileSync(settings, JSON.stringify(geminiSettings(input), null, 2) + '\n', { mode: 0o600 });
  if (process.getuid && (owner.uid !== process.getuid() || owner.gid !== process.getgid!())) {
    for (const path of [join(workDir, '.agentyard'), home, configDir, settings]) chownSync(path, owner.uid, owner.gid);
  }
  return home;
}

/** The tools of 0.61 that change a file, and the argument naming it. */
const editTools: Record<string, string> = { write_file: 'file_path', replace: 'file_path' };

/**
 * Reads 0.61's stream-json lines: `init` (session id, model), `message` (user echo; assistant
 * deltas), `tool_use`, `tool_result`, `error` (warnings and stopped turns), and one final `result`
 * whose `stats` sum every model call of the run per model, the router's side call included. The
 * stats carry no cost, so costUsd is null. The result has no text: the summary is what the model
 * wrote after its last tool result.
 */
export class GeminiStreamParser implements StreamParser {
  private sessionId: string | undefined;
  private finalText = '';
  private lastError: string | undefined;
  private turns = 0;
  private inTurn = false;
  private done = false;
  private readonly pendingEdits = new Map<string, string>();

  push(line: string): AgentEvent[] {
    const event = jsonLine(line);
    if (!event || this.done) return [];
    switch (event.type) {
      case 'init': {
        if (typeof event.session_id !== 'string') return [];
        this.sessionId = event.session_id;
        return [{ kind: 'session', sessionId: event.session_id, ...(typeof event.model === 'string' ? { model: event.model } : {}) }];
      }
      case 'message': {
        if (event.role !== 'assistant' || typeof event.content !== 'string') return [];
        this.startTurn();
        this.finalText += event.content;
        return [{ kind: 'text', text: event.content }];
      }
      case 'tool_use': {
        const name = typeof event.tool_name === 'string' ? event.tool_name : 'unknown';
        const id = typeof event.tool_id === 'string' ? event.tool_id : undefined;
        this.startTurn();
        const pathArg = editTools[name];
        const target = pathArg ? (event.parameters as Record<string, unknown> | undefined)?.[pathArg] : undefined;
        if (id && typeof target === 'string') this.pendingEdits.set(id, target);
        return [{ kind: 'tool_call', name, ...(id ? { id } : {}), input: event.parameters }];
      }
      case 'tool_result': {
        const id = typeof event.tool_id === 'string' ? event.tool_id : undefined;
        const isError = event.status !== 'success';
        // The model's next words answer the tool results: only text after the last one is the answer.
        this.inTurn = false;
        this.finalText = '';
        const events: AgentEvent[] = [{ kind: 'tool_result', ...(id ? { id } : {}), isError }];
        const path = id ? this.pendingEdits.get(id) : undefined;
        if (id) this.pendingEdits.delete(id);
        // The stream does not say whether write_file created the file or replaced it; 'update' is the lesser claim.
        if (path && !isError) events.push({ kind: 'file_edit', path, change: 'update' });
        return events;
      }
      case 'error': {
        if (typeof event.message === 'string') this.lastError = event.message;
        return [];
      }
      case 'result': {
        this.done = true;
        const error = (event.error as { message?: unknown } | undefined)?.message;
        const isError = event.status !== 'success';
        const summary = isError ? (typeof error === 'string' ? error : (this.lastError ?? this.finalText)) : this.finalText;
        return [{ kind: 'result', summary, isError, usage: this.usageOf(event.stats) }];
      }
      default:
        return [];
    }
  }

  end(): AgentEvent[] {
    // Without its result line (killed, crashed) the CLI said nothing about tokens: no usage to report.
    return [];
  }

  private startTurn(): void {
    if (this.inTurn) return;
    this.inTurn = true;
    this.turns += 1;
  }

  private usageOf(stats: unknown): AgentUsage {
    const s = (stats ?? {}) as GeminiStats;
    const models: NonNullable<AgentUsage['models']> = {};
    for (const [name, m] of Object.entries(s.models ?? {})) {
      models[name] = { inputTokens: count(m.input_tokens), outputTokens: outputTokens(m), costUsd: null };
    }
    return {
      // input_tokens is the whole prompt (Gemini's promptTokenCount); `cached` is the part of it served from cache.
      inputTokens: count(s.input_tokens),
      outputTokens: outputTokens(s),
      cachedInputTokens: count(s.cached),
      costUsd: null,
      ...(Object.keys(models).length > 0 ? { models } : {}),
      ...(this.sessionId ? { sessionId: this.sessionId } : {}),
      turns: this.turns,
    };
  }
}

interface GeminiTokenStats {
  total_tokens?: unknown;
  input_tokens?: unknown;
  output_tokens?: unknown;
  cached?: unknown;
}

interface GeminiStats extends GeminiTokenStats {
  models?: Record<string, GeminiTokenStats>;
}

/**
 * Output tokens including a thinking model's thoughts, which are billed as output. 0.61's
 * output_tokens counts only candidatesTokenCount and the stream has no thoughts figure, but its
 * total_tokens sums totalTokenCount (prompt + candidates + thoughts), so the difference is the
 * whole output.
 */
function outputTokens(stats: GeminiTokenStats): number {
  return Math.max(count(stats.output_tokens), count(stats.total_tokens) - count(stats.input_tokens));
}

/** A token count as the schema takes it: a non-negative integer (anything else counts as 0). */
const count = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0);
