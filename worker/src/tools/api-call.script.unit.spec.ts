import { buildApiRequest, ollamaBaseUrl, PayloadSplitter, resultLine, streamDecoder, type ChatProvider } from './api-call.script';

/** Feeds raw stream text in awkward pieces (3 characters) through the splitter and a decoder. */
function decode(provider: ChatProvider, framing: 'sse' | 'ndjson', raw: string, model = 'asked') {
  const splitter = new PayloadSplitter(framing);
  const decoder = streamDecoder(provider, model);
  let text = '';
  const take = (payloads: string[]) => payloads.forEach((p) => (text += decoder.push(JSON.parse(p))));
  for (let i = 0; i < raw.length; i += 3) take(splitter.feed(raw.slice(i, i + 3)));
  take(splitter.end());
  return { text, usage: decoder.usage(), model: decoder.model() };
}

const sse = (events: unknown[], crlf = false) => events.map((e) => `data: ${JSON.stringify(e)}${crlf ? '\r\n\r\n' : '\n\n'}`).join('');

describe('api-call.script', () => {
  describe('buildApiRequest', () => {
    it('asks Anthropic for a stream of the prompt, with the key', () => {
      const r = buildApiRequest('anthropic', { AGENTYARD_PROMPT: 'hi', ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'http://local/' });
      expect(r).toMatchObject({ url: 'http://local/v1/messages', framing: 'sse', model: 'claude-sonnet-4-5' });
      expect(r.headers['x-api-key']).toBe('k');
      expect(r.body).toMatchObject({ stream: true, messages: [{ role: 'user', content: 'hi' }] });
      expect(() => buildApiRequest('anthropic', { AGENTYARD_PROMPT: 'hi' })).toThrow('ANTHROPIC_API_KEY');
    });

    it('asks Gemini for streamGenerateContent as SSE', () => {
      const r = buildApiRequest('gemini', { AGENTYARD_PROMPT: 'hi', GEMINI_API_KEY: 'k', AGENTYARD_MODEL: 'g' });
      expect(r.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse');
      expect(r.headers['x-goog-api-key']).toBe('k');
    });

    it('asks an OpenAI-compatible server for chat completions with the usage chunk, the key only when set', () => {
      const env = { AGENTYARD_PROMPT: 'hi', OPENAI_COMPATIBLE_BASE_URL: 'http://gpu:8000/v1/', OPENAI_COMPATIBLE_MODEL: 'm' };
      const r = buildApiRequest('openai-compatible', env);
      expect(r.url).toBe('http://gpu:8000/v1/chat/completions');
      expect(r.headers.authorization).toBeUndefined();
      expect(r.body).toEqual({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
      expect(buildApiRequest('openai-compatible', { ...env, OPENAI_COMPATIBLE_API_KEY: 's' }).headers.authorization).toBe('Bearer s');
      expect(() => buildApiRequest('openai-compatible', { AGENTYARD_PROMPT: 'hi', OPENAI_COMPATIBLE_BASE_URL: 'u' })).toThrow('needs a model');
    });

    it("asks Ollama's /api/chat, reading OLLAMA_HOST as the CLI does", () => {
      const r = buildApiRequest('ollama', { AGENTYARD_PROMPT: 'hi', AGENTYARD_MODEL: 'qwen' });
      expect(r).toMatchObject({ url: 'http://127.0.0.1:11434/api/chat', framing: 'ndjson', body: { model: 'qwen', stream: true } });
      expect(ollamaBaseUrl('gpu-box')).toBe('http://gpu-box:11434');
      expect(ollamaBaseUrl('0.0.0.0:9999')).toBe('http://0.0.0.0:9999');
      expect(ollamaBaseUrl('https://ollama.example/')).toBe('https://ollama.example');
      expect(() => buildApiRequest('ollama', { AGENTYARD_PROMPT: 'hi' })).toThrow('needs a model');
    });

    it('refuses an empty prompt and an unknown provider', () => {
      expect(() => buildApiRequest('anthropic', { ANTHROPIC_API_KEY: 'k' })).toThrow('AGENTYARD_PROMPT');
      expect(() => buildApiRequest('mistral', { AGENTYARD_PROMPT: 'hi' })).toThrow('unknown provider');
    });
  });

  describe('stream decoding', () => {
    it('joins Anthropic text deltas and takes output tokens from message_delta (a running total)', () => {
      const raw = [
        'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":5,"output_tokens":1}}}\n\n',
        'event: ping\ndata: {"type":"ping"}\n\n',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo ü"}}\n\n',
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}\n\n',
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
      ].join('');
      expect(decode('anthropic', 'sse', raw)).toEqual({
        text: 'Hello ü',
        model: 'claude-x',
        usage: {
          inputTokens: 12,
          outputTokens: 7,
          cachedInputTokens: 5,
          costUsd: null,
          models: { 'claude-x': { inputTokens: 12, outputTokens: 7, costUsd: null } },
        },
      });
    });

    it('throws on an Anthropic error event in the stream', () => {
      const raw = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
      expect(() => decode('anthropic', 'sse', raw)).toThrow('overloaded_error');
    });

    it('reads Gemini chunks (CRLF-framed), counting thoughts as output and skipping thought text', () => {
      const raw = sse(
        [
          {
            candidates: [{ content: { parts: [{ text: 'thinking…', thought: true }, { text: 'A' }] } }],
            usageMetadata: { promptTokenCount: 9 },
            modelVersion: 'gemini-x',
          },
          {
            candidates: [{ content: { parts: [{ text: 'B' }] }, finishReason: 'STOP' }],
            usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 4, thoughtsTokenCount: 3, cachedContentTokenCount: 2 },
          },
        ],
        true,
      );
      expect(decode('gemini', 'sse', raw)).toMatchObject({ text: 'AB', model: 'gemini-x', usage: { inputTokens: 9, outputTokens: 7, cachedInputTokens: 2 } });
    });

    it('reads OpenAI chunks, the usage chunk with empty choices, and ignores [DONE]', () => {
      const raw =
        sse([
          { model: 'served-m', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
          { model: 'served-m', choices: [{ index: 0, delta: { content: 'Hi' } }] },
          { model: 'served-m', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
          { model: 'served-m', choices: [], usage: { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10, prompt_tokens_details: { cached_tokens: 4 } } },
        ]) + 'data: [DONE]\n\n';
      expect(decode('openai-compatible', 'sse', raw)).toEqual({
        text: 'Hi',
        model: 'served-m',
        usage: {
          inputTokens: 8,
          outputTokens: 2,
          cachedInputTokens: 4,
          costUsd: null,
          models: { 'served-m': { inputTokens: 8, outputTokens: 2, costUsd: null } },
        },
      });
    });

    it('reports zero usage from a server that ignores include_usage', () => {
      const raw = sse([{ choices: [{ index: 0, delta: { content: 'x' } }] }]);
      expect(decode('openai-compatible', 'sse', raw, 'm').usage).toEqual({
        inputTokens: 0,
        outputTokens: 0,
        costUsd: null,
        models: { m: { inputTokens: 0, outputTokens: 0, costUsd: null } },
      });
    });

    it('reads Ollama NDJSON, its counts on the done line, even without a final newline', () => {
      const raw = [
        { model: 'qwen:7b', message: { role: 'assistant', content: 'Hel' }, done: false },
        { model: 'qwen:7b', message: { role: 'assistant', content: 'lo' }, done: false },
        { model: 'qwen:7b', message: { role: 'assistant', content: '' }, done: true, prompt_eval_count: 26, eval_count: 5 },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n');
      expect(decode('ollama', 'ndjson', raw)).toMatchObject({ text: 'Hello', model: 'qwen:7b', usage: { inputTokens: 26, outputTokens: 5 } });
    });

    it('throws on an Ollama error line', () => {
      expect(() => decode('ollama', 'ndjson', '{"error":"model \\"x\\" not found"}\n')).toThrow('not found');
    });
  });

  it('ends with one JSON result line', () => {
    const line = resultLine('ollama', 'm', 'a\nb', { inputTokens: 1, outputTokens: 2, costUsd: null });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      type: 'agentyard.result',
      provider: 'ollama',
      model: 'm',
      text: 'a\nb',
      usage: { inputTokens: 1, outputTokens: 2, costUsd: null },
    });
  });
});
