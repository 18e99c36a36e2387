/*
 * What a task asks a tool to do and what the tool reports back: the part of the task contracts
 * the worker agent needs, kept apart from the events and API bodies so the agent does not build
 * (and keep resident) every task schema.
 */
import { z } from 'zod';
import { maxSecretRefsPerTask, secretRefSchema, secretRefsOf } from '../secrets/secret-ref';

/**
 * `noop` does nothing and succeeds: it checks the whole pipeline (queue → allocation → agent →
 * result) without running a process, and it is the benchmarks' workload.
 */
export const toolNames = ['shell', 'claude-code', 'gemini-cli', 'ollama', 'claude-api', 'gemini-api', 'noop'] as const;
export const toolNameSchema = z.enum(toolNames, { error: `tool must be one of: ${toolNames.join(', ')}` });
export type ToolName = z.infer<typeof toolNameSchema>;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are letters, digits and _');

/**
 * An env value: a plain string (stored with the task, so visible in its events — never put a
 * credential here), or `{ "secret": "<name>" }`, one of the owner's secrets, resolved only on the
 * worker that runs the task (secret-ref.ts).
 */
const envValue = z.union([z.string().max(32 * 1024), secretRefSchema], {
  error: 'an env value is a string or {"secret": "<name>"}',
});
const envSchema = z
  .record(envName, envValue)
  .refine((env) => secretRefsOf({ env }).length <= maxSecretRefsPerTask, `a task may reference at most ${maxSecretRefsPerTask} secrets`);

/** Input of the `shell` tool: one command line run by /bin/sh -c in the task's working dir. */
export const shellInputSchema = z
  .object({
    command: z
      .string()
      .min(1, 'command is required')
      .max(64 * 1024, 'command must be at most 64 KiB'),
    /** Relative to the task's working directory; `..` may not escape it. */
    cwd: z
      .string()
      .max(1024)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'cwd must be relative and stay inside the task directory')
      .optional(),
    env: envSchema.optional(),
  })
  .strict();
export type ShellInput = z.infer<typeof shellInputSchema>;

/**
 * Input of the prompt-driven tools (claude-code, gemini-cli, ollama, API tools). The prompt, like
 * a shell command, is stored with the task (its events, JetStream, every answer about it): a
 * credential the tool needs goes in `env` as a secret reference, never in the prompt.
 */
export const promptInputSchema = z
  .object({
    prompt: z
      .string()
      .min(1, 'prompt is required')
      .max(256 * 1024),
    model: z.string().max(200).optional(),
    cwd: shellInputSchema.shape.cwd,
    env: shellInputSchema.shape.env,
  })
  .strict();
export type PromptInput = z.infer<typeof promptInputSchema>;

/** Input of the `noop` tool: nothing. */
export const noopInputSchema = z.object({}).strict();

export const toolInputSchemas: Record<ToolName, z.ZodType> = {
  shell: shellInputSchema,
  'claude-code': promptInputSchema,
  'gemini-cli': promptInputSchema,
  ollama: promptInputSchema,
  'claude-api': promptInputSchema,
  'gemini-api': promptInputSchema,
  noop: noopInputSchema,
};

/** Largest structured output (`AGENTYARD_OUTPUT`) a task may pass on, serialised. */
export const structuredOutputMaxBytes = 64 * 1024;

export const taskResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  /** The last 64 KiB of output. */
  outputTail: z.string().max(64 * 1024),
  durationMs: z.number().int().min(0),
  error: z.string().max(4096).optional(),
  artifacts: z
    .array(z.object({ name: z.string(), bytes: z.number().int(), sha256: z.string() }))
    .max(100)
    .optional(),
  /**
   * The structured result: the JSON document the process wrote to the file named by its
   * `AGENTYARD_OUTPUT` environment variable (absent when it wrote none). At most 64 KiB.
   */
  output: z
    .unknown()
    .optional()
    .refine(
      (v) => v === undefined || jsonBytes(v) <= structuredOutputMaxBytes,
      `structured output must be at most ${structuredOutputMaxBytes / 1024} KiB of JSON`,
    ),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

function jsonBytes(v: unknown): number {
  try {
    return new TextEncoder().encode(JSON.stringify(v) ?? '').length;
  } catch {
    return Infinity;
  }
}
