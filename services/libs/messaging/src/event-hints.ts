/*
 * Event hints: an early, non-durable copy of events a service has just committed, sent over core
 * NATS to the one consumer whose reaction lies on a task's way to its agent (tasks → allocation
 * for a queued task, allocation → tasks for a decision). On an idle 2-core machine the durable way
 * — the relay reading the event back from the store, an acknowledged JetStream publish, a durable
 * consumer's pull — takes 8–10 ms per hop, and two such hops lay in series before every start
 * (bench/README.md, "Event hints"). The fact itself still travels that way; the hint only gets
 * there first. Invariants:
 *  - a hint is sent only after its events are committed (it never carries a fact that could still
 *    roll back), so acting on it keeps the brief's rule: committed first, then acted on;
 *  - it is fire-and-forget: lost, late, repeated or overtaken, nothing is lost — the durable
 *    consumer delivers the same events, and the receiving handler is idempotent (it already is
 *    for JetStream's redeliveries);
 *  - only the replica that runs the durable consumer (the service's lease holder) listens, so two
 *    replicas never both act on one hint;
 *  - the listener remembers the ids of the events its handler took (bounded), and the durable
 *    consumer acks those without handling them again (one that arrives while its hint is being
 *    handled waits for that outcome);
 *  - hints are for an idle receiver: for `busyWindowMs` after the durable consumer had to handle
 *    an event a hint should have brought (`missed`), hints are declined — under load its batches cost less than a transaction
 *    per hint (measured: bench/README.md, "Event hints");
 *  - hints are handled in batches, with no timer: what arrives while a batch is being handled
 *    forms the next one (alone on an idle platform, batched under load), and beyond `maxPending`
 *    waiting events new hints are dropped — the durable way carries them;
 *  - only services publish on `hints.>`: a worker's NATS user is an allowlist (contracts'
 *    workerNatsPermissions), and the security probe tries every subject of `hintSubjects`.
 * Tested in event-hints.int.spec.ts on a real nats-server; the platform's use in
 * services/gateway/test/event-hints.e2e.spec.ts.
 */
import type { Envelope } from '@agentyard/contracts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/** What a sender or listener logs. */
interface HintLogger {
  warn(object: object, message: string): void;
}

/** Hints by outcome, for the service's metrics (exposeCounts). */
export type HintCounts = Record<'sent' | 'batched' | 'declined' | 'taken' | 'dropped' | 'skipped', number>;

/** What a service module is given of its hints: where to send them, and what its listener took. */
export interface EventHints {
  /** Sends `events` (committed, in stream order) on `subject`; never throws. */
  send(subject: string, events: readonly Envelope[]): void;
  /**
   * Asked by the durable consumer for each event it receives: true when a hint's handler took it
   * (waiting for a hint being handled), so its delivery is acked without handling it again.
   */
  took(eventId: string): Promise<boolean>;
  /**
   * Told by the durable consumer when it had to handle an event a hint should have brought (one
   * declined, lost or overtaken): the durable way is carrying the load, so hints are declined
   * for a while.
   */
  missed(): void;
}

/** Injection token of a service module's EventHints. */
export const EVENT_HINTS = Symbol('EVENT_HINTS');

/** No hints: nothing sent, nothing taken (a module built without NATS, e.g. in a test). */
export const noEventHints: EventHints = { send: () => undefined, took: async () => false, missed: () => undefined };

/** Sends hints on a connection; never throws (a hint that cannot go is one the durable way carries). */
export class HintSender {
  sent = 0;

  constructor(private readonly connection: Pick<NatsConnection, 'publish' | 'isClosed'>) {}

  /** Sends `events` (committed, in stream order) on `subject`. */
  send(subject: string, events: readonly Envelope[]): void {
    if (events.length === 0 || this.connection.isClosed()) return;
    try {
      this.connection.publish(subject, JSON.stringify(events));
      this.sent++;
    } catch {
      // Disconnected or closing: the relay and JetStream deliver these events anyway.
    }
  }
}

export interface HintListenerOptions {
  connection: Pick<NatsConnection, 'subscribe'>;
  /** The subject pattern to listen on, e.g. hintSubjects.anyTaskQueued. */
  subject: string;
  /**
   * Checks (and upcasts) one event of a hint against the receiver's registry; throws when it does
   * not match — that hint is dropped whole.
   */
  parse(event: Envelope): Envelope;
  /** Handles a batch of hinted events (in arrival order); resolves to the ids it took. */
  handle(events: Envelope[]): Promise<Iterable<string>>;
  /**
   * How long after the durable consumer last had to handle an event a hint should have brought
   * (`missed`) hints are declined (default 100 ms). Under load the durable consumer's batches are cheaper than a transaction
   * per hint, and it is handling events anyway; on an idle platform every event is a hint's first.
   */
  busyWindowMs?: number;
  /** Events waiting for the next batch beyond which hints are dropped. Default 2 000. */
  maxPending?: number;
  /** Ids remembered for the durable consumer. Default 20 000. */
  remember?: number;
  logger?: HintLogger;
}

/** Listens for hints while started (the lease holder), handles them in batches, remembers what it took. */
export class HintListener {
  private subscription: Subscription | undefined;
  private pending: Envelope[] = [];
  private running: Promise<void> | undefined;
  private readonly taken = new Set<string>();
  /** Ids of the batch being handled, and the batch's outcome: the ids it took. */
  private inFlight: { ids: Set<string>; outcome: Promise<Set<string>> } | undefined;
  /** When the durable consumer last handled an event itself (performance.now()). */
  private durableAt = Number.NEGATIVE_INFINITY;
  /** Hints taken into a batch, declined (the durable way is busy), and dropped (unparsable, over the limit, or their handler failed). */
  batched = 0;
  declined = 0;
  dropped = 0;
  /** Event ids the handler took, and durable deliveries of them acked unhandled (`took`). */
  tookCount = 0;
  skipped = 0;

  constructor(private readonly options: HintListenerOptions) {}

  start(): void {
    if (this.subscription) return;
    this.subscription = this.options.connection.subscribe(this.options.subject, {
      callback: (error, message) => {
        if (error) return;
        this.receive(message.data);
      },
    });
  }

  /** Stops listening and waits for the batch being handled; what was waiting is dropped. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.pending = [];
    await this.running;
  }

  /**
   * True when a hint's handler took this event id: its durable delivery needs no handling
   * (counted as skipped). An id of the batch being handled waits for that batch.
   */
  async took(eventId: string): Promise<boolean> {
    const inFlight = this.inFlight;
    const taken = this.taken.has(eventId) || (inFlight !== undefined && inFlight.ids.has(eventId) && (await inFlight.outcome).has(eventId));
    if (taken) this.skipped++;
    return taken;
  }

  /** The durable consumer handled an event a hint should have brought: decline hints for `busyWindowMs`. */
  missed(): void {
    this.durableAt = performance.now();
  }

  private receive(data: Uint8Array): void {
    if (performance.now() - this.durableAt < (this.options.busyWindowMs ?? 100)) {
      this.declined++;
      return;
    }
    let events: Envelope[];
    try {
      const body: unknown = JSON.parse(new TextDecoder().decode(data));
      if (!Array.isArray(body) || body.length === 0 || !body.every(isEnvelopeShaped)) throw new Error('a hint is a non-empty array of events');
      events = body.map((event) => this.options.parse(event as Envelope));
    } catch (error) {
      this.options.logger?.warn({ err: error, subject: this.options.subject }, 'event hint dropped: not events of the receiver’s registry');
      this.dropped++;
      return;
    }
    if (this.pending.length + events.length > (this.options.maxPending ?? 2_000)) {
      this.dropped++;
      return;
    }
    this.pending.push(...events);
    this.batched++;
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const outcome = this.handled(batch);
        this.inFlight = { ids: new Set(batch.map((e) => e.id)), outcome };
        for (const id of await outcome) this.remember(id);
        this.inFlight = undefined;
      }
    } finally {
      this.running = undefined;
    }
  }

  /** The ids `handle` took of `batch`; none when it failed (the durable consumer handles them as if no hint had come). */
  private async handled(batch: Envelope[]): Promise<Set<string>> {
    try {
      return new Set(await this.options.handle(batch));
    } catch (error) {
      this.options.logger?.warn(
        { err: error, subject: this.options.subject, events: batch.length },
        'event hints failed; the durable consumer will handle them',
      );
      this.dropped++;
      return new Set();
    }
  }

  private remember(id: string): void {
    this.tookCount++;
    this.taken.add(id);
    if (this.taken.size > (this.options.remember ?? 20_000)) this.taken.delete(this.taken.values().next().value!);
  }
}

/** The envelope fields a receiver orders and remembers by (the registry checks the payload). */
function isEnvelopeShaped(value: unknown): boolean {
  const e = value as Partial<Envelope> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    typeof e.type === 'string' &&
    typeof e.streamId === 'string' &&
    Number.isSafeInteger(e.streamVersion) &&
    (e.streamVersion as number) > 0
  );
}

/** A service's hints: its sender and its listener (started and stopped with the service's lease). */
export class ServiceHints implements EventHints {
  readonly sender: HintSender;
  readonly listener: HintListener;

  constructor(connection: Pick<NatsConnection, 'publish' | 'isClosed' | 'subscribe'>, listen: Omit<HintListenerOptions, 'connection'>) {
    this.sender = new HintSender(connection);
    this.listener = new HintListener({ ...listen, connection });
  }

  send(subject: string, events: readonly Envelope[]): void {
    this.sender.send(subject, events);
  }

  took(eventId: string): Promise<boolean> {
    return this.listener.took(eventId);
  }

  missed(): void {
    this.listener.missed();
  }

  counts(): HintCounts {
    const l = this.listener;
    return { sent: this.sender.sent, batched: l.batched, declined: l.declined, taken: l.tookCount, dropped: l.dropped, skipped: l.skipped };
  }
}
