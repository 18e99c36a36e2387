/*
 * claude-code (`claude`, @anthropic-ai/claude-code 2.1.197), headless:
 *   claude -p PROMPT --output-format stream-json --verbose [--model M] [--max-turns N]
 *          [--resume SESSION] --permission-mode default|acceptEdits
 * `stream-json` needs `--verbose` in -p mode. Read-only is `default` (the CLI's own in -p mode,
 * passed explicitly so a project's settings cannot widen it): a write is denied and the model is
 * told so; `edit` maps to `acceptEdits`, which lets its Write /
 * Edit tools change files in the working directory (never --dangerously-skip-permissions).
 *
 * State: CLAUDE_CONFIG_DIR is the attempt's own `<attempt>/.agentyard/claude-home` (not
 * `$HOME/.claude`, which without isolation is the agent user's), so no config, login or session of
 * the machine's user or of another task reaches the CLI. Its sessions are there
 * (`projects/<cwd as a name>/<id>.jsonl`); a workspace attempt's are kept with its worktree and a
 * follow-up on its branch gets the one `--resume` names (tool-sessions.ts, session-paths.ts).
 *
 * Usage: the `result` line's `usage` counts the main loop's API calls only; its `modelUsage`
 * (per model) also counts calls the CLI made beside it (a subagent's, which may use a smaller
 * model), so the totals are summed from `modelUsage`. Checked against a stand-in API in
 * test/claude-code.int.spec.ts; lines pasted from those runs are the unit spec's fixtures.
 */
import { claudeCodeInputSchema, effectiveBudget, type AgentUsage, type ClaudeCodeInput } from '@agentyard/contracts/agent';
import { jsonLine, type AgentEvent, type AgentLimit, type ModelTokens, type StreamParser } from './agent-stream';
import { pickEnv, prepareToolHome, promptArg } from './cli-tool';
import { findExecutable, probeVersion } from './executable-lookup';
import { assertArgumentFits, ToolInputError, type Tool } from './tool';
import { anthropicProbe, checkCredentials } from './tool-health';
import { toolHomeDirs } from './session-paths';

/** The host variables the CLI authenticates with; nothing else of the agent's environment goes in. */
export const claudeCodeAuthEnv = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL'] as const;

/** Set on every run: no telemetry, update checks, error reports or session-title calls. */
export const claudeCodeFixedEnv = { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } as const;

/** The CLI's file-changing tools and where their input names the file. */
const fileTools: Record<string, string> = { Write: 'file_path', Edit: 'file_path', MultiEdit: 'file_path', NotebookEdit: 'notebook_path' };

/** The schema allows 20 models per usage; a run never comes near that, and a usage over it would be dropped whole. */
const maxModels = 20;

export function claudeCodeTool(path?: string, hostEnv: NodeJS.ProcessEnv = process.env): Tool<ClaudeCodeInput> {
  let resolved: string | undefined;
  return {
    name: 'claude-code',
    inputSchema: claudeCodeInputSchema,
    async detect() {
      resolved = findExecutable('claude', path);
      if (!resolved) return null;
      // "Authenticated" means a key or an endpoint is configured: every attempt gets a fresh HOME,
      // so a `claude /login` on the host never reaches a task. Whether the key works is checkHealth's
      // question, asked of the free models list.
      if (!claudeCodeAuthEnv.some((name) => Boolean(hostEnv[name]))) return null;
      return { version: await probeVersion(resolved) };
    },
    // The key (or token) and endpoint the CLI will use, checked against the models list: free, unlike a message.
    checkHealth: () => checkCredentials(anthropicProbe(hostEnv)),
    buildCommand(input, ctx) {
      if (!resolved) throw new ToolInputError('claude-code is not installed on this worker (claude not on PATH)');
      assertArgumentFits('prompt', input.prompt);
      const configDir = prepareToolHome(ctx.workDir, toolHomeDirs['claude-code']);
      return {
        file: resolved,
        args: claudeCodeArgs(input),
        env: { ...pickEnv(ctx.hostEnv, claudeCodeAuthEnv), ...claudeCodeFixedEnv, CLAUDE_CONFIG_DIR: configDir },
      };
    },
    streamParser: claudeCodeStreamParser,
  };
}

/** The CLI's arguments for one prompt input (the prompt already size-checked). */
export function claudeCodeArgs(input: ClaudeCodeInput): string[] {
  // `maxCostUsd` and `budget.maxCostUsd` alike: the CLI's own figure is the exact one, so it enforces the cost cap.
  const maxCostUsd = effectiveBudget(input)?.maxCostUsd;
  return [
    '-p',
    promptArg(input.prompt),
    '--output-format',
    'stream-json',
    '--verbose',
    ...(input.model ? ['--model', input.model] : []),
    ...(input.maxTurns !== undefined ? ['--max-turns', String(input.maxTurns)] : []),
    ...(maxCostUsd !== undefined ? ['--max-budget-usd', String(maxCostUsd)] : []),
    ...(input.resumeSession ? ['--resume', input.resumeSession] : []),
    // Explicit even for read-only: a `.claude/settings.json` in the work dir (a repository's) must not widen it.
    '--permission-mode',
    input.permissionMode === 'edit' ? 'acceptEdits' : 'default',
  ];
}

/**
 * Lines of `--output-format stream-json --verbose` → AgentEvents. The CLI prints one `assistant`
 * line per content block, `user` lines carrying its tools' results (with `tool_use_result`, the
 * tool's own report), `system` lines (init, subagent progress) and one final `result`.
 */
export function claudeCodeStreamParser(): StreamParser {
  // Calls to a file tool, by id, until their result says whether the file changed.
  const pendingEdits = new Map<string, { name: string; path: string }>();
  // Each API call's latest usage, by message id (the CLI repeats a message's usage on every block line of it).
  const calls = new Map<string, { model: string; tokens: ModelTokens }>();
  return {
    push(line) {
      const event = jsonLine(line);
      if (!event) return [];
      switch (event.type) {
        case 'system':
          return event.subtype === 'init' && typeof event.session_id === 'string'
            ? [{ kind: 'session', sessionId: event.session_id, ...(typeof event.model === 'string' ? { model: event.model } : {}) }]
            : [];
        case 'assistant': {
          const events = assistantEvents(event, pendingEdits);
          const running = runningUsage(event, calls);
          return running ? [...events, running] : events;
        }
        case 'user':
          return toolResultEvents(event, pendingEdits);
        case 'result':
          return [resultEvent(event)];
        default:
          return [];
      }
    },
    // Nothing to add: without a `result` line there is no trustworthy usage (an `assistant`
    // line's usage is the stream's first figure, output_tokens 1), so none is made up.
    end: () => [],
  };
}

function assistantEvents(event: Record<string, unknown>, pendingEdits: Map<string, { name: string; path: string }>): AgentEvent[] {
  const events: AgentEvent[] = [];
  // A subagent's own words are its parent's tool result, not the run's text; its tool calls are still the run's.
  const fromSubagent = typeof event.parent_tool_use_id === 'string';
  for (const block of contentBlocks(event)) {
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '' && !fromSubagent) events.push({ kind: 'text', text: block.text });
    if (block.type === 'tool_use' && typeof block.name === 'string') {
      const id = typeof block.id === 'string' ? block.id : undefined;
      events.push({ kind: 'tool_call', name: block.name, ...(id ? { id } : {}), input: block.input });
      const pathKey = fileTools[block.name];
      const input = block.input as Record<string, unknown> | undefined;
      if (id && pathKey && typeof input?.[pathKey] === 'string') pendingEdits.set(id, { name: block.name, path: input[pathKey] });
    }
  }
  return events;
}

/**
 * The run's usage so far, when `event` (an assistant line) carries its API call's `message.usage`:
 * the latest figure per call (by message id), summed over the calls, per model. Input counts the
 * cache writes like usageOf does. The CLI streams a call's usage as it starts (output_tokens is then
 * the first figure, often 1), so output is undercounted until the call's next line or the result —
 * the cap is passed late rather than early. No cost mid-run: the CLI gives it in its result only.
 */
function runningUsage(event: Record<string, unknown>, calls: Map<string, { model: string; tokens: ModelTokens }>): AgentEvent | undefined {
  const message = event.message as Record<string, unknown> | undefined;
  const u = message?.usage as Record<string, unknown> | undefined;
  if (!u || typeof u !== 'object') return undefined;
  const id = typeof message?.id === 'string' ? message.id : `call-${calls.size}`;
  const model = typeof message?.model === 'string' ? message.model.slice(0, 200) : 'unknown';
  const tokens: ModelTokens = {
    inputTokens: count(u.input_tokens) + count(u.cache_creation_input_tokens),
    outputTokens: count(u.output_tokens),
    cachedInputTokens: count(u.cache_read_input_tokens),
  };
  const earlier = calls.get(id)?.tokens;
  // A later line of the same call never lowers its figures.
  calls.set(id, {
    model,
    tokens: earlier
      ? {
          inputTokens: Math.max(earlier.inputTokens, tokens.inputTokens),
          outputTokens: Math.max(earlier.outputTokens, tokens.outputTokens),
          cachedInputTokens: Math.max(earlier.cachedInputTokens, tokens.cachedInputTokens),
        }
      : tokens,
  });
  const models: Record<string, ModelTokens> = {};
  const total: ModelTokens = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  for (const call of calls.values()) {
    const m = (models[call.model] ??= { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 });
    for (const key of ['inputTokens', 'outputTokens', 'cachedInputTokens'] as const) {
      m[key] += call.tokens[key];
      total[key] += call.tokens[key];
    }
  }
  return { kind: 'usage', usage: { ...total, costUsd: null, models } };
}

function toolResultEvents(event: Record<string, unknown>, pendingEdits: Map<string, { name: string; path: string }>): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const block of contentBlocks(event)) {
    if (block.type !== 'tool_result') continue;
    const id = typeof block.tool_use_id === 'string' ? block.tool_use_id : undefined;
    const isError = block.is_error === true;
    events.push({ kind: 'tool_result', ...(id ? { id } : {}), isError });
    const edit = id ? pendingEdits.get(id) : undefined;
    if (!id || !edit) continue;
    pendingEdits.delete(id);
    // A denied or failed write changed nothing. Write reports `type: create` for a new file.
    if (isError) continue;
    const report = event.tool_use_result as Record<string, unknown> | undefined;
    events.push({ kind: 'file_edit', path: edit.path, change: edit.name === 'Write' && report?.type === 'create' ? 'add' : 'update' });
  }
  return events;
}

function resultEvent(event: Record<string, unknown>): AgentEvent {
  const summary = typeof event.result === 'string' ? event.result : errorSummary(event);
  const limit = limitOf(event.subtype);
  return { kind: 'result', summary, isError: event.is_error === true || event.subtype !== 'success', usage: usageOf(event), ...(limit ? { limit } : {}) };
}

/** The CLI's result subtypes for the limits a task sets (`--max-budget-usd`, `--max-turns`). */
function limitOf(subtype: unknown): AgentLimit | undefined {
  if (subtype === 'error_max_budget_usd') return 'budget_exceeded';
  if (subtype === 'error_max_turns') return 'max_turns';
  return undefined;
}

/** An error result (e.g. `error_max_turns`) has no `result` text: its subtype and `errors` say what happened. */
function errorSummary(event: Record<string, unknown>): string {
  const errors = Array.isArray(event.errors) ? event.errors.filter((e): e is string => typeof e === 'string') : [];
  return [typeof event.subtype === 'string' ? event.subtype : 'error', ...errors].join(': ');
}

/**
 * The whole run's usage. Input tokens are what the API counts as `input_tokens` plus the tokens
 * written to the prompt cache (both processed afresh); tokens read from the cache are
 * `cachedInputTokens`, beside them, as Anthropic counts them.
 */
export function usageOf(result: Record<string, unknown>): AgentUsage {
  const cost = typeof result.total_cost_usd === 'number' && result.total_cost_usd >= 0 ? result.total_cost_usd : null;
  const common = {
    costUsd: cost,
    ...(typeof result.session_id === 'string' ? { sessionId: result.session_id } : {}),
    ...(typeof result.num_turns === 'number' ? { turns: result.num_turns } : {}),
  };
  const perModel = result.modelUsage && typeof result.modelUsage === 'object' ? Object.entries(result.modelUsage as Record<string, unknown>) : [];
  if (perModel.length > 0) {
    let inputTokens = 0;
    let outputTokens = 0;
    let cachedInputTokens = 0;
    const models: NonNullable<AgentUsage['models']> = {};
    for (const [name, raw] of perModel) {
      const m = (raw ?? {}) as Record<string, unknown>;
      const input = count(m.inputTokens) + count(m.cacheCreationInputTokens);
      inputTokens += input;
      outputTokens += count(m.outputTokens);
      cachedInputTokens += count(m.cacheReadInputTokens);
      if (Object.keys(models).length < maxModels) {
        models[name.slice(0, 200)] = {
          inputTokens: input,
          outputTokens: count(m.outputTokens),
          costUsd: typeof m.costUSD === 'number' && m.costUSD >= 0 ? m.costUSD : null,
        };
      }
    }
    return { inputTokens, outputTokens, cachedInputTokens, ...common, models };
  }
  // Without modelUsage (not seen in 2.1.197), the main loop's figures are all there is.
  const u = (result.usage ?? {}) as Record<string, unknown>;
  return {
    inputTokens: count(u.input_tokens) + count(u.cache_creation_input_tokens),
    outputTokens: count(u.output_tokens),
    cachedInputTokens: count(u.cache_read_input_tokens),
    ...common,
  };
}

function contentBlocks(event: Record<string, unknown>): Array<Record<string, unknown>> {
  const message = event.message as { content?: unknown } | undefined;
  return Array.isArray(message?.content) ? message.content.filter((b): b is Record<string, unknown> => b !== null && typeof b === 'object') : [];
}

/** A token count as the schema takes it: a whole number, 0 when absent or odd. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0;
}
