import { newId } from '@agentyard/contracts';
import { currentTrace } from '@agentyard/messaging';
import type { RequestContext } from '../application/auth-event-log';

/** The correlation of the NATS request being handled (its trace), or a new one. */
export function requestContext(): RequestContext {
  const trace = currentTrace();
  return trace ? { correlationId: trace.traceId, traceparent: trace.traceparent } : { correlationId: newId() };
}
