/*
 * The event store port (brief §4). Adapters: Postgres (default; what `npm start` and tests use)
 * and KurrentDB. Invariants every adapter keeps, proven by the shared contract suite:
 *  - per-stream optimistic concurrency: an append at the wrong expected version appends nothing
 *    and throws VersionConflict;
 *  - `readAll` / `subscribeToAll` deliver events in one global order, never skipping an event
 *    that commits late and never showing position N+1 before N.
 */
import type { Envelope, NewEvent } from '@agentyard/contracts';

/** A number is the exact current stream version (0 = stream is empty / absent). */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

export interface AppendOptions {
  /** Default `'any'`. */
  expectedVersion?: ExpectedVersion;
}

export interface AppendResult {
  /** The stream's version after the append (= streamVersion of the last appended event). */
  nextExpectedVersion: number;
  /** Global position of the last appended event. */
  lastPosition: bigint;
}

export interface ReadStreamOptions {
  /** First stream version to return (1-based, inclusive). Default 1. */
  fromVersion?: number;
  /** Default: all. */
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Return events strictly after this global position. Default 0n (from the start). */
  fromPosition?: bigint;
  /** Default 1000. */
  limit?: number;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this position. Default 0n. */
  fromCheckpoint?: bigint;
  /** Called once per event, in global order; the next event waits for the promise. */
  onEvent: (event: Envelope) => Promise<void>;
  /** Called when onEvent throws or the store fails; the subscription stops after it. */
  onError?: (error: unknown) => void;
  /** Events fetched per read. Default 500. */
  batchSize?: number;
}

export interface Subscription {
  /** Stops after the event being handled; resolves when no handler runs any more. */
  stop(): Promise<void>;
  /** Position of the last event whose handler resolved. */
  readonly position: bigint;
}

export interface EventStore {
  /**
   * Appends events atomically at the end of a stream. An empty `events` array only checks the
   * expected version (lastPosition 0n). Retrying an append whose event ids are all stored already,
   * in that stream and order, returns the original result and writes nothing (idempotent retry).
   * Other reuse of a stored event id: the Postgres adapter throws DuplicateEventId (ids are unique
   * store-wide); KurrentDB only checks ids against the stream's recent events.
   */
  appendToStream(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Events of one stream in stream order; an absent stream gives []. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<Envelope[]>;
  /** Up to `limit` events after `fromPosition`, in global order (positions strictly increasing). */
  readAll(options?: ReadAllOptions): Promise<Envelope[]>;
  /** Follows the global log from a checkpoint until stopped; see SubscribeOptions. */
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** Releases what the store created (pools, clients, listeners). */
  close(): Promise<void>;
}

/** Thrown when an append's expected version does not match the stream. Nothing was appended. */
export class VersionConflict extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`version conflict on ${streamId}: expected ${String(expected)}, actual ${actual}`);
    this.name = 'VersionConflict';
  }
}

/**
 * Thrown when an appended event id is already stored and the append is not an exact retry of the
 * append that stored it (other stream, other order, or only part of the batch). Nothing was appended.
 */
export class DuplicateEventId extends Error {
  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
  ) {
    super(`an event id of this append to ${streamId} is already stored (and this is not a retry of that append)`);
    this.name = 'DuplicateEventId';
  }
}
