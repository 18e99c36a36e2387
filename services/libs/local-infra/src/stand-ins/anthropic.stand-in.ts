/*
 * A stand-in for the Anthropic Messages API, for tests that drive the real `claude` CLI: a
 * node:http server on 127.0.0.1 (port 0) that answers `HEAD /`, `GET /v1/models` (the workers'
 * health check) and `POST /v1/messages` (the CLI adds `?beta=true`), streamed as SSE when the
 * request asks for it, else as one JSON message. `refuseKeys(true)` makes it answer 401 as for a
 * revoked key (key-gate.ts).
 * Each test scripts the answers (`answer(request)`) and reads back every request it received, so
 * a change in what the CLI sends shows up as a failing assertion, not as a silent pass.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { keyGate, refuseKey, type KeyGate } from './key-gate';
import { listenLocal } from './listen-local';

/** What the stand-in received: method, path and the parsed JSON body (undefined when none). */
export interface AnthropicRecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: MessagesRequest | undefined;
}

/** The part of a Messages API request the tests look at. */
export interface MessagesRequest {
  model: string;
  stream?: boolean;
  system?: string | Array<{ type: string; text?: string }>;
  messages: Array<{ role: string; content: string | Array<Record<string, unknown>> }>;
  tools?: Array<{ name: string; input_schema?: unknown }>;
  max_tokens?: number;
}

export type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** One scripted answer: its content blocks and the usage the stand-in reports for it. */
export interface Answer {
  content: ContentBlock[];
  usage: Usage;
  /** Defaults to `tool_use` when a block calls a tool, else `end_turn`. */
  stopReason?: string;
  /**
   * Stall mid-answer: stream the start of the message and the first half of its first text, then
   * send nothing more and keep the connection open (until `close()`), like a vendor stream that
   * hangs. A non-streamed request gets no answer at all. The watchdog tests use it.
   */
  hang?: boolean;
}

export interface AnthropicStandIn extends Pick<KeyGate, 'refuseKeys'> {
  /** Base URL for ANTHROPIC_BASE_URL. */
  url: string;
  /** Every request, in arrival order (HEAD probes included). */
  requests: AnthropicRecordedRequest[];
  /** Every answer given to a Messages request, with the model the request named. */
  answers: Array<{ model: string; answer: Answer }>;
  close(): Promise<void>;
}

export interface AnthropicStandInOptions {
  /** The model ids `GET /v1/models` lists (the workers report them; allocation turns away others). Default `claude-sonnet-4-5`. */
  models?: string[];
}

/** Starts the stand-in; `answer` picks the reply to each Messages request. */
export async function startAnthropicStandIn(
  answer: (request: MessagesRequest, index: number) => Answer,
  options: AnthropicStandInOptions = {},
): Promise<AnthropicStandIn> {
  const models = options.models ?? ['claude-sonnet-4-5'];
  const requests: AnthropicRecordedRequest[] = [];
  const answers: AnthropicStandIn['answers'] = [];
  let messageCount = 0;
  const gate = keyGate();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: MessagesRequest | undefined;
      try {
        body = raw ? (JSON.parse(raw) as MessagesRequest) : undefined;
      } catch {
        body = undefined;
      }
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      if (gate.refusing && req.method !== 'HEAD') return refuseKey(res, 'anthropic');
      if (req.method === 'GET' && path.split('?')[0] === '/v1/models') {
        // What the workers' health check asks (free: no tokens).
        // Also the model list the chat tool reports (tool-health.ts): one page, all of it.
        const data = models.map((id) => ({ type: 'model', id, display_name: `${id} (stand-in)`, created_at: '2025-09-29T00:00:00Z' }));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }));
        return;
      }
      if (req.method === 'POST' && path.split('?')[0] === '/v1/messages' && body) {
        const reply = answer(body, messageCount++);
        answers.push({ model: body.model, answer: reply });
        if (reply.hang && !body.stream) return; // no answer, the connection stays open
        return body.stream ? streamMessage(res, body.model, reply, messageCount) : jsonMessage(res, body.model, reply, messageCount);
      }
      if (req.method === 'HEAD' || (req.method === 'GET' && path === '/')) {
        res.writeHead(200).end();
        return;
      }
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no ${path}` } }));
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

/** The text of the last user turn that is not a system reminder (the CLI appends `role: system` messages after it). */
export function lastUserText(request: MessagesRequest): string {
  const user = [...request.messages].reverse().find((m) => m.role === 'user');
  if (!user) return '';
  if (typeof user.content === 'string') return user.content;
  return user.content
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n');
}

/** Every text the request's user turns carry (their system reminders too). */
export function userTexts(request: MessagesRequest): string[] {
  return request.messages
    .filter((m) => m.role === 'user')
    .flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.filter((b) => b.type === 'text').map((b) => String(b.text))));
}

/** The tool_result blocks the request carries (the CLI's answers to the stand-in's tool calls). */
export function toolResults(request: MessagesRequest): Array<Record<string, unknown>> {
  return request.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content.filter((b) => b.type === 'tool_result')));
}

function stopReasonOf(answer: Answer): string {
  return answer.stopReason ?? (answer.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
}

function messageId(n: number): string {
  return `msg_standin_${String(n).padStart(4, '0')}`;
}

function jsonMessage(res: ServerResponse, model: string, answer: Answer, n: number): void {
  const message = {
    id: messageId(n),
    type: 'message',
    role: 'assistant',
    model,
    content: answer.content,
    stop_reason: stopReasonOf(answer),
    stop_sequence: null,
    usage: { cache_read_input_tokens: 0, cache_creation_input_tokens: 0, ...answer.usage },
  };
  res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_standin_${n}` }).end(JSON.stringify(message));
}

/** The SSE sequence the Messages API streams: input usage first, output usage in message_delta. */
function streamMessage(res: ServerResponse, model: string, answer: Answer, n: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_standin_${n}` });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const { output_tokens, ...inputUsage } = answer.usage;
  send('message_start', {
    type: 'message_start',
    message: {
      id: messageId(n),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { cache_read_input_tokens: 0, cache_creation_input_tokens: 0, ...inputUsage, output_tokens: 1 },
    },
  });
  if (answer.hang) {
    const first = answer.content.find((b) => b.type === 'text');
    send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    if (first)
      send('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: first.text.slice(0, Math.ceil(first.text.length / 2)) },
      });
    return; // …and nothing more: the response stays open.
  }
  answer.content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      // Two deltas: the CLI must join them, as it does with the real API's token-sized pieces.
      const half = Math.ceil(block.text.length / 2);
      for (const piece of [block.text.slice(0, half), block.text.slice(half)].filter(Boolean)) {
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
      }
    } else {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    send('content_block_stop', { type: 'content_block_stop', index });
  });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReasonOf(answer), stop_sequence: null }, usage: { output_tokens } });
  send('message_stop', { type: 'message_stop' });
  res.end();
}
