/*
 * A stand-in for an OpenAI-compatible chat server (vLLM, LM Studio, llama.cpp's server), for the
 * openai-compatible tool: a node:http server on 127.0.0.1 (port 0) answering
 * `POST /v1/chat/completions` (streamed as SSE when `stream: true`: role chunk, the text in two
 * content deltas, a finish chunk, then, with `stream_options.include_usage`, one usage chunk with
 * empty `choices`, then `data: [DONE]`; else one JSON completion) and `GET /v1/models`.
 * `refuseKeys(true)` answers everything with OpenAI's 401 invalid_api_key (key-gate.ts).
 * Each test scripts the answers and reads back every request, with its headers and parsed body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { keyGate, refuseKey, type KeyGate } from './key-gate';
import { listenLocal } from './listen-local';

/** The part of a chat completions request the tests look at. */
export interface OpenAiChatRequestBody {
  model: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages: Array<{ role: string; content: string }>;
}

export interface OpenAiChatRecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: OpenAiChatRequestBody | undefined;
}

/** One scripted answer: its text and the usage reported for it. */
export interface OpenAiChatAnswer {
  text: string;
  usage: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number };
  /** Answer with this HTTP status and an error body instead. */
  status?: number;
}

export interface OpenAiChatStandIn extends Pick<KeyGate, 'refuseKeys'> {
  /** For OPENAI_COMPATIBLE_BASE_URL (no /v1). */
  url: string;
  requests: OpenAiChatRecordedRequest[];
  /** Every answer given to a completions request, with the model the request named. */
  answers: Array<{ model: string; answer: OpenAiChatAnswer }>;
  close(): Promise<void>;
}

export interface OpenAiChatStandInOptions {
  /** What GET /v1/models lists (default: one model, `standin-model`). */
  models?: string[];
}

/** Starts the stand-in; `answer` picks the reply to each completions request. */
export async function startOpenAiChatStandIn(
  answer: (request: OpenAiChatRequestBody, index: number) => OpenAiChatAnswer,
  options: OpenAiChatStandInOptions = {},
): Promise<OpenAiChatStandIn> {
  const requests: OpenAiChatRecordedRequest[] = [];
  const answers: OpenAiChatStandIn['answers'] = [];
  let count = 0;
  const gate = keyGate();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = parseJson<OpenAiChatRequestBody>(Buffer.concat(chunks).toString('utf8'));
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      if (gate.refusing) return refuseKey(res, 'openai');
      if (req.method === 'POST' && path === '/v1/chat/completions' && body) {
        const reply = answer(body, count++);
        answers.push({ model: body.model, answer: reply });
        if (reply.status && reply.status >= 400) {
          res
            .writeHead(reply.status, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: { message: reply.text, type: 'invalid_request_error' } }));
          return;
        }
        return body.stream ? streamCompletion(res, body, reply, count) : jsonCompletion(res, body, reply, count);
      }
      if (req.method === 'GET' && path === '/v1/models') {
        const data = (options.models ?? ['standin-model']).map((id) => ({ id, object: 'model', created: 0, owned_by: 'standin' }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no ${req.method} ${path}`, type: 'not_found' } }));
    });
  });
  const { url, close } = await listenLocal(server);
  return {
    url,
    requests,
    answers,
    refuseKeys: gate.refuseKeys,
    close,
  };
}

function usageOf(answer: OpenAiChatAnswer) {
  const { prompt_tokens, completion_tokens, cached_tokens } = answer.usage;
  return {
    prompt_tokens,
    completion_tokens,
    total_tokens: prompt_tokens + completion_tokens,
    ...(cached_tokens !== undefined ? { prompt_tokens_details: { cached_tokens } } : {}),
  };
}

function jsonCompletion(res: ServerResponse, body: OpenAiChatRequestBody, answer: OpenAiChatAnswer, n: number): void {
  const completion = {
    id: `chatcmpl-standin-${n}`,
    object: 'chat.completion',
    created: 0,
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: answer.text }, finish_reason: 'stop' }],
    usage: usageOf(answer),
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
}

function streamCompletion(res: ServerResponse, body: OpenAiChatRequestBody, answer: OpenAiChatAnswer, n: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const base = { id: `chatcmpl-standin-${n}`, object: 'chat.completion.chunk', created: 0, model: body.model };
  const send = (chunk: Record<string, unknown>) => res.write(`data: ${JSON.stringify({ ...base, ...chunk })}\n\n`);
  send({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  const half = Math.ceil(answer.text.length / 2);
  for (const piece of [answer.text.slice(0, half), answer.text.slice(half)].filter(Boolean)) {
    send({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  }
  send({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  if (body.stream_options?.include_usage) send({ choices: [], usage: usageOf(answer) });
  res.write('data: [DONE]\n\n');
  res.end();
}

function parseJson<T>(raw: string): T | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}
