/*
 * W3C trace context (https://www.w3.org/TR/trace-context/) carried in the `traceparent` NATS
 * header, without an OpenTelemetry SDK. The invariant: one trace id travels unchanged from the
 * first caller through every request, handler and publish it causes; each hop gets a fresh span
 * id. The server runs each handler inside `runWithTrace`, so `NatsRpcClient.request` and
 * `publishEvent` called from a handler continue the handler's trace without being handed it.
 * Tested in trace-context.unit.spec.ts and (client → handler → publish) in messaging.int.spec.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';
import type { MsgHdrs } from '@nats-io/transport-node';

/** The NATS header that carries the W3C trace context. */
export const TRACEPARENT_HEADER = 'traceparent';

/** A parsed `traceparent`: `00-<traceId>-<spanId>-<flags>`. */
export interface TraceContext {
  readonly traceparent: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const storage = new AsyncLocalStorage<TraceContext>();

/** Parses a traceparent; undefined for anything malformed or all-zero (the spec's "invalid"). */
export function parseTraceparent(value: string | undefined | null): TraceContext | undefined {
  const m = value ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceparent: `00-${traceId}-${spanId}-${flags}`, traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** A new span: a child of `parent` (same trace id) or, without a parent, the root of a new trace. */
export function newSpan(parent?: TraceContext): TraceContext {
  const traceId = parent?.traceId ?? nonZeroHex(16);
  const spanId = nonZeroHex(8);
  const flags = parent ? (parent.sampled ? '01' : '00') : '01';
  return { traceparent: `00-${traceId}-${spanId}-${flags}`, traceId, spanId, sampled: flags === '01' };
}

/** The trace context of the handler (or `runWithTrace` block) running now, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `trace` as the current trace context (visible to `currentTrace()`). */
export function runWithTrace<T>(trace: TraceContext, fn: () => T): T {
  return storage.run(trace, fn);
}

/**
 * Picks the parent for an outgoing message: an explicit traceparent, else the current context,
 * else `fallback` (e.g. an event's stored metadata.traceparent); returns a fresh child span of it,
 * or the root of a new trace when there is none.
 */
export function outgoingSpan(explicit?: string, fallback?: string): TraceContext {
  const parent = parseTraceparent(explicit) ?? currentTrace() ?? parseTraceparent(fallback);
  return newSpan(parent);
}

/** Sets `traceparent` on `hdrs` (see `outgoingSpan` for which parent wins) and returns the span. */
export function injectTrace(hdrs: MsgHdrs, explicit?: string, fallback?: string): TraceContext {
  const span = outgoingSpan(explicit, fallback);
  hdrs.set(TRACEPARENT_HEADER, span.traceparent);
  return span;
}

/**
 * The context a handler runs in for an incoming message: a child span of the message's
 * traceparent header (else of `fallback`), or a new trace when neither is valid.
 */
export function extractTrace(hdrs: MsgHdrs | undefined, fallback?: string): TraceContext {
  const parent = parseTraceparent(hdrs?.get(TRACEPARENT_HEADER)) ?? parseTraceparent(fallback);
  return newSpan(parent);
}

/** Random bytes drawn 4 KiB at a time: a span per message made `randomBytes` a visible cost. */
const pool = Buffer.alloc(4096);
let pooled = pool.length;

function nonZeroHex(bytes: number): string {
  for (;;) {
    if (pooled + bytes > pool.length) {
      randomFillSync(pool);
      pooled = 0;
    }
    const hex = pool.toString('hex', pooled, pooled + bytes);
    pooled += bytes;
    if (!/^0+$/.test(hex)) return hex;
  }
}
