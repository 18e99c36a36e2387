/*
 * Each tool's credentials check (tool-health.ts) against the stand-in of its vendor's API: healthy
 * with the key accepted; unhealthy with auth `refused` once the stand-in turns the key down
 * (`refuseKeys(true)`, each vendor's own bad-key answer, Gemini's 400 included); healthy again when
 * it accepts it. Also: a check never waits past its bound, and an address nothing listens on is
 * unhealthy with the reason. The platform side (allocation skipping the tool) is in the gateway's
 * tool-health.e2e.spec.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  startAnthropicStandIn,
  startGeminiStandIn,
  startOllamaStandIn,
  startOpenAiChatStandIn,
  startResponsesStandIn,
  type AnthropicStandIn,
  type GeminiStandIn,
  type OllamaStandIn,
  type OpenAiChatStandIn,
  type ResponsesStandIn,
} from '@agentyard/local-infra';
import { claudeApiTool, geminiApiTool, ollamaApiTool, openaiCompatibleTool } from '../src/tools/api-tool';
import { claudeCodeTool } from '../src/tools/claude-code.tool';
import { codexTool } from '../src/tools/codex.tool';
import { geminiCliTool } from '../src/tools/gemini-cli.tool';
import { checkCredentials, openAiProbe } from '../src/tools/tool-health';
import type { Tool } from '../src/tools/tool';

jest.setTimeout(30_000);

let anthropic: AnthropicStandIn;
let gemini: GeminiStandIn;
let openaiChat: OpenAiChatStandIn;
let responses: ResponsesStandIn;
let ollama: OllamaStandIn;
let silent: Server;

beforeAll(async () => {
  anthropic = await startAnthropicStandIn(() => ({ content: [{ type: 'text', text: 'x' }], usage: { input_tokens: 1, output_tokens: 1 } }));
  gemini = await startGeminiStandIn({ turns: [] });
  openaiChat = await startOpenAiChatStandIn(() => ({ text: 'x', usage: { prompt_tokens: 1, completion_tokens: 1 } }));
  responses = await startResponsesStandIn([]);
  ollama = await startOllamaStandIn(() => ({ text: 'x', promptEvalCount: 1, evalCount: 1 }));
  // Accepts connections and never answers: a hung API.
  silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  silent?.closeAllConnections();
  await new Promise((r) => silent?.close(r));
  await Promise.all([anthropic?.close(), gemini?.close(), openaiChat?.close(), responses?.close(), ollama?.close()]);
});

interface Case {
  tool: () => Tool;
  standIn: () => { refuseKeys(refuse: boolean): void };
  /** How the stand-in saw the check: method, path, and the key header it got. */
  lastCheck: () => { method: string; path: string; key: unknown };
  refusedWith: number;
}

// The CLIs' checks need no CLI installed: checkHealth reads only the environment.
const cases: Record<string, Case> = {
  'claude-api': {
    tool: () => claudeApiTool({ ANTHROPIC_API_KEY: 'sk-ant-k', ANTHROPIC_BASE_URL: anthropic.url }),
    standIn: () => anthropic,
    lastCheck: () => ({
      method: anthropic.requests.at(-1)!.method,
      path: anthropic.requests.at(-1)!.path,
      key: anthropic.requests.at(-1)!.headers['x-api-key'],
    }),
    refusedWith: 401,
  },
  'claude-code': {
    tool: () => claudeCodeTool('/nonexistent', { ANTHROPIC_API_KEY: 'sk-ant-k', ANTHROPIC_BASE_URL: anthropic.url }),
    standIn: () => anthropic,
    lastCheck: () => ({
      method: anthropic.requests.at(-1)!.method,
      path: anthropic.requests.at(-1)!.path,
      key: anthropic.requests.at(-1)!.headers['x-api-key'],
    }),
    refusedWith: 401,
  },
  'gemini-api': {
    tool: () => geminiApiTool({ GEMINI_API_KEY: 'g-k', GEMINI_BASE_URL: gemini.url }),
    standIn: () => gemini,
    lastCheck: () => ({ method: gemini.requests.at(-1)!.method, path: gemini.requests.at(-1)!.url, key: gemini.requests.at(-1)!.headers['x-goog-api-key'] }),
    refusedWith: 400,
  },
  'gemini-cli': {
    tool: () => geminiCliTool('/nonexistent', { GEMINI_API_KEY: 'g-k', GOOGLE_GEMINI_BASE_URL: gemini.url }),
    standIn: () => gemini,
    lastCheck: () => ({ method: gemini.requests.at(-1)!.method, path: gemini.requests.at(-1)!.url, key: gemini.requests.at(-1)!.headers['x-goog-api-key'] }),
    refusedWith: 400,
  },
  codex: {
    tool: () => codexTool('/nonexistent', { OPENAI_API_KEY: 'sk-o', OPENAI_BASE_URL: responses.url }),
    standIn: () => responses,
    lastCheck: () => ({
      method: responses.requests.at(-1)!.method,
      path: responses.requests.at(-1)!.url,
      key: responses.requests.at(-1)!.headers.authorization,
    }),
    refusedWith: 401,
  },
  'openai-compatible': {
    tool: () => openaiCompatibleTool({ OPENAI_COMPATIBLE_BASE_URL: `${openaiChat.url}/v1`, OPENAI_COMPATIBLE_API_KEY: 'sk-c' }),
    standIn: () => openaiChat,
    lastCheck: () => ({
      method: openaiChat.requests.at(-1)!.method,
      path: openaiChat.requests.at(-1)!.path,
      key: openaiChat.requests.at(-1)!.headers.authorization,
    }),
    refusedWith: 401,
  },
  ollama: {
    tool: () => ollamaApiTool({ OLLAMA_HOST: ollama.url }),
    standIn: () => ollama,
    lastCheck: () => ({ method: ollama.requests.at(-1)!.method, path: ollama.requests.at(-1)!.path, key: undefined }),
    refusedWith: 401,
  },
};

const expectedCheck: Record<string, { path: string; key: unknown }> = {
  'claude-api': { path: '/v1/models?limit=1000', key: 'sk-ant-k' },
  'claude-code': { path: '/v1/models?limit=1000', key: 'sk-ant-k' },
  'gemini-api': { path: '/v1beta/models?pageSize=1000', key: 'g-k' },
  'gemini-cli': { path: '/v1beta/models?pageSize=1000', key: 'g-k' },
  codex: { path: '/v1/models', key: 'Bearer sk-o' },
  'openai-compatible': { path: '/v1/models', key: 'Bearer sk-c' },
  ollama: { path: '/api/tags', key: undefined },
};

/** The ids each stand-in's models list names (its default), as the check reads them. */
const expectedModels: Record<string, string[]> = {
  'claude-api': ['claude-sonnet-4-5'],
  'claude-code': ['claude-sonnet-4-5'],
  'gemini-api': ['gemini-2.5-flash'],
  'gemini-cli': ['gemini-2.5-flash'],
  codex: ['gpt-5-codex'],
  'openai-compatible': ['standin-model'],
  ollama: ['standin:latest'],
};

describe('tool credentials checks against the vendors’ stand-ins', () => {
  describe.each(Object.keys(cases))('%s', (name) => {
    const c = cases[name]!;
    it('is healthy with the key accepted, refused while the stand-in refuses it, and healthy again after', async () => {
      const tool = c.tool();
      expect(tool.name).toBe(name);
      expect(await tool.checkHealth!()).toEqual({ health: 'healthy', auth: 'ok', models: expectedModels[name] });
      expect(c.lastCheck()).toEqual({ method: 'GET', ...expectedCheck[name] });

      c.standIn().refuseKeys(true);
      try {
        const refused = await tool.checkHealth!();
        // Ollama has no key of its own: a proxy's refusal means one is missing.
        expect(refused).toMatchObject({ health: 'unhealthy', auth: name === 'ollama' ? 'missing' : 'refused' });
        expect(refused.detail).toContain(`(${c.refusedWith})`);
        // The key never appears in what the worker reports.
        expect(refused.detail).not.toMatch(/sk-|g-k/);
      } finally {
        c.standIn().refuseKeys(false);
      }
      expect(await tool.checkHealth!()).toEqual({ health: 'healthy', auth: 'ok', models: expectedModels[name] });
    });
  });

  it('gives up on an API that does not answer within its bound, unhealthy', async () => {
    const { port } = silent.address() as AddressInfo;
    const started = Date.now();
    const report = await checkCredentials(openAiProbe('OpenAI API', 'sk-o', `http://127.0.0.1:${port}`), 500);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(report).toEqual({ health: 'unhealthy', auth: 'unknown', detail: 'the OpenAI API did not answer within 1 s' });
  });

  it('reports a key Node cannot send as a header as unhealthy, without a connection or a crash', async () => {
    expect(await checkCredentials(openAiProbe('OpenAI API', 'sk-o\nX-Injected: 1', openaiChat.url))).toEqual({
      health: 'unhealthy',
      auth: 'unknown',
      detail: 'the OpenAI API request could not be made (ERR_INVALID_CHAR)',
    });
  });

  it('reports an API nobody listens at as unreachable, with the error code', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    expect(await checkCredentials(openAiProbe('OpenAI API', 'sk-o', `http://127.0.0.1:${port}`))).toEqual({
      health: 'unhealthy',
      auth: 'unknown',
      detail: 'the OpenAI API is unreachable (ECONNREFUSED)',
    });
  });
});
