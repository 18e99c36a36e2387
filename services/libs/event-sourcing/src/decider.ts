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
 *
 * `handleCommandInTransaction` is the same loop for a command whose events must commit together
 * with the caller's own rows (a credential, a token's use, auth's rows): it opens the database
 * transaction itself, so on VersionConflict the WHOLE transaction — the caller's rows included —
 * is rolled back and run again on fresh state, and a refusal leaves no row behind. It is the one
 * way a service writes rows and events together (tested in event-sourcing.int.spec.ts).
 */
import type { Kysely, Transaction } from 'kysely';
import { newId, type CorrelationMetadata, type Envelope, type NewEvent } from '@agentyard/contracts';
import { VersionConflict, type AppendOptions, type AppendResult, type EventStore, type KyselyTransaction } from '@agentyard/event-store';

/** An event as a decider emits it: type, payload and (default 1) schema version. */
export interface DecidedEvent {
  type: string;
  data: Record<string, unknown>;
  version?: number;
}

/** What a decider over the envelope union `E` emits: one of E's types with that type's payload. */
export type DecidedEventFor<E extends Envelope> = E extends Envelope<infer D, infer T> ? { type: T; data: D; version?: number } : never;

/** Parses a stored envelope into a decider's event union (an EventRegistry is one). */
export interface EventParser<E extends Envelope> {
  has(type: string): boolean;
  parse(envelope: Envelope): E;
}

interface DeciderSteps<S, C, E extends Envelope> {
  initialState(): S;
  evolve(state: S, event: E): S;
  /** Returns the events the command leads to; [] = nothing to do (idempotent repeat). Throws DomainError to refuse. */
  decide(command: C, state: S): DecidedEventFor<E>[];
}

/**
 * A decider over the events `E` (default: any envelope). A decider whose `E` is a typed union
 * (`EventOf<typeof taskEvents>`) must name the registry that parses stored events into it:
 * `fold` and `handleCommand` upcast and validate every loaded event with it before `evolve`
 * sees one, so the union is never produced by a bare cast of what the store returned.
 */
export type Decider<S, C, E extends Envelope = Envelope> = DeciderSteps<S, C, E> &
  (string extends E['type'] ? { events?: EventParser<E> } : { events: EventParser<E> });

export interface HandleCommandOptions<S, C, E extends Envelope = Envelope> {
  store: EventStore;
  streamId: string;
  decider: Decider<S, C, E>;
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

export interface HandleCommandResult<S, E extends Envelope = Envelope> {
  /** State after the new events. */
  state: S;
  /** The events appended by this call (empty when the decider emitted none). */
  events: E[];
  /** Stream version after the call. */
  version: number;
}

/**
 * Folds stored events into a state with a decider's evolve. With the decider's registry, each
 * event is upcast and validated first; a type the registry does not hold leaves the state as it
 * was (an event a newer release added is skipped by an older one, as before typed events).
 */
export function fold<S, C, E extends Envelope>(decider: Decider<S, C, E>, events: readonly Envelope[], from: S = decider.initialState()): S {
  const parser = decider.events;
  let state = from;
  for (const event of events) {
    if (!parser)
      state = decider.evolve(state, event as E); // E is Envelope itself here: no parser is only allowed then
    else if (parser.has(event.type)) state = decider.evolve(state, parser.parse(event));
  }
  return state;
}

/** Load (or take from the cache) → decide → append with optimistic concurrency, retrying on VersionConflict. */
export async function handleCommand<S, C, E extends Envelope = Envelope>(options: HandleCommandOptions<S, C, E>): Promise<HandleCommandResult<S, E>> {
  const [outcome] = await handleCommands({ ...options, commands: [options.command] });
  if (!outcome!.ok) throw outcome!.error;
  return { state: outcome!.state, events: outcome!.events, version: outcome!.version };
}

export interface HandleCommandsOptions<S, C, E extends Envelope = Envelope> extends Omit<HandleCommandOptions<S, C, E>, 'command' | 'metadata'> {
  commands: readonly C[];
  /** Metadata of each command's events (same order as `commands`), or one for all. */
  metadata: CorrelationMetadata | readonly CorrelationMetadata[];
  /** Told how long each append took (seconds): what the store costs apart from the deciding. */
  observeAppend?: (seconds: number) => void;
}

/** What one command of a batch came to: its events and the state after them, or its refusal. */
export type CommandOutcome<S, E extends Envelope = Envelope> = ({ ok: true } & HandleCommandResult<S, E>) | { ok: false; error: unknown };

/**
 * Several commands on one stream, decided in order on the state each leaves, appended in ONE
 * append (a group commit: a run's fan-in of a thousand results costs a few appends, not a
 * thousand racing ones). A command that is refused fails alone; the others still apply. On
 * VersionConflict the whole batch is decided again on fresh state. A refusal or an empty decision
 * made on cached state is only believed after a fresh load, as with one command.
 */
export async function handleCommands<S, C, E extends Envelope = Envelope>(options: HandleCommandsOptions<S, C, E>): Promise<CommandOutcome<S, E>[]> {
  const { store, streamId, decider, commands, cache } = options;
  const metadataOf = (i: number): CorrelationMetadata => (Array.isArray(options.metadata) ? options.metadata[i]! : (options.metadata as CorrelationMetadata));
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
    const occurredAt = (options.now?.() ?? new Date()).toISOString();
    const outcomes: CommandOutcome<S, E>[] = [];
    const newEvents: NewEvent[] = [];
    let doubt = false;
    let next = state;
    let nextVersion = version;
    for (const [i, command] of commands.entries()) {
      let decided: DecidedEventFor<E>[];
      try {
        decided = decider.decide(command, next);
      } catch (error) {
        outcomes.push({ ok: false, error });
        if (known) doubt = true;
        continue;
      }
      if (decided.length === 0 && known) doubt = true;
      const events = stamp(decided, occurredAt, metadataOf(i));
      // The decider's own events, typed by decide's signature (E's type and payload, paired): kept as they are, no re-parse.
      const appended = events.map((e, j) => ({ ...e, streamId, streamVersion: nextVersion + j + 1 }) as E);
      next = appended.reduce((s, e) => decider.evolve(s, e), next);
      nextVersion += appended.length;
      newEvents.push(...events);
      outcomes.push({ ok: true, state: next, events: appended, version: nextVersion });
    }
    if (doubt) {
      // Believe a refusal or "nothing to do" only on fresh state.
      cache?.delete(streamId);
      continue;
    }
    if (newEvents.length === 0) return outcomes;
    try {
      const appendStarted = performance.now();
      const result = await store.appendToStream(streamId, newEvents, { expectedVersion: version });
      options.observeAppend?.((performance.now() - appendStarted) / 1000);
      cache?.set(streamId, next, result.nextExpectedVersion);
      return outcomes;
    } catch (error) {
      cache?.delete(streamId);
      if (!(error instanceof VersionConflict) || attempt >= maxAttempts) throw error;
      // Someone appended between our read and write: reload and decide on the fresh state.
      if (!known) await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50) * Math.random()));
    }
  }
}

/** Envelopes to append for decided events: fresh ids, one instant, the command's metadata. */
function stamp(decided: readonly DecidedEvent[], occurredAt: string, metadata: CorrelationMetadata): NewEvent[] {
  return decided.map((d) => ({ id: newId(), type: d.type, version: d.version ?? 1, occurredAt, data: d.data, metadata }));
}

/** An event store that can append inside a caller's database transaction (PostgresEventStore). */
export interface TransactionalEventStore extends EventStore {
  appendInTransaction(trx: KyselyTransaction, streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
}

export interface HandleCommandInTransactionOptions<S, C, E extends Envelope, DB, R> {
  /** The database the transaction is opened on: the caller's rows and the event store's tables are in it. */
  db: Kysely<DB>;
  store: TransactionalEventStore;
  streamId: string;
  decider: Decider<S, C, E>;
  /**
   * The command, or a function that builds it from the caller's rows, read (and locked) in the
   * transaction — it may write rows too, and throw to refuse. It runs again on every retry.
   */
  command: C | ((trx: Transaction<DB>) => Promise<C>);
  /** Metadata of the events; a function of the command when it depends on rows read for it. */
  metadata: CorrelationMetadata | ((command: C) => CorrelationMetadata);
  /**
   * Writes the caller's rows for the stored events, in the same transaction, after the append
   * (so the events carry their stream versions). Runs only when the command led to events; what
   * it returns is handed back as `rows`. Throwing rolls the events back too.
   */
  withRows?: (trx: Transaction<DB>, stored: HandleCommandResult<S, E>) => Promise<R>;
  /** Clock for `occurredAt`; default `new Date()`. */
  now?: () => Date;
  /** Attempts on VersionConflict before giving up. Default 10. */
  maxAttempts?: number;
  /** The caller just made up this stream's id: the first attempt decides on the initial state without a load. */
  assumeNew?: boolean;
  /**
   * The stream only records facts decided on the caller's rows (auth: the rows are the state,
   * locked in the transaction): no load, the decider sees its initial state, the events go at
   * any version — so no VersionConflict and no retry.
   */
  unversioned?: boolean;
}

export interface HandleCommandInTransactionResult<S, C, E extends Envelope, R> extends HandleCommandResult<S, E> {
  /** The command as decided (built from the rows when `command` is a function). */
  command: C;
  /** What `withRows` returned; undefined when the command led to no events. */
  rows: R | undefined;
}

/**
 * Load → (in one transaction: build the command from rows → decide → append → the caller's rows)
 * → commit; on VersionConflict the whole transaction is retried on fresh state.
 */
export async function handleCommandInTransaction<S, C, E extends Envelope = Envelope, DB = unknown, R = void>(
  options: HandleCommandInTransactionOptions<S, C, E, DB, R>,
): Promise<HandleCommandInTransactionResult<S, C, E, R>> {
  const { db, store, streamId, decider } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    // Loaded before the transaction opens, so it stays short (readers of the log wait for open
    // transactions); the append's expected version guards the gap between the two.
    let state = decider.initialState();
    let version = 0;
    if (!options.unversioned && !(options.assumeNew && attempt === 1)) {
      const history = await store.readStream(streamId);
      state = fold(decider, history);
      version = history.at(-1)?.streamVersion ?? 0;
    }
    try {
      return await db.transaction().execute(async (trx) => {
        const command = typeof options.command === 'function' ? await (options.command as (trx: Transaction<DB>) => Promise<C>)(trx) : options.command;
        const decided = decider.decide(command, state); // a refusal throws: the transaction rolls back
        if (decided.length === 0) return { state, events: [], version, command, rows: undefined };
        const metadata = typeof options.metadata === 'function' ? options.metadata(command) : options.metadata;
        const newEvents = stamp(decided, (options.now?.() ?? new Date()).toISOString(), metadata);
        const appended = await store.appendInTransaction(trx, streamId, newEvents, { expectedVersion: options.unversioned ? 'any' : version });
        const first = appended.nextExpectedVersion - newEvents.length;
        // The decider's own events, typed by decide's signature: kept as they are, no re-parse.
        const events = newEvents.map((e, j) => ({ ...e, streamId, streamVersion: first + j + 1 }) as E);
        const stored = { state: events.reduce((s, e) => decider.evolve(s, e), state), events, version: appended.nextExpectedVersion };
        const rows = options.withRows ? await options.withRows(trx, stored) : undefined;
        return { ...stored, command, rows };
      });
    } catch (error) {
      if (!(error instanceof VersionConflict) || attempt >= maxAttempts) throw error;
      // Someone appended between our read and our write: the rows rolled back with it; decide again on fresh state.
      await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50) * Math.random()));
    }
  }
}
