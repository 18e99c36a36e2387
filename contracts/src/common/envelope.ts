/*
 * The message envelope every event carries, on the event store and on JetStream alike.
 * `streamVersion` is the event's 1-based position in its stream; `globalPosition` is set by the
 * store on read (absent before append).
 */
import { z } from 'zod';

export const correlationMetadataSchema = z
  .object({
    correlationId: z.string().min(1),
    causationId: z.string().min(1),
    userId: z.string().min(1).optional(),
    /** W3C trace context: `00-<trace-id>-<span-id>-<flags>`. */
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional(),
  })
  .strict();
export type CorrelationMetadata = z.infer<typeof correlationMetadataSchema>;

export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().regex(/^[A-Z][A-Za-z0-9]+$/, 'event types are PascalCase past tense, e.g. TaskQueued'),
  version: z.number().int().min(1),
  streamId: z.string().min(1).max(200),
  streamVersion: z.number().int().min(1),
  globalPosition: z.string().regex(/^\d+$/).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
  metadata: correlationMetadataSchema,
});

/** An event as stored and transported. `D` is the payload type. */
export interface Envelope<D = Record<string, unknown>, T extends string = string> {
  id: string;
  type: T;
  version: number;
  streamId: string;
  streamVersion: number;
  /** Store-assigned global order, as a decimal string (bigint-safe). */
  globalPosition?: string;
  occurredAt: string;
  data: D;
  metadata: CorrelationMetadata;
}

/** What a writer hands the store: the envelope before the store assigns position and version. */
export type NewEvent<D = Record<string, unknown>, T extends string = string> = Omit<Envelope<D, T>, 'streamId' | 'streamVersion' | 'globalPosition'>;
