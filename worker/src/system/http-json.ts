/*
 * The agent's few HTTP calls (registration, NATS credentials, a task's secrets, its logs and
 * artifacts, doctor's readiness check) over node:http(s). Not
 * `fetch`: loading undici kept about 10 MB resident for the agent's whole life, and its HTTP
 * parser is WebAssembly, which the agent's `--lite-mode` turns off. TLS is loaded only for
 * https URLs.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface HttpReply {
  status: number;
  text: string;
}

/**
 * A reply larger than this is not one the agent expects; reading stops there. The largest it
 * expects is a task's secret values: up to 20 × 32 KiB, which JSON escaping can inflate.
 */
const maxReplyBytes = 4 * 1024 * 1024;

/** Bytes sent as they are (an artifact upload), with their content type. */
export interface RawBody {
  bytes: Buffer;
  contentType: string;
}

/** One request; `payload`, when given, is sent as JSON (a string) or as raw bytes. Rejects on network errors and on `signal`. */
export async function requestJson(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  payload: string | RawBody | undefined,
  signal: AbortSignal,
  extraHeaders: Record<string, string> = {},
): Promise<HttpReply> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  const headers: Record<string, string | number> = { accept: 'application/json', ...extraHeaders };
  const body = typeof payload === 'object' ? payload.bytes : payload;
  if (payload !== undefined) {
    headers['content-type'] = typeof payload === 'object' ? payload.contentType : 'application/json';
    headers['content-length'] = typeof payload === 'object' ? payload.bytes.length : Buffer.byteLength(payload);
  }
  return new Promise<HttpReply>((resolve, reject) => {
    const req = request(target, { method, headers, signal }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxReplyBytes) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
