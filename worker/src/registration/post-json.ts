/*
 * One JSON POST over node:http(s). The agent used `fetch` here, but loading undici (its HTTP
 * parser is WebAssembly) kept about 10 MB resident for the agent's whole life for this one call
 * at registration; node:http costs a fraction of that, and TLS is loaded only for https URLs.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface HttpReply {
  status: number;
  text: string;
}

/** A reply larger than this is not a registration reply; reading stops there. */
const maxReplyBytes = 1024 * 1024;

export async function postJson(url: string, payload: string, signal: AbortSignal): Promise<HttpReply> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise<HttpReply>((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(payload) },
        signal,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxReplyBytes) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
