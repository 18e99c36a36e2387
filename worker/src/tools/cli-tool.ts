/*
 * What the simple CLI tools (today: ollama) share: found on PATH, versioned with
 * `--version`, run with the prompt as an argument. Each forwards only the few variables it needs
 * to authenticate (its API key, its endpoint); the rest of the agent's environment stays out.
 */
import { promptInputSchema, type PromptInput, type ToolName } from '@agentyard/contracts/agent';
import { findExecutable, probeVersion } from './executable-lookup';
import { ToolInputError, assertArgumentFits, type Tool, type ToolContext } from './tool';

export interface CliToolSpec {
  name: ToolName;
  /** Executable looked up on PATH. */
  binary: string;
  /** Arguments after the executable; the prompt has already been size-checked. */
  args(input: PromptInput, ctx: ToolContext): string[];
  /** Host variables forwarded when set (auth, endpoints). */
  passEnv: readonly string[];
}

export function cliTool(spec: CliToolSpec, path?: string): Tool<PromptInput> {
  let resolved: string | undefined;
  return {
    name: spec.name,
    inputSchema: promptInputSchema,
    async detect() {
      resolved = findExecutable(spec.binary, path);
      if (!resolved) return null;
      return { version: await probeVersion(resolved) };
    },
    buildCommand(input, ctx) {
      if (!resolved) throw new ToolInputError(`${spec.name} is not installed on this worker (${spec.binary} not on PATH)`);
      assertArgumentFits('prompt', input.prompt);
      return { file: resolved, args: spec.args(input, ctx), env: pickEnv(ctx.hostEnv, spec.passEnv) };
    },
  };
}

/** The subset of `env` named in `names` that is set. */
export function pickEnv(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * A prompt is passed right after its flag, as each CLI documents. One that starts with "-" would be
 * read as an option, so it gets a leading space: harmless to a model, invisible to option parsers.
 */
export function promptArg(prompt: string): string {
  return prompt.startsWith('-') ? ` ${prompt}` : prompt;
}

/** ollama: `ollama run <model> <prompt>`; a model is required (input.model or $OLLAMA_MODEL). */
export const ollamaSpec: CliToolSpec = {
  name: 'ollama',
  binary: 'ollama',
  args: (input, ctx) => {
    const model = input.model ?? ctx.hostEnv.OLLAMA_MODEL;
    if (!model) throw new ToolInputError('ollama needs a model: set input.model (or OLLAMA_MODEL on the worker)');
    return ['run', model, promptArg(input.prompt)];
  },
  passEnv: ['OLLAMA_HOST'],
};
