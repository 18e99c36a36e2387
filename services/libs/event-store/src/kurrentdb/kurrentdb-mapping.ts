/*
 * Pure translations between our port and KurrentDB's vocabulary.
 *  - Stream version N (1-based count of events) ⇔ KurrentDB revision N - 1 (0-based index of the
 *    last event); version 0 ⇔ NO_STREAM.
 *  - Global position ⇔ the event's `$all` commit position (a bigint).
 *  - Envelope fields KurrentDB has no slot for (schema version, occurredAt, correlation metadata)
 *    travel in the event's JSON metadata, next to KurrentDB's own `$correlationId`/`$causationId`.
 */
import type { CorrelationMetadata, Envelope, NewEvent } from '@agentyard/contracts';
import type * as Kurrent from '@kurrent/kurrentdb-client';
import type { AppendStreamState, CurrentStreamState, EventData, JSONEventType, RecordedEvent } from '@kurrent/kurrentdb-client';
import type { ExpectedVersion } from '../event-store.port';

// The client's constants, typed against it, so that this module loads without loading the client
// (about 0.5 s; services on the Postgres store never need it).
const ANY: typeof Kurrent.ANY = 'any';
const NO_STREAM: typeof Kurrent.NO_STREAM = 'no_stream';
const STREAM_EXISTS: typeof Kurrent.STREAM_EXISTS = 'stream_exists';

/** What we store in a KurrentDB event's metadata. */
export interface StoredMetadata {
  [key: string]: unknown;
  correlation: CorrelationMetadata;
  eventVersion: number;
  occurredAt: string;
  $correlationId: string;
  $causationId: string;
}

type StoredEventType = JSONEventType<string, Record<string, unknown>, StoredMetadata>;

/** Our expected version as KurrentDB's expected stream state. */
export function toStreamState(expected: ExpectedVersion): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) throw new RangeError(`expected version must be a whole number ≥ 0, got ${expected}`);
      return expected === 0 ? NO_STREAM : BigInt(expected - 1);
  }
}

/** KurrentDB's current stream state as our stream version (0 = no stream). */
export function fromCurrentState(state: CurrentStreamState): number {
  return state === NO_STREAM ? 0 : Number(state) + 1;
}

/** A revision (0-based) as our stream version (1-based). */
export function versionOfRevision(revision: bigint): number {
  return Number(revision) + 1;
}

/** Our new event as KurrentDB event data, keeping every envelope field. */
export function toEventData(event: NewEvent): EventData<StoredEventType> {
  return {
    id: event.id,
    contentType: 'application/json',
    type: event.type,
    data: event.data,
    metadata: {
      correlation: event.metadata,
      eventVersion: event.version,
      occurredAt: event.occurredAt,
      $correlationId: event.metadata.correlationId,
      $causationId: event.metadata.causationId,
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** True for events KurrentDB writes itself (`$`-types, `$`-streams), which the port never shows. */
export function isSystemEvent(event: { type: string; streamId: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

/**
 * A recorded event as our envelope. Events written by other tools (no metadata of ours) get
 * version 1, their creation time and their own id as correlation and causation.
 */
export function toEnvelope(event: RecordedEvent, position: bigint | undefined): Envelope {
  const metadata = isRecord(event.metadata) ? event.metadata : {};
  const correlation = isRecord(metadata.correlation) ? (metadata.correlation as CorrelationMetadata) : { correlationId: event.id, causationId: event.id };
  const envelope: Envelope = {
    id: event.id,
    type: event.type,
    version: typeof metadata.eventVersion === 'number' ? metadata.eventVersion : 1,
    streamId: event.streamId,
    streamVersion: versionOfRevision(event.revision),
    occurredAt: typeof metadata.occurredAt === 'string' ? metadata.occurredAt : event.created.toISOString(),
    data: isRecord(event.data) ? event.data : {},
    metadata: correlation,
  };
  if (position !== undefined) envelope.globalPosition = position.toString();
  return envelope;
}
