import { newId, type CorrelationMetadata } from '@agentyard/contracts';
import type { AgentPackageReader } from '../infrastructure/agent-package.reader';

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
  /** The worker agent package the gateway serves (DOWNLOADS_DIR): the install command's file and checksum. */
  agentPackage: AgentPackageReader;
  /** NATS URL handed to agents. */
  natsPublicUrl: string;
  heartbeatIntervalMs: number;
  offlineAfterMs: number;
  sweepIntervalMs: number;
}

export const WORKERS_SETTINGS = Symbol('WORKERS_SETTINGS');
