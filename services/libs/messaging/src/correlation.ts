/*
 * Correlation metadata for the events a message leads to: a request continues its caller's
 * trace; an event-driven command is caused by the event (causationId = its id) and keeps its
 * correlation id, so one task's whole chain — create, decision, assignment, report — can be
 * followed across services.
 */
import { newId, type CorrelationMetadata } from '@agentyard/contracts';
import { currentTrace } from './trace-context';

/** For a command a user sent (request/reply). */
export function requestMetadata(userId: string): CorrelationMetadata {
  const trace = currentTrace();
  const correlationId = trace?.traceId ?? newId();
  const metadata: CorrelationMetadata = { correlationId, causationId: correlationId, userId };
  if (trace) metadata.traceparent = trace.traceparent;
  return metadata;
}

/** For a command another service's event (or a worker's report, `causationId` given) led to. */
export function causedBy(cause: { id: string; metadata?: Partial<CorrelationMetadata> }): CorrelationMetadata {
  const trace = currentTrace();
  const metadata: CorrelationMetadata = { correlationId: cause.metadata?.correlationId ?? cause.id, causationId: cause.id };
  if (cause.metadata?.userId) metadata.userId = cause.metadata.userId;
  if (trace) metadata.traceparent = trace.traceparent;
  return metadata;
}
