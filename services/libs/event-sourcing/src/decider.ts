/*
 * Deciders (emmett style): `initialState`, `evolve(state, event)`, `decide(command, state)`.
 * Pure — time and ids arrive in the command. `handleCommand` is the only I/O around them: load
 * the stream, fold, decide, append at the version it read; on VersionConflict reload and decide
 * again, so two racing commands are serialised by the store, never by luck.
 *
 * With a StateCache, the load is skipped when this process already knows the stream's state
 * (it wrote or read it last): the append's expected version still guards it, so a stale entry
 * (another instance wrote meanwhile) costs a VersionConflict and a reload, never a wrong write.
 * A cached state that leads to no events or to a refusal is checked against a fresh load before
 * it is believed, so a stale entry can never turn into a wrong answer either.
 */
import { newId, type CorrelationMetadata, type Envelope, type NewEvent } from '@agentyard/contracts';
import { VersionConflict, type EventStore } from '@agentyard/event-store';

/** An event as a decider emits it: type, payload and (default 1) schema version. */
export interface DecidedEvent {
  type: string;
  data: Record<string, unknown>;
  version?: number;
}

export interface Decider<S, C> {
  initialState(): S;
  evolve(state: S, event: Envelope): S;
  /** Returns the events the command leads to; [] = nothing to do (idempotent repeat). Throws DomainError to refuse. */
  decide(command: C, state: S): DecidedEvent[];
}

export interface HandleCommandOptions<S, C> {
  store: EventStore;
  streamId: string;
  decider: Decider<S, C>;
  command: C;
  metadata: CorrelationMetadata;
  /** Clock for `occurredAt`; default `new Date()`. */
  now?: () => Date;
  /** Attempts on VersionConflict before giving up. Default 10. */
  maxAttempts?: number;
  /** States of streams this process handled lately; skips the load on a hit. */
  cache?: StateCache<S>;
  /** The caller just made up this stream's id: decide on the initial state without a load. */
  assumeNew?: boolean;
}

/**
 * Last known state and version per stream, least recently used dropped beyond `maxEntries`.
 * Only an optimisation for handleCommand (see the module comment): any entry may be stale.
 */
export class StateCache<S> {
  private readonly entries = new Map<string, { state: S; version: number }>();

  constructor(private readonly maxEntries = 5_000) {}

  get(streamId: string): { state: S; version: number } | undefined {
    const entry = this.entries.get(streamId);
    if (entry) {
      // Re-inserted: Map keeps insertion order, so the first key is the least recently used.
      this.entries.delete(streamId);
      this.entries.set(streamId, entry);
    }
    return entry;
  }

  set(streamId: string, state: S, version: number): void {
    this.entries.delete(streamId);
    this.entries.set(streamId, { state, version });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface HandleCommandResult<S> {
  /** State after the new events. */
  state: S;
  /** The events appended by this call (empty when the decider emitted none). */
  events: Envelope[];
  /** Stream version after the call. */
  version: number;
}

/** Folds events into a state with a decider's evolve. */
export function fold<S, C>(decider: Decider<S, C>, events: Envelope[], from: S = decider.initialState()): S {
  return events.reduce((s, e) => decider.evolve(s, e), from);
}

/** Load (or take from the cache) → decide → append with optimistic concurrency, retrying on VersionConflict. */
export async function handleCommand<S, C>(options: HandleCommandOptions<S, C>): Promise<HandleCommandResult<S>> {
  const { store, streamId, decider, command, metadata, cache } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    // Only the first attempt may trust what we knew; every retry loads.
    const known = attempt === 1 ? (cache?.get(streamId) ?? (options.assumeNew ? { state: decider.initialState(), version: 0 } : undefined)) : undefined;
    let state: S;
    let version: number;
    if (known) {
      ({ state, version } = known);
    } else {
      const history = await store.readStream(streamId);
      state = fold(decider, history);
      version = history.length === 0 ? 0 : history[history.length - 1]!.streamVersion;
      cache?.set(streamId, state, version);
    }
    let decided: DecidedEvent[];
    try {
      decided = decider.decide(command, state);
    } catch (error) {
      if (!known) throw error;
      cache?.delete(streamId);
      continue; // believe a refusal only on fresh state
    }
    if (decided.length === 0) {
      if (!known) return { state, events: [], version };
      cache?.delete(streamId);
      continue; // likewise "nothing to do"
    }
    const occurredAt = (options.now?.() ?? new Date()).toISOString();
    const newEvents: NewEvent[] = decided.map((d) => ({ id: newId(), type: d.type, version: d.version ?? 1, occurredAt, data: d.data, metadata }));
    try {
      const result = await store.appendToStream(streamId, newEvents, { expectedVersion: version });
      const appended: Envelope[] = newEvents.map((e, i) => ({ ...e, streamId, streamVersion: version + i + 1 }));
      const next = fold(decider, appended, state);
      cache?.set(streamId, next, result.nextExpectedVersion);
      return { state: next, events: appended, version: result.nextExpectedVersion };
    } catch (error) {
      cache?.delete(streamId);
      if (!(error instanceof VersionConflict) || attempt >= maxAttempts) throw error;
      // Someone appended between our read and write: reload and decide on the fresh state.
      if (!known) await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50) * Math.random()));
    }
  }
}
