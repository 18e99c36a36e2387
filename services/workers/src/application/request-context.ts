import { newId, type CorrelationMetadata } from '@agentyard/contracts';

/** Where a command came from: the caller's trace, for the events' correlation metadata. */
export interface RequestContext {
  correlationId: string;
  traceparent?: string;
}

/** A context for work the service starts itself (the liveness sweeper). */
export function internalContext(): RequestContext {
  return { correlationId: newId() };
}

export function metadataFor(ctx: RequestContext, userId?: string): CorrelationMetadata {
  const metadata: CorrelationMetadata = { correlationId: ctx.correlationId, causationId: ctx.correlationId };
  if (userId) metadata.userId = userId;
  if (ctx.traceparent) metadata.traceparent = ctx.traceparent;
  return metadata;
}

/** Settings the handlers need from the environment. */
export interface WorkersSettings {
  /** Gateway URL shown in the install command. */
  publicUrl: string;
  /** NATS URL handed to agents. */
  natsPublicUrl: string;
  heartbeatIntervalMs: number;
  offlineAfterMs: number;
  sweepIntervalMs: number;
}

export const WORKERS_SETTINGS = Symbol('WORKERS_SETTINGS');
