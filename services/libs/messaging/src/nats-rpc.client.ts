/*
 * Request/reply for the gateway, the CLI and any service calling another: JSON in, JSON out,
 * and every failure arrives as a DomainError so callers handle one error type. An error reply
 * (ERROR_HEADER) is rebuilt with its code, message and details; a timeout, no responders or a
 * closed connection become UNAVAILABLE naming the subject, so the edge can answer 503 instead of
 * leaking a transport error. A request made while NATS is reconnecting waits for it (within its
 * timeout) and is sent then: nats.js would drop it, and the caller would get 503 after the timeout.
 * Right after a reconnect (RESUBSCRIBE_GRACE_MS), "no responders" is asked again every
 * RETRY_NO_RESPONDERS_MS within the timeout: after a nats-server restart every client reconnects
 * on its own schedule, and a service may not have subscribed again yet when we ask. Otherwise it
 * is answered at once, so a service that is down is still a quick 503.
 */
import { DomainError, type RpcEntry, type RpcRequestOf, type RpcResponseOf } from '@agentyard/contracts';
import { errors, headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { ERROR_HEADER, fromErrorReply } from './error-reply';
import { ConnectionState } from './nats-connection';
import { injectTrace } from './trace-context';

/** Options of one request. */
export interface RequestOptions<T> {
  /** How long to wait for the reply. Default: the client's `defaultTimeoutMs` (5 000 ms). */
  timeoutMs?: number;
  /** Parent trace; default: the current handler's trace, else a new trace. */
  traceparent?: string;
  /** Extra headers to send. */
  headers?: Record<string, string>;
  /** Validates the reply; a reply that fails it throws INTERNAL. */
  schema?: z.ZodType<T>;
}

/** Options of a NatsRpcClient. */
export interface NatsRpcClientOptions {
  /** Reply timeout when a request does not set one. Default 5 000 ms. */
  defaultTimeoutMs?: number;
}

/** Sends JSON requests over core NATS and turns every failure into a DomainError. */
export class NatsRpcClient {
  private readonly defaultTimeoutMs: number;
  private readonly connection: ConnectionState;

  constructor(
    private readonly nc: NatsConnection,
    options: NatsRpcClientOptions = {},
  ) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5_000;
    this.connection = ConnectionState.of(nc);
  }

  /** Sends `data` as JSON to `subject`; resolves with the parsed reply or throws a DomainError. */
  /** Calls a catalog entry: the body is typed by its request schema, the reply parsed by its response schema. */
  call<E extends RpcEntry>(entry: E, body: RpcRequestOf<E>, options: Omit<RequestOptions<RpcResponseOf<E>>, 'schema'> = {}): Promise<RpcResponseOf<E>> {
    return this.request(entry.subject, body, { ...options, schema: entry.response as z.ZodType<RpcResponseOf<E>> });
  }

  async request<T = unknown>(subject: string, data: unknown, options: RequestOptions<T> = {}): Promise<T> {
    const timeout = options.timeoutMs ?? this.defaultTimeoutMs;
    const hdrs: MsgHdrs = natsHeaders();
    for (const [k, v] of Object.entries(options.headers ?? {})) hdrs.set(k, v);
    injectTrace(hdrs, options.traceparent);
    const payload = data === undefined ? '' : JSON.stringify(data);
    // nats.js drops a request made while disconnected: wait for the connection (within the timeout) instead.
    const started = performance.now();
    if (!this.connection.connected && !(await this.connection.whenConnected(timeout))) {
      throw new DomainError('UNAVAILABLE', `no connection to NATS for ${timeout} ms: ${subject} was not asked`);
    }
    let reply;
    for (;;) {
      try {
        reply = await this.nc.request(subject, payload, { timeout: Math.max(1, Math.round(timeout - (performance.now() - started))), headers: hdrs });
        break;
      } catch (error) {
        const failure = unavailable(error, subject, timeout);
        const retry =
          isNoResponders(error) && this.connection.sinceReconnectMs < RESUBSCRIBE_GRACE_MS && performance.now() - started + RETRY_NO_RESPONDERS_MS < timeout;
        if (!retry) throw failure;
        await new Promise((resolve) => setTimeout(resolve, RETRY_NO_RESPONDERS_MS));
      }
    }
    const body = reply.string();
    if (reply.headers?.get(ERROR_HEADER)) throw fromErrorReply(body, subject);
    let value: unknown;
    try {
      value = body === '' ? undefined : JSON.parse(body);
    } catch {
      throw new DomainError('INTERNAL', `reply from ${subject} is not JSON`);
    }
    if (!options.schema) return value as T;
    const parsed = options.schema.safeParse(value);
    if (!parsed.success) throw new DomainError('INTERNAL', `reply from ${subject} does not match its schema`, parsed.error.issues);
    return parsed.data;
  }
}

/** How long after a reconnect "no responders" may mean a service that has not subscribed again yet. */
const RESUBSCRIBE_GRACE_MS = 10_000;
/** Pause before asking again then. */
const RETRY_NO_RESPONDERS_MS = 50;

function isNoResponders(error: unknown): boolean {
  return (
    error instanceof errors.NoRespondersError ||
    (error instanceof errors.RequestError && error.isNoResponders()) ||
    (error instanceof Error && error.cause instanceof errors.NoRespondersError)
  );
}

/** Maps a transport failure of a request to UNAVAILABLE; anything else is rethrown as is. */
function unavailable(error: unknown, subject: string, timeoutMs: number): unknown {
  if (error instanceof errors.TimeoutError) {
    return new DomainError('UNAVAILABLE', `no reply on ${subject} within ${timeoutMs} ms`);
  }
  if (isNoResponders(error)) {
    return new DomainError('UNAVAILABLE', `no service answers on ${subject}`);
  }
  if (error instanceof errors.ClosedConnectionError || error instanceof errors.DrainingConnectionError) {
    return new DomainError('UNAVAILABLE', `cannot send to ${subject}: the NATS connection is closed`);
  }
  return error;
}
