/*
 * What a task asks a tool to do and what the tool reports back: the part of the task contracts
 * the worker agent needs, kept apart from the events and API bodies so the agent does not build
 * (and keep resident) every task schema.
 */
import { z } from 'zod';
import { maxSecretRefsPerTask, secretNameSchema, secretRefSchema, secretRefsOf } from '../secrets/secret-ref';
import { text } from '../common/text';

/**
 * `noop` does nothing and succeeds: it checks the whole pipeline (queue → allocation → agent →
 * result) without running a process, and it is the benchmarks' workload.
 */
export const toolNames = ['shell', 'claude-code', 'gemini-cli', 'codex', 'ollama', 'claude-api', 'gemini-api', 'openai-compatible', 'noop'] as const;
export const toolNameSchema = z.enum(toolNames, { error: `tool must be one of: ${toolNames.join(', ')}` });
export type ToolName = z.infer<typeof toolNameSchema>;

const envName = text().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are letters, digits and _');

/**
 * An env value: a plain string (stored with the task, so visible in its events — never put a
 * credential here), or `{ "secret": "<name>" }`, one of the owner's secrets, resolved only on the
 * worker that runs the task (secret-ref.ts).
 */
const envValue = z.union([text().max(32 * 1024), secretRefSchema], {
  error: 'an env value is a string or {"secret": "<name>"}',
});
const envSchema = z
  .record(envName, envValue)
  .refine((env) => secretRefsOf({ env }).length <= maxSecretRefsPerTask, `a task may reference at most ${maxSecretRefsPerTask} secrets`);

/**
 * A git ref a task names: a branch, tag or commit as `git check-ref-format` would take it, and
 * never an option (`-…`) nor a range (`..`). Checked again by git on the worker.
 */
const gitRefSchema = text()
  .min(1)
  .max(255)
  .regex(
    /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock$)(?!\/)(?!.*\/$)[A-Za-z0-9._\/-]+$/,
    'ref is a branch, tag or commit: letters, digits and . _ / - (no "..", no leading "-")',
  );

/**
 * Where a task works: a git repository the agent checks out for the attempt as a worktree on a
 * branch of its own (`agentyard/<task>-<attempt>`). After the process ends the agent itself (not
 * the tool) commits what changed, stores the diff as the artifacts `diff.patch` and `diff.stat`,
 * and pushes the branch when asked. The task's `cwd` is relative to the worktree.
 */
export const workspaceInputSchema = z
  .object({
    /**
     * A git URL (`https://…`, `ssh://…`, `git@host:path`) or an absolute path on the worker under
     * one of the roots it allows (`--repo-root`).
     */
    repo: text()
      .min(1, 'workspace.repo is required')
      .max(2048)
      .refine((r) => !r.startsWith('-'), 'workspace.repo may not start with "-"')
      .refine(
        (r) => /^(https?:\/\/|ssh:\/\/|git@[A-Za-z0-9.-]+:)/.test(r) || r.startsWith('/'),
        'workspace.repo is an https://, ssh:// or git@host: URL, or an absolute path on the worker',
      ),
    /** The base to start from: a branch, tag or commit (default: the repository's HEAD). An earlier task's `agentyard/…` branch continues its work. */
    ref: gitRefSchema.optional(),
    /** Push the attempt's branch to the repository once committed. */
    push: z.boolean().optional(),
    /**
     * The repository's credential: one of the owner's secrets, resolved on the worker like an env
     * secret reference, and used only by the agent's own fetch and push — never given to the tool.
     * `token` (the default for http(s) URLs) is sent as HTTP Basic auth (`username`, default
     * `x-access-token`, and the token); `ssh-key` (the default for ssh URLs) is a private deploy
     * key without a passphrase.
     */
    credentials: z
      .object({
        secret: secretNameSchema,
        kind: z.enum(['token', 'ssh-key'], { error: 'workspace.credentials.kind must be token or ssh-key' }).optional(),
        username: text()
          .regex(/^[A-Za-z0-9._@+-]{1,100}$/, 'workspace.credentials.username is letters, digits and . _ @ + -')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (!w.credentials) return;
    const kind = repoCredentialKind(w.repo, w.credentials.kind);
    if (kind === undefined) ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'workspace.credentials need a git URL, not a local path' });
    else if (kind === 'token' && !/^https?:\/\//.test(w.repo))
      ctx.addIssue({ code: 'custom', path: ['credentials', 'kind'], message: 'a token credential needs an https:// repository URL' });
    else if (kind === 'ssh-key' && /^https?:\/\//.test(w.repo))
      ctx.addIssue({ code: 'custom', path: ['credentials', 'kind'], message: 'an ssh-key credential needs an ssh:// or git@host: repository URL' });
    else if (kind === 'token' && /^http:\/\//.test(w.repo) && !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//.test(w.repo))
      ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'a token is sent over https only (plain http:// only to localhost)' });
  });

/** How a workspace's credential is used: as stated, else by the URL's scheme; undefined for a local path. */
export function repoCredentialKind(repo: string, kind: 'token' | 'ssh-key' | undefined): 'token' | 'ssh-key' | undefined {
  if (repo.startsWith('/')) return undefined;
  return kind ?? (/^https?:\/\//.test(repo) ? 'token' : 'ssh-key');
}
export type WorkspaceInput = z.infer<typeof workspaceInputSchema>;

/** The actions a task's watchdog policy may take on a stall. */
export const watchdogActions = ['notify', 'restart', 'fail'] as const;
export type WatchdogAction = (typeof watchdogActions)[number];

/**
 * A task's watchdog: a running attempt that prints nothing, uses no CPU in its process tree and
 * changes no file in its working directory for `stallSeconds` (while its worker still heartbeats)
 * is flagged `TaskStalled`; then `notify` only records it, `restart` runs the task again as a new
 * attempt (at most 3 times for stalls), `fail` stops it and fails the task.
 */
export const watchdogSchema = z
  .object({
    stallSeconds: z
      .number({ error: 'watchdog.stallSeconds must be a number of seconds' })
      .int('watchdog.stallSeconds must be a whole number of seconds')
      .min(10, 'watchdog.stallSeconds must be at least 10')
      .max(86_400, 'watchdog.stallSeconds must be at most 86400 (a day)'),
    action: z.enum(watchdogActions, { error: `watchdog.action must be one of: ${watchdogActions.join(', ')}` }),
  })
  .strict();
export type WatchdogPolicy = z.infer<typeof watchdogSchema>;

/** Input of the `shell` tool: one command line run by /bin/sh -c in the task's working dir. */
export const shellInputSchema = z
  .object({
    command: text()
      .min(1, 'command is required')
      .max(64 * 1024, 'command must be at most 64 KiB'),
    /** Relative to the task's working directory; `..` may not escape it. */
    cwd: text()
      .max(1024)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'cwd must be relative and stay inside the task directory')
      .optional(),
    env: envSchema.optional(),
    workspace: workspaceInputSchema.optional(),
    /** What happens when the running task goes silent (no output, CPU or file change); default: the worker's `--stall-seconds`, notify only. */
    watchdog: watchdogSchema.optional(),
  })
  .strict();
export type ShellInput = z.infer<typeof shellInputSchema>;

/**
 * A task's usage caps, enforced by the worker while the tool runs (worker/src/execution/budget.decide.ts):
 * at a cap the agent stops the tool's process tree and the task ends `budget_exceeded`, its usage
 * so far recorded. `maxTokens` caps input + output tokens as the tool reports them (tokens read
 * from the prompt cache, reported beside input, do not count). `maxCostUsd` caps dollars: the
 * tool's own figure where it reports one (claude-code), otherwise tokens × the worker's price
 * table (`--prices`); a worker without a price for the task's model refuses a cost cap it could
 * not enforce. Wall time is the task's `timeoutSeconds`, not part of the budget.
 */
export const budgetSchema = z
  .object(
    {
      maxTokens: z
        .number({ error: 'budget.maxTokens must be a number of tokens' })
        .int('budget.maxTokens must be a whole number of tokens')
        .positive('budget.maxTokens must be more than 0')
        .max(1_000_000_000, 'budget.maxTokens is at most 1000000000')
        .optional(),
      maxCostUsd: z
        .number({ error: 'budget.maxCostUsd must be a number of US dollars' })
        .positive('budget.maxCostUsd must be more than 0')
        .max(10_000, 'budget.maxCostUsd is at most 10000')
        .optional(),
    },
    { error: 'budget must be an object: {"maxTokens"?: n, "maxCostUsd"?: n}' },
  )
  .strict();
export type Budget = z.infer<typeof budgetSchema>;

/**
 * Input of the prompt-driven tools (claude-code, gemini-cli, ollama, API tools). The prompt, like
 * a shell command, is stored with the task (its events, JetStream, every answer about it): a
 * credential the tool needs goes in `env` as a secret reference, never in the prompt.
 */
export const promptInputSchema = z
  .object({
    prompt: text()
      .min(1, 'prompt is required')
      .max(256 * 1024),
    model: text().max(200).optional(),
    /**
     * What an agent CLI may do in its working directory: `read-only` (the default; each CLI's own
     * headless default) or `edit` (its documented edit mode: claude-code `acceptEdits`, gemini-cli
     * `auto_edit`, codex `workspace-write`). Ignored by the chat tools.
     */
    permissionMode: z.enum(['read-only', 'edit'], { error: 'permissionMode must be read-only or edit' }).optional(),
    /** Most agent turns (claude-code `--max-turns`; others ignore it). */
    maxTurns: z.number().int().min(1).max(500).optional(),
    /** Continue the tool's earlier session (the `sessionId` a previous task's usage reported). */
    resumeSession: text()
      .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'resumeSession is a session id: letters, digits and . _ : -')
      .optional(),
    cwd: shellInputSchema.shape.cwd,
    env: shellInputSchema.shape.env,
    workspace: workspaceInputSchema.optional(),
    watchdog: watchdogSchema.optional(),
    /** Caps on tokens and cost for the run (budgetSchema); exceeded → the task ends `budget_exceeded`. */
    budget: budgetSchema.optional(),
  })
  .strict();
export type PromptInput = z.infer<typeof promptInputSchema>;

/**
 * claude-code's input: a prompt input and a spending cap. `maxCostUsd` (older than `budget`, kept
 * as it was) is the CLI's own `--max-budget-usd` (it stops the run once its model calls cost that
 * much) and counts as `budget.maxCostUsd` too: either ends the task `budget_exceeded`; with both,
 * the lower one applies. The other tools refuse a top-level `maxCostUsd`: they take
 * `budget.maxCostUsd`, which the worker enforces from its price table.
 */
export const claudeCodeInputSchema = promptInputSchema
  .extend({
    maxCostUsd: z
      .number({ error: 'maxCostUsd must be a number of US dollars' })
      .positive('maxCostUsd must be more than 0')
      .max(10_000, 'maxCostUsd is at most 10000')
      .optional(),
  })
  .strict();
export type ClaudeCodeInput = z.infer<typeof claudeCodeInputSchema>;

/** A prompt input's budget with claude-code's top-level `maxCostUsd` folded in (the lower cost cap wins); undefined when uncapped. */
export function effectiveBudget(input: { budget?: Budget; maxCostUsd?: number }): Budget | undefined {
  const costs = [input.budget?.maxCostUsd, input.maxCostUsd].filter((c): c is number => c !== undefined);
  const budget: Budget = {
    ...(input.budget?.maxTokens !== undefined ? { maxTokens: input.budget.maxTokens } : {}),
    ...(costs.length > 0 ? { maxCostUsd: Math.min(...costs) } : {}),
  };
  return Object.keys(budget).length > 0 ? budget : undefined;
}

/** Input of the `noop` tool: nothing. */
export const noopInputSchema = z.object({}).strict();

/**
 * The secret cap counts every reference of the input, the repository credential included: `env`
 * alone is capped where it is declared (its error names env), and this catches the 21st secret a
 * credential would add beside 20 env references.
 */
function withSecretCap<T extends z.ZodType>(schema: T): z.ZodType {
  return schema.superRefine((input, ctx) => {
    if (secretRefsOf({ env: (input as { env?: unknown }).env }).length > maxSecretRefsPerTask) return; // env's own error says it
    if (secretRefsOf(input).length > maxSecretRefsPerTask) {
      ctx.addIssue({
        code: 'custom',
        path: ['workspace', 'credentials'],
        message: `a task may reference at most ${maxSecretRefsPerTask} secrets, env and workspace.credentials together`,
      });
    }
  });
}

export const toolInputSchemas: Record<ToolName, z.ZodType> = {
  shell: withSecretCap(shellInputSchema),
  'claude-code': withSecretCap(claudeCodeInputSchema),
  'gemini-cli': withSecretCap(promptInputSchema),
  codex: withSecretCap(promptInputSchema),
  ollama: withSecretCap(promptInputSchema),
  'claude-api': withSecretCap(promptInputSchema),
  'gemini-api': withSecretCap(promptInputSchema),
  'openai-compatible': withSecretCap(promptInputSchema),
  noop: noopInputSchema,
};

/** Largest structured output a task may report: its `AGENTYARD_OUTPUT` file, and the JSON its result carries. */
export const structuredOutputMaxBytes = 64 * 1024;
/**
 * Deepest nesting of a structured output. 64 KiB of `[[[…]]]` is 32 Ki levels, which overflows
 * Postgres' jsonb parser and JSON.stringify alike; no honest output comes near 64.
 */
export const structuredOutputMaxDepth = 64;

/** Why `value` cannot be a task's structured output (too deep, too large), or undefined when it can. */
export function structuredOutputProblem(value: unknown): string | undefined {
  // Depth first, and without recursing past the limit: serialising a deep value would overflow.
  if (depthExceeds(value, structuredOutputMaxDepth)) return `nested deeper than the ${structuredOutputMaxDepth} levels allowed`;
  const text = JSON.stringify(value);
  const bytes = text === undefined ? 0 : new TextEncoder().encode(text).length;
  if (bytes > structuredOutputMaxBytes) return `${Math.ceil(bytes / 1024)} KiB, more than the ${structuredOutputMaxBytes / 1024} KiB allowed`;
  return undefined;
}

function depthExceeds(value: unknown, levelsLeft: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (levelsLeft === 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => depthExceeds(child, levelsLeft - 1));
}

const tokens = z.number().int().min(0);

/**
 * Tokens and cost of one agent task, all of the tool's model calls included (the tool's side
 * calls too, where it reports them per model). `costUsd` is the tool's own figure, or null when
 * it reports none.
 */
export const agentUsageSchema = z
  .object({
    inputTokens: tokens,
    outputTokens: tokens,
    /** Input tokens served from the provider's cache (part of, or beside, inputTokens as the tool counts them). */
    cachedInputTokens: tokens.optional(),
    costUsd: z.number().min(0).nullable(),
    /** Per model, when the tool says (e.g. claude-code's side calls to a smaller model). */
    models: z
      .record(text().max(200), z.object({ inputTokens: tokens, outputTokens: tokens, costUsd: z.number().min(0).nullable() }))
      .optional()
      .refine((m) => m === undefined || Object.keys(m).length <= 20, 'at most 20 models'),
    /** The tool's session, to resume in a follow-up task (`resumeSession`). */
    sessionId: text().max(200).optional(),
    turns: z.number().int().min(0).optional(),
  })
  .strict();
export type AgentUsage = z.infer<typeof agentUsageSchema>;

/** What became of a workspace task's worktree. */
export const workspaceResultSchema = z.object({
  repo: text().max(2048),
  /** The ref the worktree started from, and the commit it named. */
  baseRef: text().max(255),
  baseCommit: text().max(64),
  /** `agentyard/<task>-<attempt>`. */
  branch: text().max(255),
  /** The agent's commit of the attempt's changes; null when nothing changed. */
  commit: text().max(64).nullable(),
  filesChanged: z.number().int().min(0),
  insertions: z.number().int().min(0),
  deletions: z.number().int().min(0),
  pushed: z.boolean(),
  /** Why the push (when asked) or the commit did not happen. */
  error: text().max(4096).optional(),
});
export type WorkspaceResult = z.infer<typeof workspaceResultSchema>;

export const taskResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  /** The last 64 KiB of output. */
  outputTail: text().max(64 * 1024),
  durationMs: z.number().int().min(0),
  error: text().max(4096).optional(),
  /** The task's structured output: the JSON it wrote to the file named by `AGENTYARD_OUTPUT` (worker/README.md). */
  output: z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      const problem = value === undefined ? undefined : structuredOutputProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `structured output: ${problem}` });
    }),
  artifacts: z
    .array(z.object({ name: text(), bytes: z.number().int(), sha256: text() }))
    .max(100)
    .optional(),
  /** A workspace task's checkout: its branch, the commit the agent made of its changes, the diff's size, the push. */
  workspace: workspaceResultSchema.optional(),
  /** What an agent tool reported using (its structured stream): tokens, cost, its session. */
  usage: agentUsageSchema.optional(),
  /** An agent tool's final answer (its result message), at most 16 KiB. */
  summary: text()
    .max(16 * 1024)
    .optional(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;
