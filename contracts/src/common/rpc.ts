/*
 * A request/reply subject with its two schemas: what the caller sends and what the handler
 * answers. The gateway's NatsRpcClient.call types the request by `request` and parses the reply
 * with `response`; the service's @MessagePattern handler listens on `subject` and parses the
 * request with `request` — one entry, so the two ends cannot drift apart.
 */
import type { z } from 'zod';

export interface RpcEntry<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  subject: string;
  request: Req;
  response: Res;
}

/** Declares one request/reply subject of the catalog. */
export function defineRpc<Req extends z.ZodType, Res extends z.ZodType>(subject: string, request: Req, response: Res): RpcEntry<Req, Res> {
  return { subject, request, response };
}

/** What a caller sends to an entry's subject (before the handler's defaults). */
export type RpcRequestOf<E extends RpcEntry> = z.input<E['request']>;
/** What the handler answers, as its schema parses it. */
export type RpcResponseOf<E extends RpcEntry> = z.output<E['response']>;
