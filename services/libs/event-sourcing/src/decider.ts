/*
 * Deciders (emmett style): `initialState`, `evolve(state, event)`, `decide(command, state)`.
 * Pure — time and ids arrive in the command. `handleCommand` is the only I/O around them: load
 * the stream, fold, decide, append at the version it read; on VersionConflict reload and decide
 * again, so two racing commands are serialised by the store, never by luck.
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

/** Load → decide → append with optimistic concurrency, retrying on VersionConflict. */
export async function handleCommand<S, C>(options: HandleCommandOptions<S, C>): Promise<HandleCommandResult<S>> {
  const { store, streamId, decider, command, metadata } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId);
    const state = fold(decider, history);
    const version = history.length === 0 ? 0 : history[history.length - 1]!.streamVersion;
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, events: [], version };
    const occurredAt = (options.now?.() ?? new Date()).toISOString();
    const newEvents: NewEvent[] = decided.map((d) => ({ id: newId(), type: d.type, version: d.version ?? 1, occurredAt, data: d.data, metadata }));
    try {
      const result = await store.appendToStream(streamId, newEvents, { expectedVersion: version });
      const appended: Envelope[] = newEvents.map((e, i) => ({ ...e, streamId, streamVersion: version + i + 1 }));
      return { state: fold(decider, appended, state), events: appended, version: result.nextExpectedVersion };
    } catch (error) {
      if (!(error instanceof VersionConflict) || attempt >= maxAttempts) throw error;
      // Someone appended between our read and write: reload and decide on the fresh state.
      await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50) * Math.random()));
    }
  }
}
