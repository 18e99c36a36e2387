/*
 * Chat tools (claude-api, gemini-api, openai-compatible, ollama): one prompt to a provider's HTTP
 * API, for machines without an agent CLI. Each is enabled only when the worker's environment
 * configures it (an API key, an endpoint). They run as a small Node child process
 * (api-call.script.ts) rather than in the agent itself, so timeouts, cancellation, output
 * streaming and the clean environment work exactly as for every other tool; the script streams
 * the answer and ends with a result line that chatStreamParser turns into the task's usage.
 */
import { join } from 'node:path';
import { promptInputSchema, type PromptInput, type ToolName } from '@agentyard/contracts/agent';
import type { ChatProvider } from './api-call.script';
import { chatStreamParser } from './chat-stream';
import { pickEnv } from './cli-tool';
import { findExecutable } from './executable-lookup';
import { anthropicProbe, checkCredentials, geminiProbe, ollamaProbe, openAiProbe, type CredentialProbe } from './tool-health';
import { assertArgumentFits, ToolInputError, type Tool } from './tool';

export type ApiProvider = ChatProvider;

export interface ApiToolSpec {
  name: ToolName;
  provider: ApiProvider;
  /** Any of these set enables the tool; all set ones are forwarded. */
  keyEnv: readonly string[];
  /** Optional endpoint/model overrides forwarded when set. */
  passEnv: readonly string[];
  /** Also enabled when this returns true with none of keyEnv set (ollama: its binary on PATH). */
  enabledWithout?: (env: NodeJS.ProcessEnv) => boolean;
  /** A tool without a default model: the input's model, else this host variable, must name one. */
  modelEnv?: string;
  /** The cheap credentials check for this provider (tool-health.ts), from the worker's environment. */
  probe: (env: NodeJS.ProcessEnv) => CredentialProbe;
}

/** The compiled script next to this file (dist/tools/api-call.script.js). */
export const apiCallScript = join(__dirname, 'api-call.script.js');

export function apiTool(spec: ApiToolSpec, hostEnv: NodeJS.ProcessEnv = process.env): Tool<PromptInput> {
  const hasKey = (env: NodeJS.ProcessEnv): boolean => spec.keyEnv.some((name) => Boolean(env[name])) || (spec.enabledWithout?.(env) ?? false);
  return {
    name: spec.name,
    inputSchema: promptInputSchema,
    async detect() {
      return hasKey(hostEnv) ? { version: 'api' } : null;
    },
    checkHealth: () => checkCredentials(spec.probe(hostEnv)),
    buildCommand(input, ctx) {
      if (!hasKey(ctx.hostEnv)) throw new ToolInputError(`${spec.name} needs ${spec.keyEnv.join(' or ')} in the worker's environment`);
      if (spec.modelEnv && !input.model && !ctx.hostEnv[spec.modelEnv]) {
        throw new ToolInputError(`${spec.name} needs a model: set input.model (or ${spec.modelEnv} on the worker)`);
      }
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
    streamParser: chatStreamParser,
  };
}

export const claudeApiSpec: ApiToolSpec = {
  name: 'claude-api',
  provider: 'anthropic',
  keyEnv: ['ANTHROPIC_API_KEY'],
  passEnv: ['ANTHROPIC_BASE_URL', 'AGENTYARD_CLAUDE_MODEL'],
  // api-call.script.ts sends only ANTHROPIC_API_KEY, so only that is checked (not ANTHROPIC_AUTH_TOKEN).
  probe: (env) => anthropicProbe({ ANTHROPIC_API_KEY: env.ANTHROPIC_API_KEY }, env.ANTHROPIC_BASE_URL),
};

export const geminiApiSpec: ApiToolSpec = {
  name: 'gemini-api',
  provider: 'gemini',
  keyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  passEnv: ['GEMINI_BASE_URL', 'AGENTYARD_GEMINI_MODEL'],
  probe: (env) => geminiProbe(env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY, env.GEMINI_BASE_URL),
};

/** Any server speaking OpenAI's chat completions (vLLM, LM Studio, llama.cpp's server); the key is optional. */
export const openaiCompatibleSpec: ApiToolSpec = {
  name: 'openai-compatible',
  provider: 'openai-compatible',
  keyEnv: ['OPENAI_COMPATIBLE_BASE_URL'],
  passEnv: ['OPENAI_COMPATIBLE_API_KEY', 'OPENAI_COMPATIBLE_MODEL'],
  modelEnv: 'OPENAI_COMPATIBLE_MODEL',
  probe: (env) => openAiProbe('OpenAI-compatible server', env.OPENAI_COMPATIBLE_API_KEY, env.OPENAI_COMPATIBLE_BASE_URL ?? ''),
};

/** Ollama over its HTTP API (no binary needed); enabled by OLLAMA_HOST, or by an `ollama` on PATH (then the default 127.0.0.1:11434). */
export const ollamaApiSpec: ApiToolSpec = {
  name: 'ollama',
  provider: 'ollama',
  keyEnv: ['OLLAMA_HOST'],
  passEnv: ['OLLAMA_MODEL'],
  modelEnv: 'OLLAMA_MODEL',
  enabledWithout: (env) => findExecutable('ollama', env.PATH ?? '') !== undefined,
  probe: (env) => ollamaProbe(env.OLLAMA_HOST),
};

export const claudeApiTool = (env: NodeJS.ProcessEnv = process.env): Tool<PromptInput> => apiTool(claudeApiSpec, env);
export const geminiApiTool = (env: NodeJS.ProcessEnv = process.env): Tool<PromptInput> => apiTool(geminiApiSpec, env);
export const openaiCompatibleTool = (env: NodeJS.ProcessEnv = process.env): Tool<PromptInput> => apiTool(openaiCompatibleSpec, env);
export const ollamaApiTool = (env: NodeJS.ProcessEnv = process.env): Tool<PromptInput> => apiTool(ollamaApiSpec, env);
