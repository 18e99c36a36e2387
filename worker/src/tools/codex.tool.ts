/*
 * codex (@openai/codex 0.171.0, checked on this machine with test/codex.int.spec.ts against a
 * stand-in of the Responses API): `codex exec --json` runs one headless turn and prints JSON lines
 * (thread.started, item.started/completed, turn.completed with usage). This module builds that
 * command and turns the lines into AgentEvents.
 *
 * What the CLI needs, and why:
 *  - CODEX_HOME: a directory of its own per attempt (`<attempt>/.agentyard/codex-home`), so no
 *    config, auth or session of the machine's user leaks in. Codex refuses a CODEX_HOME that does
 *    not exist, so buildCommand creates it, owned like the attempt dir (the task may run as
 *    another uid). It also must not lie under the process's temp dir (TMPDIR, else /tmp): codex
 *    then skips the helper binaries its apply_patch runs through and every edit fails.
 *  - A base URL is not an environment variable for codex (OPENAI_BASE_URL is ignored): when the
 *    worker has OPENAI_BASE_URL, a custom model provider is declared with `-c` (argv, not a
 *    config file: nothing to write, nothing for the task to rewrite before codex reads it).
 *  - `--disable plugins --disable remote_plugin` and `analytics.enabled=false`: without them codex
 *    contacts github.com and chatgpt.com at start (plugin sync), which an offline worker cannot.
 *  - permissionMode: read-only → codex's own default sandbox, edit → workspace-write, given as
 *    `-c sandbox_mode=…` (same as `-s`, which `exec resume` does not accept). Codex enforces both
 *    with its own Linux sandbox. Checked by hand (0.171.0, as root): inside the agent's bubblewrap
 *    (with or without the setpriv drop) that sandbox cannot start, and every write reports a
 *    file_change with status "failed"; only danger-full-access writes there. Choosing that when
 *    the agent's bubblewrap confines the task is what codexArgs does (ToolContext.sandboxed).
 *  - resumeSession: `codex exec resume <id> <prompt>` (0.171 supports it headless). The session
 *    lives in CODEX_HOME, inside the attempt dir: a workspace attempt's sessions are kept with its
 *    worktree and a follow-up on its branch gets the one it resumes (tool-sessions.ts); a resumed
 *    turn's usage counts the whole thread, earlier turns included.
 */
import { promptInputSchema, type AgentUsage, type PromptInput } from '@agentyard/contracts/agent';
import { jsonLine, type AgentEvent, type StreamParser } from './agent-stream';
import { pickEnv, prepareToolHome, promptArg } from './cli-tool';
import { findExecutable, probeVersion } from './executable-lookup';
import { ToolInputError, assertArgumentFits, type Tool, type ToolContext, type ToolVersion } from './tool';
import { checkCredentials, openAiProbe } from './tool-health';
import { toolHomeDirs } from './session-paths';

/** The variables codex authenticates with; forwarded from the worker when set. */
export const codexKeyEnv = ['OPENAI_API_KEY', 'CODEX_API_KEY'] as const;
/** The worker's base URL for the OpenAI API (e.g. a proxy or a local server); it becomes a custom provider. */
export const codexBaseUrlEnv = 'OPENAI_BASE_URL';
/** The provider name used when a base URL is configured. */
export const codexProviderName = 'agentyard';

export interface CodexVersion extends ToolVersion {
  /**
   * A key (or a base URL, for a keyless local server) is configured on the worker. Whether the key
   * is accepted is checkHealth's question (the models list, no model call).
   */
  authenticated: boolean;
}

export function codexTool(path?: string, hostEnv: NodeJS.ProcessEnv = process.env): Tool<PromptInput> {
  let resolved: string | undefined;
  return {
    name: 'codex',
    inputSchema: promptInputSchema,
    async detect(): Promise<CodexVersion | null> {
      // Like claude-code and gemini-cli: installed but with nothing to authenticate with, it could
      // only fail every task, so it is not offered (tasks run with a fresh HOME: a login of the
      // machine's user is not theirs).
      const authenticated = codexKeyEnv.some((name) => !!hostEnv[name]) || !!hostEnv[codexBaseUrlEnv];
      resolved = authenticated ? findExecutable('codex', path) : undefined;
      if (!resolved) return null;
      return { version: await probeVersion(resolved), authenticated };
    },
    // With a base URL codex authenticates with OPENAI_API_KEY (providerToml's env_key); without, its own default.
    checkHealth: () =>
      checkCredentials(
        openAiProbe(
          'OpenAI API',
          hostEnv[codexBaseUrlEnv] ? hostEnv.OPENAI_API_KEY : (hostEnv.OPENAI_API_KEY ?? hostEnv.CODEX_API_KEY),
          hostEnv[codexBaseUrlEnv] || 'https://api.openai.com',
        ),
      ),
    buildCommand(input, ctx) {
      if (!resolved) throw new ToolInputError('codex is not installed on this worker (codex not on PATH)');
      assertArgumentFits('prompt', input.prompt);
      const codexHome = prepareCodexHome(ctx.workDir);
      return { file: resolved, args: codexArgs(input, ctx), env: { ...pickEnv(ctx.hostEnv, codexKeyEnv), CODEX_HOME: codexHome } };
    },
    streamParser: codexStreamParser,
  };
}

/** The argv after `codex` for one attempt (pure; see the module comment for each option). */
export function codexArgs(input: PromptInput, ctx: Pick<ToolContext, 'hostEnv' | 'sandboxed'>): string[] {
  // Inside the agent's bubblewrap codex's own sandbox cannot start (every write fails): there the
  // agent's sandbox is the boundary (writes only to the attempt's directory, HOME and /tmp), and
  // codex is told not to sandbox again. Read-only keeps codex's own policy either way.
  const sandbox = input.permissionMode !== 'edit' ? 'read-only' : ctx.sandboxed ? 'danger-full-access' : 'workspace-write';
  // `exec resume` has no --sandbox flag; the config key sets the same policy for both forms.
  const args = ['exec', ...(input.resumeSession ? ['resume'] : []), '--json', '--skip-git-repo-check', '-c', `sandbox_mode="${sandbox}"`];
  args.push('--disable', 'plugins', '--disable', 'remote_plugin', '-c', 'analytics.enabled=false', '-c', 'check_for_update_on_startup=false');
  const baseUrl = ctx.hostEnv[codexBaseUrlEnv];
  if (baseUrl) args.push('-c', `model_provider=${codexProviderName}`, '-c', `model_providers.${codexProviderName}=${providerToml(baseUrl)}`);
  if (input.model) args.push('-m', input.model);
  if (input.resumeSession) args.push(input.resumeSession);
  args.push(promptArg(input.prompt));
  return args;
}

/**
 * The provider table as an inline TOML value. `/v1` is appended unless the URL already ends with
 * it (OpenAI's own convention for OPENAI_BASE_URL); websockets are off, else codex first tries a
 * WebSocket for seconds on every turn.
 */
export function providerToml(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  const url = /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
  const base = JSON.stringify(url); // a TOML basic string is JSON-compatible for these characters
  return `{name="${codexProviderName}",base_url=${base},env_key="OPENAI_API_KEY",wire_api="responses",supports_websockets=false}`;
}

/** Creates `<attempt>/.agentyard/codex-home`, owned like the attempt dir, and returns its path. */
export function prepareCodexHome(attemptRoot: string): string {
  return prepareToolHome(attemptRoot, toolHomeDirs.codex);
}

type Json = Record<string, unknown>;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0);

/**
 * Codex's `exec --json` lines → AgentEvents. Usage comes per turn (`turn.completed`), already
 * summed over every model call of the turn; the result, emitted at the end of the stream, adds up
 * all turns. Codex names no model in the stream and reports no cost: `models` stays out, and
 * `costUsd` is null. `output_tokens` includes the reasoning tokens (as OpenAI counts them), and
 * `input_tokens` includes the cached ones.
 */
export function codexStreamParser(): StreamParser {
  let sessionId: string | undefined;
  let lastMessage = '';
  let failure: string | undefined;
  let seen = false;
  let turns = 0;
  const usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  const started = new Set<string>();

  const item = (type: string, raw: Json): AgentEvent[] => {
    const id = str(raw.id);
    const kind = str(raw.type);
    const callOf = (): AgentEvent[] => {
      if (id && started.has(id)) return [];
      if (id) started.add(id);
      const call = toolCall(raw);
      return call ? [call] : [];
    };
    if (kind === 'agent_message') {
      if (type !== 'item.completed') return [];
      const text = str(raw.text) ?? '';
      lastMessage = text;
      return text ? [{ kind: 'text', text }] : [];
    }
    if (kind === 'error') return []; // codex's warnings (a deprecated setting); a real failure comes as turn.failed
    if (!toolKinds.has(kind ?? '')) return [];
    if (type === 'item.started') return callOf();
    if (type !== 'item.completed') return [];
    const status = str(raw.status);
    const exit = raw.exit_code;
    const isError = status === 'failed' || status === 'declined' || (typeof exit === 'number' && exit !== 0);
    const events: AgentEvent[] = [...callOf(), { kind: 'tool_result', ...(id ? { id } : {}), isError }];
    if (kind === 'file_change' && !isError) events.push(...fileEdits(raw.changes));
    return events;
  };

  return {
    push(line) {
      const event = jsonLine(line);
      const type = str(event?.type);
      if (!event || !type) return [];
      seen = true;
      switch (type) {
        case 'thread.started': {
          const id = str(event.thread_id);
          if (!id) return [];
          sessionId = id;
          return [{ kind: 'session', sessionId: id }];
        }
        case 'item.started':
        case 'item.updated':
        case 'item.completed':
          return event.item && typeof event.item === 'object' ? item(type, event.item as Json) : [];
        case 'turn.completed': {
          const u = (event.usage ?? {}) as Json;
          turns += 1;
          usage.inputTokens += num(u.input_tokens);
          usage.cachedInputTokens += num(u.cached_input_tokens);
          usage.outputTokens += num(u.output_tokens);
          // The running figure for the task's budget: a multi-turn run (resumed) is checked after each turn.
          return [{ kind: 'usage', usage: { ...usage, costUsd: null } }];
        }
        case 'turn.failed':
          failure = str((event.error as Json | undefined)?.message) ?? 'codex reported a failed turn';
          return [];
        case 'error':
          failure = str(event.message) ?? 'codex reported an error';
          return [];
        default:
          return [];
      }
    },
    end() {
      if (!seen) return [];
      const result: AgentUsage = { ...usage, costUsd: null, turns, ...(sessionId ? { sessionId } : {}) };
      // A run that never completed a turn failed, even without an error line (killed, crashed).
      const isError = failure !== undefined || turns === 0;
      return [{ kind: 'result', summary: failure && !lastMessage ? failure : lastMessage, isError, usage: result }];
    },
  };
}

const toolKinds = new Set(['command_execution', 'file_change', 'mcp_tool_call', 'web_search']);

function toolCall(raw: Json): AgentEvent | undefined {
  const id = str(raw.id);
  const base = id ? { id } : {};
  switch (str(raw.type)) {
    case 'command_execution':
      return { kind: 'tool_call', name: 'command_execution', ...base, input: { command: raw.command } };
    case 'file_change':
      return { kind: 'tool_call', name: 'apply_patch', ...base, input: { changes: raw.changes } };
    case 'mcp_tool_call':
      return { kind: 'tool_call', name: `${str(raw.server) ?? 'mcp'}.${str(raw.tool) ?? 'tool'}`, ...base, input: raw.arguments };
    case 'web_search':
      return { kind: 'tool_call', name: 'web_search', ...base, input: { query: raw.query } };
    default:
      return undefined;
  }
}

const changeKinds: Record<string, 'add' | 'update' | 'delete'> = { add: 'add', update: 'update', delete: 'delete' };

function fileEdits(changes: unknown): AgentEvent[] {
  if (!Array.isArray(changes)) return [];
  const edits: AgentEvent[] = [];
  for (const change of changes as Json[]) {
    const path = str(change?.path);
    const kind = changeKinds[str(change?.kind) ?? ''];
    if (path && kind) edits.push({ kind: 'file_edit', path, change: kind });
  }
  return edits;
}
