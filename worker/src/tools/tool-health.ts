/*
 * Whether a tool's credentials still work, checked without spending tokens: one GET of the
 * vendor's models list with the key the tool would use (Anthropic `GET /v1/models` with x-api-key,
 * Gemini `GET /v1beta/models` with x-goog-api-key, OpenAI and compatible servers `GET /v1/models`
 * with a bearer, Ollama `GET /api/tags`). Presence (detect) says a tool could run here; this says
 * whether a task sent to it now would get past the vendor's door. Runs at start-up and on every
 * tool probe (tool-registry.ts), so a revoked or expired key turns the tool unhealthy within one
 * --tool-probe-interval and allocation stops placing on it; it comes back when the key works again.
 *
 * How an answer reads (healthFromAnswer, pure):
 *   2xx                    healthy, auth ok
 *   401 / 403, Gemini's    unhealthy, auth refused (missing when no key was sent)
 *     400 API_KEY_INVALID
 *   429                    healthy, auth ok: the key got in, the account is only rate limited
 *   5xx                    unhealthy: the API is failing, a task would fail too
 *   other (404 …)          healthy, auth unknown: a proxy or server without a models list
 *   no answer / timeout    unhealthy, auth unknown
 * The detail is our own wording — never the vendor's body (it may quote the key) or the URL's query.
 *
 * The same answer, when 2xx, is the tool's **model list** (modelIdsFromList, pure): the ids the
 * vendor or server offers, so allocation can turn away a task naming a model the tool lacks before
 * it reaches the worker. Bounded: at most toolModelsMaxCount ids of toolModelIdMaxLength printable
 * characters, read from at most modelListMaxBytes; a list longer than that, paged (more pages
 * behind this one) or unreadable is reported as unknown (null) — never cut, since a cut list would
 * turn away models the vendor has.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { toolModelIdMaxLength, toolModelIdPattern, toolModelsMaxCount, type ToolAuth, type ToolHealth } from '@agentyard/contracts/agent';
import { ollamaBaseUrl } from './api-call.script';

export interface ToolHealthReport {
  health: ToolHealth;
  auth: ToolAuth;
  detail?: string;
  /** The ids the models list named (2xx answers only); null when it could not tell. */
  models?: string[] | null;
}

/** Most of a models list's body read (Gemini's entries carry descriptions: ~1 KiB a model). */
export const modelListMaxBytes = 2 * 1024 * 1024;

/** One credentials check: where to ask and with which headers. */
export interface CredentialProbe {
  /** The API, as people know it ("Anthropic API"), for the detail. */
  api: string;
  url: string;
  headers: Record<string, string>;
  /** Whether a key or token goes with it (a refusal without one means the key is missing). */
  keySent: boolean;
  /** Gemini answers a bad key with 400 API_KEY_INVALID rather than 401. */
  invalidKeyIn400?: boolean;
}

/** A check waits this long for the vendor's answer (probes of all tools run in parallel). */
export const healthCheckTimeoutMs = 5_000;

/** Always healthy: nothing to authenticate (shell, noop). */
export const noCredentialsNeeded: ToolHealthReport = { health: 'healthy', auth: 'ok' };

const trimBase = (url: string): string => url.replace(/\/+$/, '');

/** Anthropic's API as claude-api (key only) and claude-code (key or bearer token) reach it. */
export function anthropicProbe(env: NodeJS.ProcessEnv, base = env.ANTHROPIC_BASE_URL): CredentialProbe {
  const key = env.ANTHROPIC_API_KEY;
  const token = env.ANTHROPIC_AUTH_TOKEN;
  return {
    api: 'Anthropic API',
    // limit=1000 (the API's maximum): the answer is also the model list.
    url: `${trimBase(base || 'https://api.anthropic.com')}/v1/models?limit=1000`,
    headers: { 'anthropic-version': '2023-06-01', ...(key ? { 'x-api-key': key } : token ? { authorization: `Bearer ${token}` } : {}) },
    keySent: Boolean(key || token),
  };
}

/** The Gemini API: gemini-api reads GEMINI_BASE_URL, gemini-cli GOOGLE_GEMINI_BASE_URL. */
export function geminiProbe(key: string | undefined, base: string | undefined): CredentialProbe {
  return {
    api: 'Gemini API',
    url: `${trimBase(base || 'https://generativelanguage.googleapis.com')}/v1beta/models?pageSize=1000`,
    // The key in a header, not in `?key=`: a URL may end up in a log.
    headers: key ? { 'x-goog-api-key': key } : {},
    keySent: Boolean(key),
    invalidKeyIn400: true,
  };
}

/** An OpenAI-style API (codex's OPENAI_BASE_URL, an OpenAI-compatible server): the base with or without its /v1. */
export function openAiProbe(api: string, key: string | undefined, base: string): CredentialProbe {
  return {
    api,
    url: `${trimBase(base).replace(/\/v1$/, '')}/v1/models`,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    keySent: Boolean(key),
  };
}

/** Ollama has no keys; its tag list answers when the server runs (a proxy in front may still refuse). */
export function ollamaProbe(host: string | undefined): CredentialProbe {
  return { api: 'Ollama', url: `${ollamaBaseUrl(host)}/api/tags`, headers: {}, keySent: false };
}

/** What an answer to `probe` says about the tool (pure; `body` only matters for Gemini's 400). */
export function healthFromAnswer(probe: Pick<CredentialProbe, 'api' | 'keySent' | 'invalidKeyIn400'>, status: number, body = ''): ToolHealthReport {
  const refused = status === 401 || status === 403 || (status === 400 && probe.invalidKeyIn400 === true && /API_KEY_INVALID|API key not valid/i.test(body));
  if (status >= 200 && status < 300) return { health: 'healthy', auth: 'ok' };
  if (refused) {
    return probe.keySent
      ? { health: 'unhealthy', auth: 'refused', detail: `key refused by the ${probe.api} (${status})` }
      : { health: 'unhealthy', auth: 'missing', detail: `the ${probe.api} wants a key and none is set (${status})` };
  }
  if (status === 429) return { health: 'healthy', auth: 'ok', detail: `the ${probe.api} is rate limiting (429)` };
  if (status >= 500) return { health: 'unhealthy', auth: 'unknown', detail: `the ${probe.api} is failing (${status})` };
  return { health: 'healthy', auth: 'unknown', detail: `key not verified: the models list answered ${status}` };
}

/**
 * The model ids a models list names (pure): OpenAI's and Anthropic's `data[].id`, Gemini's
 * `models[].name` less its `models/` prefix (tasks name `gemini-2.5-flash`), Ollama's
 * `models[].name` (`llama3:latest`). Null when the body is no such list, when more pages follow
 * (Anthropic `has_more`, Gemini `nextPageToken`) or when it names more than toolModelsMaxCount
 * ids; ids that are not printable ASCII or too long are left out (no task could name them).
 */
export function modelIdsFromList(body: string): string[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const list = parsed as { data?: unknown; models?: unknown; has_more?: unknown; nextPageToken?: unknown };
  if (list.has_more === true || (typeof list.nextPageToken === 'string' && list.nextPageToken !== '')) return null;
  const entries = Array.isArray(list.data) ? list.data : Array.isArray(list.models) ? list.models : null;
  if (!entries || entries.length > toolModelsMaxCount) return null;
  const ids = new Set<string>();
  for (const entry of entries) {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as { id?: unknown; name?: unknown };
    const raw = typeof e.id === 'string' ? e.id : typeof e.name === 'string' ? e.name.replace(/^models\//, '') : null;
    if (raw !== null && raw.length > 0 && raw.length <= toolModelIdMaxLength && toolModelIdPattern.test(raw)) ids.add(raw);
  }
  return [...ids];
}

/**
 * The check itself: one bounded GET; any failure to get an answer is unhealthy with the reason.
 * node:http rather than fetch, as api-call.script.ts: fetch refuses some ports outright (6000,
 * 6665…) that a local model server may well use, and the check must reach what the task reaches.
 */
export function checkCredentials(probe: CredentialProbe, timeoutMs = healthCheckTimeoutMs): Promise<ToolHealthReport> {
  return new Promise((resolve) => {
    let settled = false;
    const pending: { req?: ClientRequest } = {};
    const timer = setTimeout(() => {
      done({ health: 'unhealthy', auth: 'unknown', detail: `the ${probe.api} did not answer within ${Math.max(1, Math.round(timeoutMs / 1000))} s` });
      pending.req?.destroy();
    }, timeoutMs);
    const done = (report: ToolHealthReport) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(report);
    };
    let url: URL;
    try {
      url = new URL(probe.url);
    } catch {
      return done({ health: 'unhealthy', auth: 'unknown', detail: `the ${probe.api} address is not a URL` });
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const onAnswer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return readModels(res, probe, status, done);
      // Only Gemini's 400 is read (to tell a bad key from a bad request); other error bodies are dropped unread.
      if (!(status === 400 && probe.invalidKeyIn400)) {
        res.resume();
        return done(healthFromAnswer(probe, status));
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => done(healthFromAnswer(probe, status, body)));
      res.on('error', () => done(healthFromAnswer(probe, status, body)));
    };
    try {
      pending.req = request(url, { method: 'GET', headers: probe.headers }, onAnswer);
    } catch (error) {
      // Node refuses a header it cannot send (a key with a line break in it) before any connection.
      return done({ health: 'unhealthy', auth: 'unknown', detail: `the ${probe.api} request could not be made (${codeOf(error) ?? 'bad request'})` });
    }
    pending.req.on('error', (error) => done({ health: 'unhealthy', auth: 'unknown', detail: unreachable(probe.api, error) }));
    pending.req.end();
  });
}

/** A 2xx answer: healthy, and its body (up to modelListMaxBytes, else unknown) read as the model list. */
function readModels(res: IncomingMessage, probe: CredentialProbe, status: number, done: (report: ToolHealthReport) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  res.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > modelListMaxBytes) {
      tooLarge = true;
      chunks.length = 0;
      res.destroy();
      done({ ...healthFromAnswer(probe, status), models: null });
      return;
    }
    chunks.push(chunk);
  });
  res.on('end', () => done({ ...healthFromAnswer(probe, status), models: modelIdsFromList(Buffer.concat(chunks).toString('utf8')) }));
  // The key got in; only the list is lost.
  res.on('error', () => done({ ...healthFromAnswer(probe, status), models: null }));
  res.on('aborted', () => done({ ...healthFromAnswer(probe, status), models: null }));
}

/** "the Anthropic API is unreachable (ECONNREFUSED)": the error's code, not its message (which names hosts and may be long). */
function unreachable(api: string, error: unknown): string {
  return `the ${api} is unreachable (${codeOf(error) ?? 'no connection'})`;
}

/** A Node error's code (ECONNREFUSED, ERR_INVALID_CHAR), when it has a plain one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}
