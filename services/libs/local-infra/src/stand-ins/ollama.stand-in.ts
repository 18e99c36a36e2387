/*
 * A stand-in for Ollama's HTTP API, for the ollama tool: a node:http server on 127.0.0.1 (port 0)
 * answering `POST /api/chat` (NDJSON when `stream` is not false, as Ollama defaults: one line per
 * piece of text, then a `done: true` line carrying `prompt_eval_count` / `eval_count`; else one
 * JSON object), `GET /api/tags` and `GET /api/version`. An unknown model gets Ollama's 404.
 * `refuseKeys(true)` plays an authenticating proxy in front of it refusing (401, key-gate.ts).
 * Each test scripts the answers and reads back every request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { keyGate, refuseKey, type KeyGate } from './key-gate';
import { listenLocal } from './listen-local';

/** The part of an /api/chat request the tests look at. */
export interface OllamaChatRequestBody {
  model: string;
  stream?: boolean;
  messages: Array<{ role: string; content: string }>;
}

export interface OllamaRecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: OllamaChatRequestBody | undefined;
}

/** One scripted answer: its text and the token counts reported for it. */
export interface OllamaAnswer {
  text: string;
  promptEvalCount: number;
  evalCount: number;
}

export interface OllamaStandIn extends Pick<KeyGate, 'refuseKeys'> {
  /** For OLLAMA_HOST. */
  url: string;
  requests: OllamaRecordedRequest[];
  answers: Array<{ model: string; answer: OllamaAnswer }>;
  close(): Promise<void>;
}

export interface OllamaStandInOptions {
  /** Models it has pulled (GET /api/tags); a chat naming another gets a 404. Default `standin:latest`. */
  models?: string[];
  /** GET /api/version's answer (default 0.12.0). */
  version?: string;
}

/** Starts the stand-in; `answer` picks the reply to each chat request. */
export async function startOllamaStandIn(
  answer: (request: OllamaChatRequestBody, index: number) => OllamaAnswer,
  options: OllamaStandInOptions = {},
): Promise<OllamaStandIn> {
  const requests: OllamaRecordedRequest[] = [];
  const answers: OllamaStandIn['answers'] = [];
  const models = options.models ?? ['standin:latest'];
  let count = 0;
  const gate = keyGate();
  const json = (res: ServerResponse, status: number, value: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = parseJson<OllamaChatRequestBody>(Buffer.concat(chunks).toString('utf8'));
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      if (gate.refusing) return refuseKey(res, 'ollama');
      if (req.method === 'POST' && path === '/api/chat' && body) {
        // Ollama accepts a name without its tag as `:latest`.
        if (!models.includes(body.model) && !models.includes(`${body.model}:latest`))
          return json(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
        const reply = answer(body, count++);
        answers.push({ model: body.model, answer: reply });
        return body.stream === false ? json(res, 200, { ...message(body.model, reply.text, false), ...doneFields(reply) }) : streamChat(res, body.model, reply);
      }
      if (req.method === 'GET' && path === '/api/tags') {
        return json(res, 200, { models: models.map((name) => ({ name, model: name, modified_at: '2025-01-01T00:00:00Z', size: 1, digest: 'standin' })) });
      }
      if (req.method === 'GET' && path === '/api/version') return json(res, 200, { version: options.version ?? '0.12.0' });
      if (req.method === 'GET' && path === '/') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running');
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
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

function message(model: string, content: string, done: boolean) {
  return { model, created_at: '2025-01-01T00:00:00Z', message: { role: 'assistant', content }, done };
}

function doneFields(answer: OllamaAnswer) {
  return {
    done_reason: 'stop',
    total_duration: 1000,
    load_duration: 10,
    prompt_eval_count: answer.promptEvalCount,
    prompt_eval_duration: 100,
    eval_count: answer.evalCount,
    eval_duration: 500,
  };
}

function streamChat(res: ServerResponse, model: string, answer: OllamaAnswer): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const half = Math.ceil(answer.text.length / 2);
  for (const piece of [answer.text.slice(0, half), answer.text.slice(half)].filter(Boolean)) res.write(`${JSON.stringify(message(model, piece, false))}\n`);
  res.write(`${JSON.stringify({ ...message(model, '', true), ...doneFields(answer) })}\n`);
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
