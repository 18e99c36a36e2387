/*
 * The part of every stand-in that plays a vendor turning a key down: a test calls
 * `refuseKeys(true)` (a revoked or expired key) and every request from then on gets the answer the
 * real API gives a bad key, models lists included, until `refuseKeys(false)`. The worker's health
 * check (worker/src/tools/tool-health.ts) and the task's own call both see it, as they would in
 * production.
 */
import type { ServerResponse } from 'node:http';

/** How each vendor says "bad key". */
export type KeyRefusal = 'anthropic' | 'gemini' | 'openai' | 'ollama';

export interface KeyGate {
  /** True while the stand-in refuses every key. */
  readonly refusing: boolean;
  /** Start (true) or stop (false) refusing every key. */
  refuseKeys(refuse: boolean): void;
}

export function keyGate(): KeyGate {
  let refusing = false;
  return {
    get refusing() {
      return refusing;
    },
    refuseKeys(refuse: boolean) {
      refusing = refuse;
    },
  };
}

/** Answers with the vendor's bad-key error (Gemini's is a 400 carrying API_KEY_INVALID, as the real API sends). */
export function refuseKey(res: ServerResponse, vendor: KeyRefusal): void {
  const [status, body] = refusals[vendor];
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const refusals: Record<KeyRefusal, [number, unknown]> = {
  anthropic: [401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }],
  gemini: [
    400,
    {
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
      },
    },
  ],
  openai: [401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }],
  // Ollama has no keys of its own; this is the reverse proxy in front of a shared one refusing.
  ollama: [401, { error: 'unauthorized' }],
};
