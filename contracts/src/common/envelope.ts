/*
 * The message envelope every event carries, on the event store and on JetStream alike.
 * `streamVersion` is the event's 1-based position in its stream; `globalPosition` is set by the
 * store on read (absent before append).
 */
import { z } from 'zod';
import { text } from './text';

export const correlationMetadataSchema = z
  .object({
    correlationId: text().min(1),
    causationId: text().min(1),
    userId: text().min(1).optional(),
    /** W3C trace context: `00-<trace-id>-<span-id>-<flags>`. */
    traceparent: text()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional(),
  })
  .strict();
export type CorrelationMetadata = z.infer<typeof correlationMetadataSchema>;

export const envelopeSchema = z.object({
  id: z.uuid(),
  type: text().regex(/^[A-Z][A-Za-z0-9]+$/, 'event types are PascalCase past tense, e.g. TaskQueued'),
  version: z.number().int().min(1),
  streamId: text().min(1).max(200),
  streamVersion: z.number().int().min(1),
  globalPosition: text().regex(/^\d+$/).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
  data: z.record(text(), z.unknown()),
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
