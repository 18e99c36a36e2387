/*
 * API tools (claude-api, gemini-api) for machines without a CLI: enabled only when the worker's
 * environment holds the provider's API key. They run as a small Node child process
 * (api-call.script.ts) rather than in the agent itself, so timeouts, cancellation, output
 * streaming and the clean environment work exactly as for every other tool.
 */
import { join } from 'node:path';
import { promptInputSchema, type PromptInput, type ToolName } from '@agentyard/contracts/agent';
import { pickEnv } from './cli-tool';
import { assertArgumentFits, ToolInputError, type Tool } from './tool';

export type ApiProvider = 'anthropic' | 'gemini';

export interface ApiToolSpec {
  name: ToolName;
  provider: ApiProvider;
  /** Any of these set enables the tool; all set ones are forwarded. */
  keyEnv: readonly string[];
  /** Optional endpoint/model overrides forwarded when set. */
  passEnv: readonly string[];
}

/** The compiled script next to this file (dist/tools/api-call.script.js). */
export const apiCallScript = join(__dirname, 'api-call.script.js');

export function apiTool(spec: ApiToolSpec, hostEnv: NodeJS.ProcessEnv = process.env): Tool<PromptInput> {
  const hasKey = (env: NodeJS.ProcessEnv): boolean => spec.keyEnv.some((name) => Boolean(env[name]));
  return {
    name: spec.name,
    inputSchema: promptInputSchema,
    async detect() {
      return hasKey(hostEnv) ? { version: 'api' } : null;
    },
    buildCommand(input, ctx) {
      if (!hasKey(ctx.hostEnv)) throw new ToolInputError(`${spec.name} needs ${spec.keyEnv.join(' or ')} in the worker's environment`);
      // The prompt travels in an environment variable, which has the same per-string limit as an argument.
      assertArgumentFits('prompt', input.prompt);
      return {
        file: process.execPath,
        args: [apiCallScript, spec.provider],
        env: {
          ...pickEnv(ctx.hostEnv, [...spec.keyEnv, ...spec.passEnv]),
          AGENTYARD_PROMPT: input.prompt,
          ...(input.model ? { AGENTYARD_MODEL: input.model } : {}),
        },
      };
    },
  };
}

export const claudeApiSpec: ApiToolSpec = {
  name: 'claude-api',
  provider: 'anthropic',
  keyEnv: ['ANTHROPIC_API_KEY'],
  passEnv: ['ANTHROPIC_BASE_URL', 'AGENTYARD_CLAUDE_MODEL'],
};

export const geminiApiSpec: ApiToolSpec = {
  name: 'gemini-api',
  provider: 'gemini',
  keyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  passEnv: ['GEMINI_BASE_URL', 'AGENTYARD_GEMINI_MODEL'],
};
