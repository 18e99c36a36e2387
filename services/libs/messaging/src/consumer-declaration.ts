/*
 * One declaration per durable consumer: the stream it reads (name and captured subjects), its
 * durable name (which also names its dead-letter subject, so it must never change: a deployment
 * keeps its position under it), the filter subject built from the contracts' subject helpers,
 * what its messages parse with (an event registry, or a schema for non-envelope messages), and its
 * tuning. The same object is given to NatsJetStreamServer's `consumers` (provisioning and
 * pulling) and to `@OnConsumer(declaration)` on the handler, so adding a consumer is one entry.
 *
 * The one policy for inbound messages, applied by the transporter before any handler runs
 * (`inbound`, below; ConsumerRunner in nats-jetstream.server.ts):
 *  - a payload that is not JSON is dead-lettered at once (no reader could ever use it);
 *  - a message that can never be valid — a malformed envelope, a payload that breaks its event's
 *    schema or the consumer's schema — is logged (warn, with subject and sequence) and acked: a
 *    redelivery would fail the same way forever;
 *  - an event of a type the consumer does not act on (`actsOn`) is acked unread;
 *  - an event of a type its registry does not hold is dropped like an invalid one, unless the
 *    consumer says `unknownTypes: 'pass'`: then its handler gets it unparsed (a projection that
 *    keeps each entity's stream order, allocation's, must see every event of the stream);
 *  - the handler receives the event upcast to its newest version and validated, typed by the
 *    registry (`MessageOf<typeof declaration>`).
 * Failures of the handler itself are redelivered with backoff and dead-lettered after
 * `maxDeliver` (nats-jetstream.server.ts). `consumerDeclarationProblems` checks a declaration
 * against its stream and registry; infra/ops/consumers.unit.spec.ts runs it over every service's
 * declarations.
 */
import { EventPattern } from '@nestjs/microservices';
import { eventSubject, streamSubjects, type Context, type EventRegistry, type EventUnion } from '@agentyard/contracts';
import type { z } from 'zod';
import { parseInboundEvent } from './inbound-event';
import { eventStreamConfig, type EventConsumerOptions, type InboundVerdict, type StreamSpec } from './provisioning';
import { assertSubjectPattern, subjectMatches } from './subject-match';

/**
 * The stream a consumer reads, as its owner configures it: the transporter creates it when it is
 * absent (so a service may boot before the stream's owner) and leaves an existing one alone.
 */
export type StreamRef = StreamSpec;

/** A context's event stream, e.g. `TASKS` capturing `tasks.events.>` (eventStreamConfig). */
export function contextStream(context: Context): StreamRef {
  return eventStreamConfig(context);
}

/**
 * A filter over a context's event subjects: every event (`eventFilter('tasks')`), one type with
 * any keys (`{ type: 'AllocationDecided' }`), or exactly `keys` key tokens after the event
 * token (`{ keys: 2 }`: `tasks.events.*.*.*`, the workflow tasks' events that end with a run id).
 */
export function eventFilter(context: Context, options: { type?: string; keys?: number } = {}): string {
  const base = options.type ? eventSubject(context, options.type) : `${context}.events.*`;
  if (options.keys === undefined) return options.type ? `${base}.>` : streamSubjects(context)[0]!;
  return [base, ...Array.from({ length: options.keys }, () => '*')].join('.');
}

/** A declared consumer: what NatsJetStreamServer provisions and runs; `T` is what its handler receives. */
export interface ConsumerDeclaration<T = unknown> extends EventConsumerOptions {
  readonly filterSubject: string;
  /** Subjects its stream captures (the filter must lie within them). */
  readonly streamSubjects: readonly string[];
  /** Its stream's config, created when absent before the consumer is ensured. */
  readonly streamConfig: StreamSpec;
  /** Registry its events parse with (envelope messages). */
  readonly events?: EventRegistry;
  /** Event types its handler acts on; others are acked unread. Undefined: every type. */
  readonly actsOn?: readonly string[];
  /** An event type its registry does not hold: dropped (default), or passed on unparsed. */
  readonly unknownTypes?: 'drop' | 'pass';
  /** Schema of its messages when they are not event envelopes (work reports). */
  readonly schema?: z.ZodType;
  /** Type-only: the handler's message type. */
  readonly __message?: T;
}

/** What the handler of a declared consumer receives per message. */
export type MessageOf<D> = D extends ConsumerDeclaration<infer T> ? T : never;

type Tuning = Omit<EventConsumerOptions, 'stream' | 'durable' | 'filterSubject' | 'inbound'>;
interface Common extends Tuning {
  stream: StreamRef;
  durable: string;
  filterSubject: string;
}

/** Declares a consumer of event envelopes, parsed by `events` (only the `actsOn` types, if given). */
export function defineConsumer<M extends object, const A extends readonly (keyof M & string)[] | undefined = undefined>(
  declaration: Common & { events: EventRegistry<M>; actsOn?: A; unknownTypes?: 'drop' | 'pass' },
): ConsumerDeclaration<A extends readonly string[] ? Extract<EventUnion<M>, { type: A[number] }> : EventUnion<M>>;
/** Declares a consumer of non-envelope messages checked by `schema`. */
export function defineConsumer<S extends z.ZodType>(declaration: Common & { schema: S }): ConsumerDeclaration<z.infer<S>>;
/** Declares a consumer nobody in this process handles (e.g. a worker agent's assignments). */
export function defineConsumer(declaration: Common): ConsumerDeclaration<unknown>;
export function defineConsumer(
  declaration: Common & { events?: EventRegistry; actsOn?: readonly string[]; unknownTypes?: 'drop' | 'pass'; schema?: z.ZodType },
): ConsumerDeclaration<unknown> {
  const { stream, events, actsOn, unknownTypes, schema, ...rest } = declaration;
  assertSubjectPattern(declaration.filterSubject);
  const acted = actsOn ? new Set(actsOn) : undefined;
  let inbound: ((data: unknown) => InboundVerdict) | undefined;
  if (events) inbound = (data) => inboundEvent(events, acted, unknownTypes === 'pass', data);
  else if (schema) inbound = (data) => inboundMessage(schema, data);
  return { ...rest, stream: stream.name, streamSubjects: [...(stream.subjects ?? [])], streamConfig: stream, events, actsOn, unknownTypes, schema, inbound };
}

/** Binds a handler to a declared consumer: `@OnConsumer(workReportsConsumer)`. */
export function OnConsumer(declaration: ConsumerDeclaration): MethodDecorator {
  return EventPattern(declaration.filterSubject, { consumer: declaration.durable });
}

function inboundEvent(registry: EventRegistry, actsOn: ReadonlySet<string> | undefined, passUnknown: boolean, data: unknown): InboundVerdict {
  const type = (data as { type?: unknown } | null)?.type;
  if (actsOn && typeof type === 'string' && !actsOn.has(type)) return { skip: true };
  if (passUnknown && typeof type === 'string' && !registry.has(type)) return { handle: data };
  const parsed = parseInboundEvent(registry, data);
  return parsed.ok ? { handle: parsed.event } : { drop: parsed.problem, details: parsed.details };
}

function inboundMessage(schema: z.ZodType, data: unknown): InboundVerdict {
  const parsed = schema.safeParse(data);
  return parsed.success ? { handle: parsed.data } : { drop: 'malformed message dropped', details: parsed.error.issues };
}

/**
 * What is wrong with a declaration, given subjects its producers publish on (e.g.
 * `eventSubject('tasks', 'TaskStarted', id, runId)`): the filter must lie within the stream's
 * subjects, every sample must be captured by the stream and pass the filter, and every type it
 * acts on must be in its registry. Empty when all holds.
 */
export function consumerDeclarationProblems(declaration: ConsumerDeclaration, samples: readonly string[]): string[] {
  const name = `${declaration.stream}/${declaration.durable}`;
  const problems: string[] = [];
  if (!declaration.streamSubjects.some((s) => patternCovers(s, declaration.filterSubject)))
    problems.push(`${name}: filter ${declaration.filterSubject} is not within the stream's subjects ${declaration.streamSubjects.join(', ')}`);
  if (samples.length === 0) problems.push(`${name}: no sample subject given`);
  for (const subject of samples) {
    if (!declaration.streamSubjects.some((s) => subjectMatches(s, subject))) problems.push(`${name}: the stream does not capture ${subject}`);
    if (!subjectMatches(declaration.filterSubject, subject)) problems.push(`${name}: filter ${declaration.filterSubject} does not pass ${subject}`);
  }
  for (const type of declaration.actsOn ?? []) if (!declaration.events?.has(type)) problems.push(`${name}: acts on ${type}, which its registry does not hold`);
  if ((declaration.actsOn || declaration.unknownTypes) && !declaration.events) problems.push(`${name}: actsOn or unknownTypes without an event registry`);
  return problems;
}

/** True when every subject `inner` matches is matched by `outer` (both may hold wildcards). */
export function patternCovers(outer: string, inner: string): boolean {
  const o = outer.split('.');
  const i = inner.split('.');
  for (let k = 0; k < o.length; k++) {
    if (o[k] === '>') return k < i.length;
    if (k >= i.length || i[k] === '>') return false;
    if (o[k] !== '*' && o[k] !== i[k]) return false;
  }
  return o.length === i.length;
}
