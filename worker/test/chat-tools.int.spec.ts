/*
 * The four chat tools (claude-api, gemini-api, openai-compatible, ollama) run for real: the
 * tool's command (node + api-call.script) in a PTY as the agent runs a task (TaskProcess), its
 * output through LineSplitter and the tool's stream parser, against a stand-in of each provider's
 * HTTP API (services/libs/local-infra/src/stand-ins). Under jest the script exists only as .ts,
 * so it is compiled once with @swc/core (the same compiler the build and jest use) into the
 * test's temp dir and the command's script path is pointed there.
 *
 * Each run must print the stand-in's text, report exactly the usage the stand-in served, and the
 * stand-in must have received the prompt (and the key, where there is one).
 */
import { runToolInPty, type ToolRun } from './support/run-tool-in-pty';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformFileSync } from '@swc/core';
import { agentUsageSchema, type PromptInput } from '@agentyard/contracts/agent';
import {
  requestTexts,
  startAnthropicStandIn,
  startGeminiStandIn,
  startOllamaStandIn,
  startOpenAiChatStandIn,
  userTexts,
  type AnthropicStandIn,
  type GeminiStandIn,
  type OllamaStandIn,
  type OpenAiChatStandIn,
} from '@agentyard/local-infra';
import { outcomeOf } from '../src/tools/agent-stream';
import { apiCallScript, claudeApiTool, geminiApiTool, ollamaApiTool, openaiCompatibleTool } from '../src/tools/api-tool';
import type { Tool } from '../src/tools/tool';

jest.setTimeout(60_000);

const answerText = 'Hello from the stand-in.\nA second line, with ümlauts.';
const prompt = 'Say hello in two lines.';

let root: string;
let script: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'chat-tools-int-'));
  script = join(root, 'api-call.script.js');
  const { code } = transformFileSync(apiCallScript.replace(/\.js$/, '.ts'), {
    swcrc: false,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  writeFileSync(script, code);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Run = ToolRun;

async function run(tool: Tool<PromptInput>, hostEnv: NodeJS.ProcessEnv, input: PromptInput, name: string): Promise<Run> {
  expect(await tool.detect()).toEqual({ version: 'api' });
  const workDir = join(root, name);
  mkdirSync(workDir, { recursive: true });
  const command = tool.buildCommand(input, { workDir, cwd: workDir, hostEnv: { ...hostEnv, AGENT_ONLY_SECRET: 'not-for-tasks' } });
  expect(command.env).not.toHaveProperty('AGENT_ONLY_SECRET');
  expect(command.args[0]).toBe(apiCallScript);
  return runToolInPty(
    {
      file: command.file,
      args: [script, ...command.args.slice(1)],
      env: { ...command.env, PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir },
      cwd: workDir,
    },
    tool.streamParser!(),
    30,
  );
}

function expectAnswered(r: Run): ReturnType<typeof outcomeOf> {
  expect(r.exit.exitCode).toBe(0);
  expect(r.output).toContain('Hello from the stand-in.');
  expect(r.events.filter((e) => e.kind === 'text').map((e) => (e as { text: string }).text)).toEqual(answerText.split('\n'));
  const outcome = outcomeOf(r.events);
  expect(outcome.summary).toBe(answerText);
  expect(agentUsageSchema.safeParse(outcome.usage).success).toBe(true);
  return outcome;
}

describe('chat tools against stand-in APIs', () => {
  describe('claude-api', () => {
    let standIn: AnthropicStandIn;
    beforeAll(async () => {
      standIn = await startAnthropicStandIn(() => ({
        content: [{ type: 'text', text: answerText }],
        usage: { input_tokens: 21, output_tokens: 13, cache_creation_input_tokens: 4, cache_read_input_tokens: 6 },
      }));
    });
    afterAll(() => standIn.close());

    it('streams the answer and reports the usage the API served', async () => {
      const env = { ANTHROPIC_API_KEY: 'sk-ant-standin', ANTHROPIC_BASE_URL: standIn.url };
      const outcome = expectAnswered(await run(claudeApiTool(env), env, { prompt, model: 'claude-standin' }, 'claude'));
      expect(outcome.usage).toEqual({
        inputTokens: 25,
        outputTokens: 13,
        cachedInputTokens: 6,
        costUsd: null,
        models: { 'claude-standin': { inputTokens: 25, outputTokens: 13, costUsd: null } },
      });
      const [request] = standIn.requests;
      expect(request!.headers['x-api-key']).toBe('sk-ant-standin');
      expect(request!.body!.stream).toBe(true);
      expect(userTexts(request!.body!)).toEqual([prompt]);
    });
  });

  describe('gemini-api', () => {
    let standIn: GeminiStandIn;
    beforeAll(async () => {
      standIn = await startGeminiStandIn({
        turns: [
          {
            parts: [{ text: 'Hello from the stand-in.\n' }, { text: 'A second line, with ümlauts.' }],
            usage: { promptTokenCount: 30, candidatesTokenCount: 9, thoughtsTokenCount: 5, cachedContentTokenCount: 8 },
          },
        ],
      });
    });
    afterAll(() => standIn.close());

    it('streams the answer and reports the usage the API served', async () => {
      const env = { GEMINI_API_KEY: 'gemini-standin', GEMINI_BASE_URL: standIn.url };
      const outcome = expectAnswered(await run(geminiApiTool(env), env, { prompt, model: 'gemini-standin' }, 'gemini'));
      expect(outcome.usage).toEqual({
        inputTokens: 30,
        outputTokens: 14,
        cachedInputTokens: 8,
        costUsd: null,
        models: { 'gemini-standin': { inputTokens: 30, outputTokens: 14, costUsd: null } },
      });
      const [request] = standIn.requests;
      expect(request!.action).toBe('streamGenerateContent');
      expect(request!.url).toContain('alt=sse');
      expect(request!.headers['x-goog-api-key']).toBe('gemini-standin');
      expect(requestTexts(request!)).toEqual([prompt]);
    });
  });

  describe('openai-compatible', () => {
    let standIn: OpenAiChatStandIn;
    beforeAll(async () => {
      standIn = await startOpenAiChatStandIn(() => ({ text: answerText, usage: { prompt_tokens: 17, completion_tokens: 11, cached_tokens: 3 } }));
    });
    afterAll(() => standIn.close());

    it('streams the answer and reports the usage chunk the server sent', async () => {
      const env = { OPENAI_COMPATIBLE_BASE_URL: `${standIn.url}/v1`, OPENAI_COMPATIBLE_API_KEY: 'sk-local', OPENAI_COMPATIBLE_MODEL: 'standin-model' };
      const outcome = expectAnswered(await run(openaiCompatibleTool(env), env, { prompt }, 'openai'));
      expect(outcome.usage).toEqual({
        inputTokens: 17,
        outputTokens: 11,
        cachedInputTokens: 3,
        costUsd: null,
        models: { 'standin-model': { inputTokens: 17, outputTokens: 11, costUsd: null } },
      });
      const [request] = standIn.requests;
      expect(request!.path).toBe('/v1/chat/completions');
      expect(request!.headers.authorization).toBe('Bearer sk-local');
      expect(request!.body).toMatchObject({
        model: 'standin-model',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: prompt }],
      });
    });

    it('fails with the server error when the server refuses', async () => {
      const refusing = await startOpenAiChatStandIn(() => ({ text: 'model not loaded', status: 400, usage: { prompt_tokens: 0, completion_tokens: 0 } }));
      try {
        const env = { OPENAI_COMPATIBLE_BASE_URL: refusing.url };
        const r = await run(openaiCompatibleTool(env), env, { prompt, model: 'absent' }, 'openai-refused');
        expect(r.exit.exitCode).toBe(1);
        expect(r.output).toContain('HTTP 400');
        expect(outcomeOf(r.events).usage).toBeUndefined();
        expect(refusing.requests[0]!.headers.authorization).toBeUndefined();
      } finally {
        await refusing.close();
      }
    });
  });

  describe('ollama', () => {
    let standIn: OllamaStandIn;
    beforeAll(async () => {
      standIn = await startOllamaStandIn(() => ({ text: answerText, promptEvalCount: 26, evalCount: 12 }), { models: ['standin:latest'] });
    });
    afterAll(() => standIn.close());

    it('streams the answer over the HTTP API without the binary and reports its token counts', async () => {
      // No ollama on this PATH: OLLAMA_HOST alone enables the tool.
      const env = { OLLAMA_HOST: standIn.url, OLLAMA_MODEL: 'standin', PATH: '/nonexistent' };
      const outcome = expectAnswered(await run(ollamaApiTool(env), env, { prompt }, 'ollama'));
      expect(outcome.usage).toEqual({
        inputTokens: 26,
        outputTokens: 12,
        costUsd: null,
        models: { standin: { inputTokens: 26, outputTokens: 12, costUsd: null } },
      });
      const [request] = standIn.requests;
      expect(request!.path).toBe('/api/chat');
      expect(request!.body).toMatchObject({ model: 'standin', stream: true, messages: [{ role: 'user', content: prompt }] });
    });
  });
});
