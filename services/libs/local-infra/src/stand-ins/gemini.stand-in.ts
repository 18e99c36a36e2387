/*
 * A stand-in for the Gemini API (generativelanguage.googleapis.com) that the real gemini-cli talks
 * to when GOOGLE_GEMINI_BASE_URL points here: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`
 * for the agent's turns (answered from a script, in order, as server-sent events), and
 * `:generateContent` for the CLI's side calls (its model router, when no model is pinned).
 * `:countTokens` is answered too, in case a version asks, and `GET /v1beta/models` (the workers'
 * health check). `refuseKeys(true)` answers everything as the real API answers a bad key: 400
 * API_KEY_INVALID (key-gate.ts).
 *
 * Every request is recorded with its parsed body, and every usageMetadata served is kept, so a
 * test can compare what the CLI reported with what it was actually charged, side calls included.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { keyGate, refuseKey, type KeyGate } from './key-gate';
import { listenLocal } from './listen-local';

/** The token counts of one response, as the Gemini API names them. */
export interface GeminiUsage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  /** A thinking model's thought tokens: billed as output, reported apart from candidatesTokenCount. */
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
}

/** One part of a model answer: text, or a call of one of the tools the request declared. */
export type GeminiPart = { text: string } | { functionCall: { name: string; args: Record<string, unknown> } };

/** One scripted model answer. */
export interface GeminiReply {
  parts: GeminiPart[];
  usage: GeminiUsage;
}

export interface GeminiRecordedRequest {
  method: string;
  /** Path and query, e.g. `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`. */
  url: string;
  /** The model named in the path, and what was asked of it. */
  model: string | undefined;
  action: 'streamGenerateContent' | 'generateContent' | 'countTokens' | 'other';
  headers: IncomingMessage['headers'];
  body: GeminiRequestBody | undefined;
}

/** The parts of a generateContent request the tests look at. */
export interface GeminiRequestBody {
  contents?: { role?: string; parts?: Record<string, unknown>[] }[];
  tools?: { functionDeclarations?: { name: string; parametersJsonSchema?: { properties?: Record<string, unknown> } }[] }[];
  generationConfig?: { responseJsonSchema?: { properties?: Record<string, unknown> } };
}

export interface GeminiStandInScript {
  /** Answers to the streaming turns, in order; a turn past the end gets a fixed text answer with zero usage. */
  turns: (GeminiReply | ((request: GeminiRecordedRequest) => GeminiReply))[];
  /** Usage of each side call (`:generateContent`, e.g. the model router). Default 50 in, 5 out. */
  sideCallUsage?: GeminiUsage;
  /** The model ids `GET /v1beta/models` lists, without the `models/` prefix. Default `gemini-2.5-flash`. */
  models?: string[];
}

export interface GeminiStandIn extends Pick<KeyGate, 'refuseKeys'> {
  /** For GOOGLE_GEMINI_BASE_URL. */
  url: string;
  requests: GeminiRecordedRequest[];
  /** Every usageMetadata this server sent, with the model it answered as. */
  served: { model: string; usage: GeminiUsage }[];
  close(): Promise<void>;
}

export async function startGeminiStandIn(script: GeminiStandInScript): Promise<GeminiStandIn> {
  const requests: GeminiRecordedRequest[] = [];
  const served: GeminiStandIn['served'] = [];
  let turn = 0;
  const gate = keyGate();

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const match = /^\/v1(?:beta)?\/models\/([^/:?]+):(\w+)/.exec(req.url ?? '');
    const action = (['streamGenerateContent', 'generateContent', 'countTokens'] as const).find((a) => a === match?.[2]) ?? 'other';
    const request: GeminiRecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      model: match?.[1],
      action,
      headers: req.headers,
      body: parseBody(raw),
    };
    requests.push(request);
    const model = request.model ?? 'unknown';
    if (gate.refusing) return refuseKey(res, 'gemini');
    if (req.method === 'GET' && /^\/v1(?:beta)?\/models(?:\?|$)/.test(req.url ?? '')) {
      // The models list: what the workers' health check asks (free: no tokens).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          models: (script.models ?? ['gemini-2.5-flash']).map((id) => ({
            name: `models/${id}`,
            displayName: `${id} (stand-in)`,
            supportedGenerationMethods: ['generateContent'],
          })),
        }),
      );
      return;
    }

    if (action === 'streamGenerateContent') {
      const step = script.turns[turn++];
      const reply = typeof step === 'function' ? step(request) : (step ?? { parts: [{ text: '(the stand-in has no more turns)' }], usage: zeroUsage });
      served.push({ model, usage: reply.usage });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // One event per part, usage on the last one, as the real API streams an answer.
      reply.parts.forEach((part, i) => {
        const last = i === reply.parts.length - 1;
        const chunk = {
          candidates: [{ content: { role: 'model', parts: [part] }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
          ...(last ? { usageMetadata: usageMetadata(reply.usage) } : {}),
          modelVersion: model,
        };
        res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
      });
      res.end();
      return;
    }
    if (action === 'generateContent') {
      const usage = script.sideCallUsage ?? { promptTokenCount: 50, candidatesTokenCount: 5 };
      served.push({ model, usage });
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = JSON.stringify(sideCallAnswer(request.body));
      res.end(
        JSON.stringify({
          candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
          usageMetadata: usageMetadata(usage),
          modelVersion: model,
        }),
      );
      return;
    }
    if (action === 'countTokens') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ totalTokens: 10 }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 404, message: `the stand-in does not speak ${req.method} ${req.url}`, status: 'NOT_FOUND' } }));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  const { url, close } = await listenLocal(server);
  return {
    url,
    requests,
    served,
    refuseKeys: gate.refuseKeys,
    close,
  };
}

/** A `write_file` call with the argument names the request declared (falls back to 0.61's names when it declared none). */
export function writeFileCall(request: GeminiRecordedRequest, path: string, content: string): GeminiPart {
  const declared = declaredTool(request, 'write_file')?.parametersJsonSchema?.properties ?? {};
  const pathArg = Object.keys(declared).find((k) => /path/i.test(k)) ?? 'file_path';
  const contentArg = Object.keys(declared).find((k) => /content/i.test(k)) ?? 'content';
  return { functionCall: { name: 'write_file', args: { [pathArg]: path, [contentArg]: content } } };
}

/** The declaration of tool `name` in a request, if the CLI offered it. */
export function declaredTool(request: GeminiRecordedRequest, name: string) {
  return request.body?.tools?.flatMap((t) => t.functionDeclarations ?? []).find((d) => d.name === name);
}

/** All text parts of a request's contents (the prompt arrives as one of them). */
export function requestTexts(request: GeminiRecordedRequest): string[] {
  return (request.body?.contents ?? []).flatMap((c) => (c.parts ?? []).map((p) => p.text)).filter((t): t is string => typeof t === 'string');
}

/** The functionResponse parts a request carries back (the CLI's tool results). */
export function functionResponses(request: GeminiRecordedRequest): { name?: string; response?: Record<string, unknown> }[] {
  return (request.body?.contents ?? []).flatMap((c) => (c.parts ?? []).map((p) => p.functionResponse)).filter(Boolean) as {
    name?: string;
    response?: Record<string, unknown>;
  }[];
}

const zeroUsage: GeminiUsage = { promptTokenCount: 0, candidatesTokenCount: 0 };

function usageMetadata(usage: GeminiUsage) {
  return {
    promptTokenCount: usage.promptTokenCount,
    candidatesTokenCount: usage.candidatesTokenCount,
    totalTokenCount: usage.promptTokenCount + usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0),
    ...(usage.thoughtsTokenCount !== undefined ? { thoughtsTokenCount: usage.thoughtsTokenCount } : {}),
    ...(usage.cachedContentTokenCount !== undefined ? { cachedContentTokenCount: usage.cachedContentTokenCount } : {}),
  };
}

/**
 * A side call asks for JSON matching its responseJsonSchema. 0.61's router wants
 * `{complexity_reasoning, complexity_score}`; a low score routes to the smaller model. Other
 * schemas get a value per declared property, so a new side call still parses.
 */
function sideCallAnswer(body: GeminiRequestBody | undefined): Record<string, unknown> {
  const properties = body?.generationConfig?.responseJsonSchema?.properties ?? {};
  const answer: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const type = String((schema as { type?: string }).type ?? '').toLowerCase();
    answer[name] = type === 'integer' || type === 'number' ? 10 : type === 'boolean' ? false : 'simple';
  }
  return answer;
}

function parseBody(raw: string): GeminiRequestBody | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as GeminiRequestBody;
  } catch {
    return undefined;
  }
}
