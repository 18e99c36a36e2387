/*
 * Event schema versioning. Within a version only additive changes are allowed; a breaking change
 * registers version N+1 plus an upcaster N → N+1. Reading an old event runs the upcasters in
 * order and validates the result against the newest schema, so handlers only ever see the newest
 * shape while the store keeps what was written.
 */
import type { z } from 'zod';
import type { Envelope } from './envelope';

export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  type: T;
  version: number;
  schema: S;
}

/** Declares one version of an event's payload schema. */
export function defineEvent<T extends string, S extends z.ZodType>(type: T, version: number, schema: S): EventDefinition<T, S> {
  return { type, version, schema };
}

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/** Event type → payload, as a registry knows them (a registry with no typed entries knows any string). */
export type EventPayloads = Record<string, Record<string, unknown>>;

/*
 * The payload map a chain of `register` calls builds: each definition sets its type's payload,
 * a later one (a newer version: register checks they come in ascending order) replacing an
 * earlier one, so every type maps to its newest schema's output — what upcastEnvelope returns.
 */
type Registered<M, Defs extends readonly EventDefinition[]> = Defs extends readonly [
  infer H extends EventDefinition,
  ...infer R extends readonly EventDefinition[],
]
  ? Registered<{ [K in keyof M | H['type']]: K extends H['type'] ? z.output<H['schema']> : K extends keyof M ? M[K] : never }, R>
  : M;
/** An untyped registry (`new EventRegistry()`) starts from no entries. */
type Known<M> = string extends keyof M ? {} : M; // eslint-disable-line @typescript-eslint/no-empty-object-type

/** The payload map of a registry (`typeof taskEvents`). */
export type EventPayloadsOf<R> = R extends EventRegistry<infer M> ? M : never;
/** The event types a registry holds, as a union of string literals. */
export type EventTypeOf<R> = keyof EventPayloadsOf<R> & string;
/** The payload of one event type of a registry, at its newest version. */
export type EventDataOf<R, T extends EventTypeOf<R>> = EventPayloadsOf<R>[T];
/**
 * The envelopes a registry's events arrive in, as a union discriminated by `type`:
 * `EventOf<typeof taskEvents>` narrows `event.data` with `switch (event.type)`. Only
 * `EventRegistry.parse` (upcast + validate) produces one from stored or received data.
 */
export type EventOf<R> = EventUnion<EventPayloadsOf<R>>;
/** The envelope union of a payload map (what `EventRegistry<M>.parse` returns). */
export type EventUnion<M> = { [T in keyof M & string]: Envelope<M[T] & Record<string, unknown>, T> }[keyof M & string];
/** An event as a decider emits it (type, payload, optional schema version), discriminated by `type`. */
export type DecidedEventOf<R> = { [T in EventTypeOf<R>]: { type: T; data: EventDataOf<R, T>; version?: number } }[EventTypeOf<R>];

export class UnknownEventError extends Error {
  constructor(type: string, version: number) {
    super(`no schema registered for event ${type} v${version}`);
    this.name = 'UnknownEventError';
  }
}

/**
 * Holds every version of every event type and upcasts old payloads on read. `M` (event type →
 * newest payload) is built by `register`, so `EventOf<typeof registry>` is the typed union.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a bare `EventRegistry` is any registry: typed ones are assignable to it
export class EventRegistry<M extends object = any> {
  private readonly defs = new Map<string, Map<number, EventDefinition>>();
  private readonly upcasters = new Map<string, Upcaster>();

  /** Adds event definitions; a type's versions must come in ascending order (the last is its payload type). */
  register<const Defs extends readonly EventDefinition[]>(...defs: Defs): EventRegistry<Registered<Known<M>, Defs>> {
    for (const def of defs) {
      const versions = this.defs.get(def.type) ?? new Map<number, EventDefinition>();
      // The payload type is the last registered version's, so a newer one must not come first.
      if ([...versions.keys()].some((v) => v >= def.version)) throw new Error(`${def.type} v${def.version} registered after a version at least as new`);
      versions.set(def.version, def);
      this.defs.set(def.type, versions);
    }
    return this as unknown as EventRegistry<Registered<Known<M>, Defs>>;
  }

  /** Registers the function turning a `fromVersion` payload into a `fromVersion + 1` payload. */
  upcast(type: string, fromVersion: number, fn: Upcaster): this {
    this.upcasters.set(`${type}@${fromVersion}`, fn);
    return this;
  }

  latestVersion(type: string): number {
    const versions = this.defs.get(type);
    if (!versions || versions.size === 0) throw new UnknownEventError(type, 0);
    return Math.max(...versions.keys());
  }

  has(type: string): boolean {
    return this.defs.has(type);
  }

  /** Every registered event type, in registration order (what a consumer of the stream may see). */
  types(): string[] {
    return [...this.defs.keys()];
  }

  /** Validates a payload against the schema of (type, version); throws a ZodError when wrong. */
  validate(type: string, version: number, data: unknown): Record<string, unknown> {
    const def = this.defs.get(type)?.get(version);
    if (!def) throw new UnknownEventError(type, version);
    return def.schema.parse(data) as Record<string, unknown>;
  }

  /** Validates a payload against its type's newest schema (what a decider emits); throws a ZodError when wrong. */
  check<T extends keyof M & string>(type: T, data: M[T]): M[T] {
    return this.validate(type, this.latestVersion(type), data) as M[T];
  }

  /**
   * Upcasts and validates a stored or received envelope into the registry's typed union; the
   * only way to get one from data that was not checked. Throws UnknownEventError for a type the
   * registry does not hold and a ZodError for a payload that breaks its schema.
   */
  parse(envelope: Envelope): EventUnion<M> {
    return this.upcastEnvelope(envelope) as EventUnion<M>;
  }

  /** Returns the envelope with its payload upcast to the newest version and validated. */
  upcastEnvelope<E extends Envelope>(envelope: E): E {
    const latest = this.latestVersion(envelope.type);
    let data = envelope.data as Record<string, unknown>;
    for (let v = envelope.version; v < latest; v++) {
      const fn = this.upcasters.get(`${envelope.type}@${v}`);
      if (!fn) throw new Error(`no upcaster for ${envelope.type} v${v} → v${v + 1}`);
      data = fn(data);
    }
    return { ...envelope, version: latest, data: this.validate(envelope.type, latest, data) };
  }
}
