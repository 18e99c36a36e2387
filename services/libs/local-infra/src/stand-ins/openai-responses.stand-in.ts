/*
 * A stand-in for the OpenAI Responses API, as codex 0.171 speaks it: `POST /v1/responses` with
 * `stream: true`, answered with server-sent events (response.created, response.output_item.added
 * / done, response.output_text.delta, response.completed with usage). Each request gets the next
 * scripted step; every request is recorded, so a test can assert what the CLI sent (the prompt,
 * the tool output it returned) and sum the usage it was told.
 *
 * Codex 0.171 declares its tools in an `additional_tools` input item: a custom tool `exec` (in
 * the `functions` namespace) runs JavaScript that calls nested tools such as
 * `tools.apply_patch(patch)`. A `patch` step answers with that call, which is how the real model
 * makes codex edit files.
 *
 * `GET /v1/models` answers the workers' health check; `refuseKeys(true)` answers everything with
 * OpenAI's 401 invalid_api_key (key-gate.ts).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { keyGate, refuseKey, type KeyGate } from './key-gate';
import { listenLocal } from './listen-local';

export interface StandInUsage {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

export type StandInStep =
  /** Answer with a call of codex's `exec` tool that applies this patch (apply_patch syntax). */
  | { kind: 'patch'; patch: string; usage: StandInUsage }
  /** Answer with a final assistant message. */
  | { kind: 'text'; text: string; usage: StandInUsage };

export interface ResponsesRecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
  /** The usage this request was answered with (none for requests outside the script). */
  answeredWith?: StandInUsage;
}

export interface ResponsesStandIn extends Pick<KeyGate, 'refuseKeys'> {
  /** Base URL without `/v1` (as OPENAI_BASE_URL is usually given). */
  url: string;
  requests: ResponsesRecordedRequest[];
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 (a free port); steps are answered in order, the last one repeated. */
export async function startResponsesStandIn(steps: StandInStep[]): Promise<ResponsesStandIn> {
  const requests: ResponsesRecordedRequest[] = [];
  let answered = 0;
  const gate = keyGate();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      const recorded: ResponsesRecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      if (gate.refusing) return refuseKey(res, 'openai');
      if (req.method === 'GET' && req.url?.split('?')[0] === '/v1/models') {
        // What the workers' health check asks (free: no tokens).
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-5-codex', object: 'model', created: 0, owned_by: 'standin' }] }));
        return;
      }
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/responses') || steps.length === 0) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `the stand-in does not serve ${req.method} ${req.url}` } }));
        return;
      }
      const index = answered++;
      const step = steps[Math.min(index, steps.length - 1)]!;
      recorded.answeredWith = step.usage;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const event of sseEvents(step, index)) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      res.end();
    });
  });
  const { url, close } = await listenLocal(server);
  return {
    url,
    requests,
    refuseKeys: gate.refuseKeys,
    close,
  };
}

/** The JavaScript codex's `exec` tool runs to apply `patch`. */
export function applyPatchScript(patch: string): string {
  return `const result = await tools.apply_patch(${JSON.stringify(patch)});\ntext(result);`;
}

function sseEvents(step: StandInStep, index: number): Array<Record<string, unknown>> {
  const id = `resp_${index}`;
  const usage = {
    input_tokens: step.usage.inputTokens,
    input_tokens_details: { cached_tokens: step.usage.cachedTokens },
    output_tokens: step.usage.outputTokens,
    output_tokens_details: { reasoning_tokens: step.usage.reasoningTokens },
    total_tokens: step.usage.inputTokens + step.usage.outputTokens,
  };
  const events: Array<Record<string, unknown>> = [{ type: 'response.created', response: { id, object: 'response', status: 'in_progress', output: [] } }];
  let item: Record<string, unknown>;
  if (step.kind === 'patch') {
    item = { type: 'custom_tool_call', id: `ctc_${index}`, status: 'completed', call_id: `call_${index}`, name: 'exec', input: applyPatchScript(step.patch) };
    events.push({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', input: '' } });
  } else {
    const content = [{ type: 'output_text', text: step.text, annotations: [] }];
    item = { type: 'message', id: `msg_${index}`, role: 'assistant', status: 'completed', content };
    events.push({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    events.push({ type: 'response.output_text.delta', output_index: 0, item_id: item.id, content_index: 0, delta: step.text });
  }
  events.push({ type: 'response.output_item.done', output_index: 0, item });
  events.push({ type: 'response.completed', response: { id, object: 'response', status: 'completed', output: [item], usage } });
  return events;
}

/** The text of every user message in a recorded request (codex puts its environment context first). */
export function responsesUserTexts(request: ResponsesRecordedRequest): string[] {
  const input = Array.isArray(request.body?.input) ? (request.body.input as Array<Record<string, unknown>>) : [];
  return input
    .filter((item) => item.type === 'message' && item.role === 'user' && Array.isArray(item.content))
    .flatMap((item) => (item.content as Array<Record<string, unknown>>).map((part) => (typeof part.text === 'string' ? part.text : '')));
}

/** The outputs codex sent back for the stand-in's tool calls (custom_tool_call_output items), as text. */
export function toolOutputs(request: ResponsesRecordedRequest): string[] {
  const input = Array.isArray(request.body?.input) ? (request.body.input as Array<Record<string, unknown>>) : [];
  return input
    .filter((item) => item.type === 'custom_tool_call_output' || item.type === 'function_call_output')
    .map((item) => (typeof item.output === 'string' ? item.output : JSON.stringify(item.output)));
}

/** Names of the tools a request declares, nested namespaces included (e.g. `functions.exec`). */
export function declaredTools(request: ResponsesRecordedRequest): string[] {
  const names: string[] = [];
  const walk = (tools: unknown, prefix: string): void => {
    if (!Array.isArray(tools)) return;
    for (const tool of tools as Array<Record<string, unknown>>) {
      const name = typeof tool.name === 'string' ? tool.name : '';
      if (tool.type === 'namespace') walk(tool.tools, `${prefix}${name}.`);
      else if (name) names.push(`${prefix}${name}`);
    }
  };
  walk(request.body?.tools, '');
  const input = Array.isArray(request.body?.input) ? (request.body.input as Array<Record<string, unknown>>) : [];
  for (const item of input) if (item.type === 'additional_tools') walk(item.tools, '');
  return names;
}
