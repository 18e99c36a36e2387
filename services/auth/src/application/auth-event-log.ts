/*
 * Auth is not event-sourced (its state is rows), but its facts still reach the rest of the
 * platform as events. They are appended to auth's event store *in the same transaction* as the
 * rows they describe — that table is the outbox — and the relay forwards them to JetStream.
 */
import type { Transaction } from 'kysely';
import { newId, type CorrelationMetadata, type NewEvent } from '@agentyard/contracts';
import type { AuthDatabase } from '../infrastructure/auth.database';

export const AUTH_EVENT_LOG = Symbol('AUTH_EVENT_LOG');

export interface AuthEventLog {
  append(trx: Transaction<AuthDatabase>, streamId: string, events: NewEvent[]): Promise<void>;
}

export interface RequestContext {
  correlationId: string;
  traceparent?: string;
}

/** Builds an auth event envelope (before the store assigns positions). */
export function authEvent(type: string, data: Record<string, unknown>, ctx: RequestContext, userId: string, now = new Date()): NewEvent {
  const id = newId();
  const metadata: CorrelationMetadata = { correlationId: ctx.correlationId, causationId: ctx.correlationId, userId };
  if (ctx.traceparent) metadata.traceparent = ctx.traceparent;
  return { id, type, version: 1, occurredAt: now.toISOString(), data, metadata };
}

export const userStream = (userId: string): string => `user-${userId}`;
