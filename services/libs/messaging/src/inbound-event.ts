/*
 * The one policy for events arriving from another service: the envelope is checked against the
 * contracts with its metadata read loosely (a producer adding a metadata field must not make us
 * drop its events), the payload is upcast to the newest version and checked strictly by the
 * event's registry. A message that can never be valid is reported, not thrown: redelivering it
 * would fail the same way forever, so consumers log it and ack.
 */
import { z } from 'zod';
import { envelopeSchema, type Envelope, type EventRegistry, type EventUnion } from '@agentyard/contracts';

const inboundEnvelopeSchema = envelopeSchema.extend({
  metadata: z.looseObject({
    correlationId: z.string().optional(),
    causationId: z.string().optional(),
    userId: z.string().optional(),
    traceparent: z.string().optional(),
  }),
});

/** An inbound event parsed into its registry's typed union (`E`), or why it cannot be one. */
export type InboundEvent<E extends Envelope = Envelope> = { ok: true; event: E } | { ok: false; problem: string; details?: unknown };

/** Checks and upcasts an inbound event; `type`: the only type expected, if one. */
export function parseInboundEvent<M extends object>(registry: EventRegistry<M>, data: unknown, type?: string): InboundEvent<EventUnion<M>> {
  const parsed = inboundEnvelopeSchema.safeParse(data);
  if (!parsed.success) return { ok: false, problem: 'malformed event envelope dropped', details: parsed.error.issues };
  if (type !== undefined && parsed.data.type !== type) return { ok: false, problem: `expected ${type}; event dropped`, details: { type: parsed.data.type } };
  if (!registry.has(parsed.data.type)) return { ok: false, problem: 'unknown event type dropped', details: { type: parsed.data.type } };
  try {
    return { ok: true, event: registry.parse(parsed.data as Envelope) };
  } catch (error) {
    return { ok: false, problem: 'event payload does not match its schema; dropped', details: { type: parsed.data.type, error: (error as Error).message } };
  }
}
