/*
 * What a task asks a tool to do and what the tool reports back: the part of the task contracts
 * the worker agent needs, kept apart from the events and API bodies so the agent does not build
 * (and keep resident) every task schema.
 */
import { z } from 'zod';
import { text } from '../common/text';

/**
 * `noop` does nothing and succeeds: it checks the whole pipeline (queue → allocation → agent →
 * result) without running a process, and it is the benchmarks' workload.
 */
export const toolNames = ['shell', 'claude-code', 'gemini-cli', 'ollama', 'claude-api', 'gemini-api', 'noop'] as const;
export const toolNameSchema = z.enum(toolNames, { error: `tool must be one of: ${toolNames.join(', ')}` });
export type ToolName = z.infer<typeof toolNameSchema>;

const envName = text().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment variable names are letters, digits and _');

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
    env: z.record(envName, text().max(32 * 1024)).optional(),
  })
  .strict();
export type ShellInput = z.infer<typeof shellInputSchema>;

/** Input of the prompt-driven tools (claude-code, gemini-cli, ollama, API tools). */
export const promptInputSchema = z
  .object({
    prompt: text()
      .min(1, 'prompt is required')
      .max(256 * 1024),
    model: text().max(200).optional(),
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

export const taskResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  /** The last 64 KiB of output. */
  outputTail: text().max(64 * 1024),
  durationMs: z.number().int().min(0),
  error: text().max(4096).optional(),
  artifacts: z
    .array(z.object({ name: text(), bytes: z.number().int(), sha256: text() }))
    .max(100)
    .optional(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;
