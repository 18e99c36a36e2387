/*
 * Child process of the chat tools (claude-api, gemini-api, openai-compatible, ollama): sends one
 * prompt to the provider's HTTP API with streaming on, prints the answer's text as it arrives
 * (people watch the terminal), then ends with ONE JSON line, the result:
 *
 *   {"type":"agentyard.result","provider":"anthropic","model":"claude-…","text":"<the whole answer>",
 *    "usage":{"inputTokens":…,"outputTokens":…,"cachedInputTokens":…,"costUsd":null,
 *             "models":{"<model>":{"inputTokens":…,"outputTokens":…,"costUsd":null}}}}
 *
 * `usage` has the contracts' AgentUsage shape, so chat-stream.ts passes it through unchanged.
 * The result line always starts on a line of its own (a newline is printed first if the text did
 * not end with one). Token counts per provider:
 *   anthropic  input = input_tokens + cache_creation_input_tokens, cached = cache_read_input_tokens (beside input)
 *   gemini     input = promptTokenCount, output = candidatesTokenCount + thoughtsTokenCount, cached = cachedContentTokenCount (part of input)
 *   openai     input = prompt_tokens, output = completion_tokens, cached = prompt_tokens_details.cached_tokens (part of input)
 *   ollama     input = prompt_eval_count, output = eval_count
 *
 * Usage: `node api-call.script.js anthropic|gemini|openai-compatible|ollama` with the prompt in
 * $AGENTYARD_PROMPT, optional $AGENTYARD_MODEL, and the provider's key/endpoint variables.
 * Exit codes: 0 answered, 1 the API refused or failed, 2 misuse.
 * Imports nothing but Node: it runs standalone from dist/.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ChatProvider = 'anthropic' | 'gemini' | 'openai-compatible' | 'ollama';

export interface ChatUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  costUsd: null;
  models?: Record<string, { inputTokens: number; outputTokens: number; costUsd: null }>;
}

export interface ApiRequest {
  provider: ChatProvider;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  /** The model asked for (the stream may name a more precise one). */
  model: string;
  /** How the reply is framed: server-sent events or one JSON object per line. */
  framing: 'sse' | 'ndjson';
}

/** The final line's `type`; chat-stream.ts looks for it. */
export const resultLineType = 'agentyard.result';

const defaults = { anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' } as const;

const trimBase = (url: string): string => url.replace(/\/+$/, '');

export function buildApiRequest(provider: string, env: NodeJS.ProcessEnv): ApiRequest {
  const prompt = env.AGENTYARD_PROMPT ?? '';
  if (!prompt) throw new Error('AGENTYARD_PROMPT is empty');
  const json = { 'content-type': 'application/json' };
  if (provider === 'anthropic') {
    const key = env.ANTHROPIC_API_KEY;
    if (!key) throw new Error('ANTHROPIC_API_KEY is not set');
    const model = env.AGENTYARD_MODEL ?? env.AGENTYARD_CLAUDE_MODEL ?? defaults.anthropic;
    return {
      provider,
      url: `${trimBase(env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com')}/v1/messages`,
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', ...json },
      body: { model, max_tokens: 8192, stream: true, messages: [{ role: 'user', content: prompt }] },
      model,
      framing: 'sse',
    };
  }
  if (provider === 'gemini') {
    const key = env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY;
    if (!key) throw new Error('GEMINI_API_KEY (or GOOGLE_API_KEY) is not set');
    const model = env.AGENTYARD_MODEL ?? env.AGENTYARD_GEMINI_MODEL ?? defaults.gemini;
    return {
      provider,
      url: `${trimBase(env.GEMINI_BASE_URL ?? 'https://generativelanguage.googleapis.com')}/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`,
      headers: { 'x-goog-api-key': key, ...json },
      body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
      model,
      framing: 'sse',
    };
  }
  if (provider === 'openai-compatible') {
    const base = env.OPENAI_COMPATIBLE_BASE_URL;
    if (!base) throw new Error('OPENAI_COMPATIBLE_BASE_URL is not set');
    const model = env.AGENTYARD_MODEL ?? env.OPENAI_COMPATIBLE_MODEL;
    if (!model) throw new Error('openai-compatible needs a model: set input.model (or OPENAI_COMPATIBLE_MODEL on the worker)');
    const key = env.OPENAI_COMPATIBLE_API_KEY;
    return {
      provider,
      // The base may be given with or without its /v1 (both spellings are common in servers' docs).
      url: `${trimBase(base).replace(/\/v1$/, '')}/v1/chat/completions`,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...json },
      body: { model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] },
      model,
      framing: 'sse',
    };
  }
  if (provider === 'ollama') {
    const model = env.AGENTYARD_MODEL ?? env.OLLAMA_MODEL;
    if (!model) throw new Error('ollama needs a model: set input.model (or OLLAMA_MODEL on the worker)');
    return {
      provider,
      url: `${ollamaBaseUrl(env.OLLAMA_HOST)}/api/chat`,
      headers: json,
      body: { model, stream: true, messages: [{ role: 'user', content: prompt }] },
      model,
      framing: 'ndjson',
    };
  }
  throw new Error(`unknown provider ${provider} (expected anthropic, gemini, openai-compatible or ollama)`);
}

/** OLLAMA_HOST as the ollama CLI reads it: `host`, `host:port` or a URL; default 127.0.0.1:11434. */
export function ollamaBaseUrl(host: string | undefined): string {
  const value = (host ?? '').trim();
  if (!value) return 'http://127.0.0.1:11434';
  const withScheme = /^https?:\/\//.test(value) ? value : `http://${value}`;
  const url = new URL(withScheme);
  if (!url.port && !/^https?:\/\/[^/]*:\d+/.test(withScheme)) url.port = url.protocol === 'https:' ? '443' : '11434';
  return trimBase(url.toString());
}

/**
 * Splits a byte stream into payloads: SSE `data:` fields (joined per event, `[DONE]` dropped) or
 * NDJSON lines. Chunks may end anywhere, even mid-character (the caller decodes with a streaming
 * TextDecoder) or mid-line.
 */
export class PayloadSplitter {
  private partial = '';
  private data: string[] = [];

  constructor(private readonly framing: 'sse' | 'ndjson') {}

  feed(text: string): string[] {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.flatMap((line) => this.line(line.endsWith('\r') ? line.slice(0, -1) : line));
  }

  end(): string[] {
    const rest = this.partial ? this.line(this.partial) : [];
    this.partial = '';
    return [...rest, ...(this.framing === 'sse' ? this.line('') : [])];
  }

  private line(line: string): string[] {
    if (this.framing === 'ndjson') return line.trim() ? [line] : [];
    if (line === '') {
      const payload = this.data.join('\n');
      this.data = [];
      return payload && payload !== '[DONE]' ? [payload] : [];
    }
    if (line.startsWith('data:')) this.data.push(line.slice(5).replace(/^ /, ''));
    return [];
  }
}

/** Reads one provider's stream events: the text each adds, and the usage seen so far. */
export interface StreamDecoder {
  /** One parsed event; returns the text it adds ('' when none). Throws on an error event. */
  push(event: unknown): string;
  usage(): ChatUsage;
  /** The model the stream said it is (else the one asked for). */
  model(): string;
}

export function streamDecoder(provider: ChatProvider, requestedModel: string): StreamDecoder {
  let model = requestedModel;
  let input = 0;
  let output = 0;
  let cached: number | undefined;
  const usage = (): ChatUsage => ({
    inputTokens: input,
    outputTokens: output,
    ...(cached !== undefined ? { cachedInputTokens: cached } : {}),
    costUsd: null,
    models: { [model.slice(0, 200)]: { inputTokens: input, outputTokens: output, costUsd: null } },
  });
  const push = (raw: unknown): string => {
    const e = (raw ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (e.error) throw new Error(`the API reported an error: ${JSON.stringify(e.error).slice(0, 2000)}`);
    switch (provider) {
      case 'anthropic': {
        if (e.type === 'message_start') {
          const u = e.message?.usage ?? {};
          if (typeof e.message?.model === 'string') model = e.message.model;
          input = count(u.input_tokens) + count(u.cache_creation_input_tokens);
          cached = count(u.cache_read_input_tokens);
          output = count(u.output_tokens);
        }
        // message_delta's output_tokens is the answer's running total, not an increment.
        if (e.type === 'message_delta' && e.usage) output = count(e.usage.output_tokens);
        return e.type === 'content_block_delta' && e.delta?.type === 'text_delta' && typeof e.delta.text === 'string' ? e.delta.text : '';
      }
      case 'gemini': {
        if (typeof e.modelVersion === 'string' && e.modelVersion) model = e.modelVersion;
        const u = e.usageMetadata;
        // Each chunk may repeat the usage so far; the last one is the whole answer's.
        if (u) {
          input = count(u.promptTokenCount);
          output = count(u.candidatesTokenCount) + count(u.thoughtsTokenCount);
          if (u.cachedContentTokenCount !== undefined) cached = count(u.cachedContentTokenCount);
        }
        const parts = e.candidates?.[0]?.content?.parts;
        return Array.isArray(parts)
          ? parts.map((p: { text?: unknown; thought?: unknown }) => (typeof p?.text === 'string' && p.thought !== true ? p.text : '')).join('')
          : '';
      }
      case 'openai-compatible': {
        if (typeof e.model === 'string' && e.model) model = e.model;
        if (e.usage) {
          input = count(e.usage.prompt_tokens);
          output = count(e.usage.completion_tokens);
          if (e.usage.prompt_tokens_details?.cached_tokens !== undefined) cached = count(e.usage.prompt_tokens_details.cached_tokens);
        }
        const content = e.choices?.[0]?.delta?.content;
        return typeof content === 'string' ? content : '';
      }
      case 'ollama': {
        if (typeof e.model === 'string' && e.model) model = e.model;
        if (e.done === true) {
          input = count(e.prompt_eval_count);
          output = count(e.eval_count);
        }
        const content = e.message?.content;
        return typeof content === 'string' ? content : '';
      }
    }
  };
  return { push, usage, model: () => model };
}

/** The final line the script prints. */
export function resultLine(provider: ChatProvider, model: string, text: string, usage: ChatUsage): string {
  return JSON.stringify({ type: resultLineType, provider, model, text, usage });
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0;
}

function post(request: ApiRequest): Promise<IncomingMessage> {
  const url = new URL(request.url);
  const body = JSON.stringify(request.body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { ...request.headers, 'content-length': String(Buffer.byteLength(body)) } }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<number> {
  let request: ApiRequest;
  try {
    request = buildApiRequest(process.argv[2] ?? '', process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const response = await post(request);
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    let text = '';
    for await (const chunk of response) text += String(chunk);
    process.stderr.write(`API error: HTTP ${status}: ${text.slice(0, 4000)}\n`);
    return 1;
  }
  const splitter = new PayloadSplitter(request.framing);
  const decoder = streamDecoder(request.provider, request.model);
  const utf8 = new TextDecoder();
  let answer = '';
  const take = (payloads: string[]): void => {
    for (const payload of payloads) {
      let event: unknown;
      try {
        event = JSON.parse(payload);
      } catch {
        continue;
      }
      const text = decoder.push(event);
      if (text) {
        answer += text;
        process.stdout.write(text);
      }
    }
  };
  for await (const chunk of response) take(splitter.feed(utf8.decode(chunk as Buffer, { stream: true })));
  take(splitter.feed(utf8.decode()));
  take(splitter.end());
  process.stdout.write(`${answer === '' || answer.endsWith('\n') ? '' : '\n'}${resultLine(request.provider, decoder.model(), answer, decoder.usage())}\n`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`API call failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
