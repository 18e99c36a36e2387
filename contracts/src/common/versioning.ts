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

export class UnknownEventError extends Error {
  constructor(type: string, version: number) {
    super(`no schema registered for event ${type} v${version}`);
    this.name = 'UnknownEventError';
  }
}

/** Holds every version of every event type and upcasts old payloads on read. */
export class EventRegistry {
  private readonly defs = new Map<string, Map<number, EventDefinition>>();
  private readonly upcasters = new Map<string, Upcaster>();

  register(...defs: EventDefinition[]): this {
    for (const def of defs) {
      const versions = this.defs.get(def.type) ?? new Map<number, EventDefinition>();
      versions.set(def.version, def);
      this.defs.set(def.type, versions);
    }
    return this;
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
