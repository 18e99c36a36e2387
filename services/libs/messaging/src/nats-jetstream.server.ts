/*
 * NestJS custom transporter over NATS. `@MessagePattern(subject)` handlers answer core-NATS
 * requests in a queue group (one per service, so instances share load); `@EventPattern(subject)`
 * handlers are fed by durable JetStream pull consumers listed in the options.
 *
 * Invariants (tested in messaging.int.spec.ts and nest-transport.int.spec.ts):
 *  - an event goes to every `@EventPattern` handler whose pattern matches its subject (and whose
 *    `{ consumer }` extra, if any, names the delivering consumer), one after the other; handlers
 *    must be idempotent, as a failure in one redelivers the event to all of them;
 *  - an event is acked only after every matching handler resolved; a failure naks it with the
 *    consumer's backoff delay (`nak(delay)`: a bare nak redelivers at once), and a failure on
 *    delivery `maxDeliver` sends it to the dead-letter subject before terminating it. A message
 *    no handler matches counts as a failure, so nothing is dropped silently;
 *  - a declared consumer's message is checked before any handler (`inbound`, the one policy of
 *    consumer-declaration.ts): handled as parsed, acked unread, or — never valid — logged and acked;
 *  - a delivery being handled is kept with progress signals for up to `maxHandleMs`, so
 *    `ack_wait` stays short and bounds only how long a dead instance's messages wait;
 *  - at most `concurrency` messages per consumer are pulled and handled at once: we only pull
 *    as many as there are free slots, so a pulled message never waits in a buffer while its
 *    ack_wait runs. Concurrency 1 handles a consumer's messages one at a time in stream order
 *    (a nak'd message is retried after the messages behind it);
 *  - a `batch` consumer hands its bound handlers up to `concurrency` messages per call in stream
 *    order (the next batch starts after the previous one settled), and acks or naks each message
 *    by the handler's per-item result;
 *  - `listen` reports ready only after every stream and consumer is provisioned and verified
 *    and the server has registered the request subscriptions;
 *    `close` stops pulling and taking requests, waits for running handlers, then drains.
 *  - a request handler's DomainError is replied as its ErrorBody under ERROR_HEADER; any other
 *    error replies INTERNAL with a generic message and is logged here, never sent.
 * JetStream delivery counts drive redelivery and dead-lettering only; they are never a task
 * attempt number (platform-notes.md).
 */
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Empty, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { isObservable, lastValueFrom } from 'rxjs';
import { DomainError } from '@agentyard/contracts';
import { deadLetterSourceOf, publishDeadLetter } from './dead-letter';
import { ERROR_HEADER, STATUS_HEADER, statusOf, toErrorBody } from './error-reply';
import { connectNats, drainNats, type NatsConnectOptions } from './nats-connection';
import { JetStreamEventContext, NatsRequestContext, type EventBatchItem, type JetStreamDelivery } from './nats-jetstream.context';
import {
  consumerConfigFor,
  consumerDefaults,
  deadLetterStreamConfig,
  ensureConsumer,
  ensureStream,
  ensureStreamIfAbsent,
  type EventConsumerOptions,
  type StreamSpec,
} from './provisioning';
import { assertSubjectPattern, subjectMatches, subjectsOverlap } from './subject-match';
import { extractTrace, runWithTrace, type TraceContext } from './trace-context';

/** Transport id of NatsJetStreamServer, for `@MessagePattern(subject, NATS_JETSTREAM)` scoping. */
export const NATS_JETSTREAM = Symbol('NATS_JETSTREAM');

/** Options of NatsJetStreamServer. */
export interface NatsJetStreamServerOptions {
  /** Service name: the connection's name and the default request/reply queue group. */
  name: string;
  /** Server URL(s). Required unless `connection` is given. */
  servers?: string | string[];
  /** Use this open connection instead of connecting; `close()` then leaves it open. */
  connection?: NatsConnection;
  /** Further client options for the connection we open (see `connectNats` for defaults). */
  connectOptions?: Omit<NatsConnectOptions, 'servers' | 'name'>;
  /** Queue group shared by the service's instances for requests. Default: `name`. */
  queueGroup?: string;
  /** Streams to ensure before the consumers, e.g. `eventStreamConfig('tasks')`. Default none. */
  streams?: StreamSpec[];
  /** Durable pull consumers feeding the `@EventPattern` handlers. Default none. */
  consumers?: EventConsumerOptions[];
  /** Ensure the `DLQ` stream at boot. Default: true when there are consumers. */
  ensureDeadLetterStream?: boolean;
  /** How long one pull waits for messages before pulling again (≥ 1 000). Default 5 000 ms. */
  pullExpiresMs?: number;
  /**
   * Provision the consumers at `listen` but pull from them only after `startConsumers()` (e.g. on
   * the replica holding the service's lease, whose handlers depend on order). Default false.
   */
  deferConsumers?: boolean;
}

/**
 * `@EventPattern` extras understood here: `{ consumer: '<durable>' }` binds a handler to one
 * consumer; without it, every consumer delivering a matching subject calls it.
 */
export interface EventHandlerExtras {
  consumer?: string;
}

type Status = 'connected' | 'disconnected' | 'reconnecting' | 'closed';
type Listener = (...args: unknown[]) => unknown;

/** NestJS transporter: request/reply over core NATS and events from durable JetStream consumers. */
export class NatsJetStreamServer extends Server<Record<string, Listener>, Status> implements CustomTransportStrategy {
  override transportId = NATS_JETSTREAM;
  protected override readonly logger = new Logger(NatsJetStreamServer.name);
  private nc: NatsConnection | undefined;
  private readonly subscriptions: Subscription[] = [];
  private readonly runners: ConsumerRunner[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly listeners = new Map<string, Listener[]>();
  private closing: Promise<void> | undefined;
  private warnedAboutFilter = false;
  private eventRoutes: EventRoute[] | undefined;

  constructor(private readonly options: NatsJetStreamServerOptions) {
    super();
    if (!options.connection && !options.servers) throw new Error('NatsJetStreamServer needs `servers` or `connection`');
    const durables = new Set<string>();
    for (const c of options.consumers ?? []) {
      const key = `${c.stream}/${c.durable}`;
      if (durables.has(key)) throw new Error(`consumer ${key} is listed twice`);
      durables.add(key);
      if ((c.concurrency ?? 1) < 1 || (c.maxDeliver ?? 1) < 1) throw new Error(`consumer ${key}: concurrency and maxDeliver must be ≥ 1`);
      if (c.filterSubject) assertSubjectPattern(c.filterSubject);
    }
  }

  /** Connects, provisions streams and consumers, subscribes; calls back once all is ready. */
  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    this.start().then(
      () => callback(),
      (error: unknown) => {
        void this.close().finally(() => callback(error));
      },
    );
  }

  /** Stops pulling and taking requests, waits for running handlers, drains the connection. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      for (const sub of this.subscriptions) sub.unsubscribe();
      await this.stopConsumers();
      await Promise.allSettled([...this.inFlight]);
      if (!this.options.connection) await drainNats(this.nc);
      this._status$.next('closed');
    })();
    return this.closing;
  }

  /** Registers a listener for connection status events (`disconnect`, `reconnect`, `error`, …). */
  on(event: string, callback: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), callback]);
  }

  /** The NATS connection (after `listen`). */
  unwrap<T>(): T {
    if (!this.nc) throw new Error('NatsJetStreamServer is not listening yet');
    return this.nc as T;
  }

  private async start(): Promise<void> {
    const { options } = this;
    const consumers = options.consumers ?? [];
    const nc = options.connection ?? (await connectNats({ ...options.connectOptions, servers: options.servers ?? [], name: options.name }));
    this.nc = nc;
    void this.watchStatus(nc);

    const routes = this.routes();
    const jsm = await jetstreamManager(nc);
    for (const stream of options.streams ?? []) await ensureStream(jsm, stream);
    if (consumers.length > 0 && options.ensureDeadLetterStream !== false) await ensureStream(jsm, deadLetterStreamConfig());
    for (const c of consumers) {
      // A declared consumer's stream may belong to a service that has not booted yet.
      const { streamConfig } = c as { streamConfig?: StreamSpec };
      if (streamConfig) await ensureStreamIfAbsent(jsm, streamConfig);
      await ensureConsumer(jsm, c.stream, consumerConfigFor(c));
    }
    this.warnAboutUnreachableRoutes(routes.events, consumers);
    for (const c of consumers.filter((c) => c.batch)) {
      const unbound = routes.events.filter((r) => !r.consumer && (!c.filterSubject || subjectsOverlap(r.pattern, c.filterSubject)));
      if (unbound.length > 0)
        throw new Error(
          `batch consumer ${c.durable}: handler '${unbound[0]!.pattern}' must be bound to it with { consumer: '${c.durable}' } (it receives arrays)`,
        );
    }

    for (const { pattern, handler } of routes.requests) {
      const queue = options.queueGroup ?? options.name;
      const sub = nc.subscribe(pattern, {
        queue,
        callback: (error, msg) => {
          if (error) return this.logger.error(`subscription ${pattern} failed: ${error.message}`);
          this.track(this.handleRequest(handler, msg));
        },
      });
      this.subscriptions.push(sub);
    }
    // A round trip to the server: our SUBs are registered there before we report ready, so a
    // request sent right after `listen` can reach this instance (its queue group included).
    await nc.flush();

    this.eventRoutes = routes.events;
    if (!options.deferConsumers) await this.startConsumers();
    this._status$.next('connected');
  }

  /** Starts pulling from every consumer (at `listen` unless `deferConsumers`); a no-op while pulling. */
  async startConsumers(): Promise<void> {
    const { nc, eventRoutes } = this;
    if (!nc || !eventRoutes) throw new Error('NatsJetStreamServer is not listening yet');
    if (this.runners.length > 0 || this.closing) return;
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    for (const c of this.options.consumers ?? []) {
      const runner = new ConsumerRunner(
        nc,
        js,
        jsm,
        c,
        this.options.pullExpiresMs ?? 5_000,
        this.logger,
        (msg, data, delivery) => this.dispatchEvent(msg, data, delivery, eventRoutes),
        (items) => this.dispatchBatch(items, eventRoutes),
      );
      this.runners.push(runner);
      await runner.start();
    }
  }

  /**
   * Stops pulling and waits for the deliveries being handled (what they did not ack is redelivered
   * to whoever pulls next). Request handlers keep running. `startConsumers()` starts again.
   */
  async stopConsumers(): Promise<void> {
    const runners = this.runners.splice(0);
    await Promise.all(runners.map((r) => r.stop()));
  }

  /** Splits Nest's handlers into request subjects and event patterns; validates them. */
  private routes(): { requests: { pattern: string; handler: MessageHandler }[]; events: EventRoute[] } {
    const requests: { pattern: string; handler: MessageHandler }[] = [];
    const events: EventRoute[] = [];
    for (const [pattern, head] of this.messageHandlers) {
      try {
        assertSubjectPattern(pattern);
      } catch (error) {
        throw new Error(`${(error as Error).message} — NatsJetStreamServer patterns are NATS subjects (strings)`);
      }
      if (!head.isEventHandler) {
        requests.push({ pattern, handler: head });
        continue;
      }
      for (let h: MessageHandler | undefined = head; h; h = h.next) {
        const extras = (h.extras ?? {}) as EventHandlerExtras;
        events.push({ pattern, handler: h, consumer: extras.consumer });
      }
    }
    return { requests, events };
  }

  private async handleRequest(handler: MessageHandler, msg: Msg): Promise<void> {
    const trace = extractTrace(msg.headers);
    const ctx = new NatsRequestContext([msg.subject, msg.headers, trace]);
    let data: unknown;
    try {
      data = msg.data.length === 0 ? undefined : JSON.parse(msg.string());
    } catch {
      return this.replyError(msg, new DomainError('VALIDATION_FAILED', 'request body is not valid JSON'), trace);
    }
    await runWithTrace(trace, async () => {
      try {
        const value = await settle(await handler(data, ctx));
        if (msg.reply) msg.respond(value === undefined ? Empty : JSON.stringify(value));
      } catch (error) {
        this.replyError(msg, error, trace);
      }
    });
  }

  private replyError(msg: Msg, error: unknown, trace: TraceContext): void {
    const { body, expected } = toErrorBody(error, trace.traceId);
    if (!expected) this.logUnexpected(`request on ${msg.subject} failed`, error, trace);
    if (!msg.reply) return;
    const hdrs = natsHeaders();
    hdrs.set(ERROR_HEADER, '1');
    hdrs.set(STATUS_HEADER, String(statusOf(body.error)));
    try {
      msg.respond(JSON.stringify(body), { headers: hdrs });
    } catch (respondError) {
      this.logger.error(`cannot reply to ${msg.subject}: ${(respondError as Error).message}`);
    }
  }

  /** Runs every handler matching the message's subject (and consumer); throws on any failure. */
  private async dispatchEvent(msg: JsMsg, data: unknown, delivery: JetStreamDelivery, routes: EventRoute[]): Promise<void> {
    const fallback = (data as { metadata?: { traceparent?: string } } | null)?.metadata?.traceparent;
    const trace = extractTrace(msg.headers, typeof fallback === 'string' ? fallback : undefined);
    const ctx = new JetStreamEventContext([msg.subject, msg.headers, trace, delivery]);
    const matching = routes.filter((r) => (!r.consumer || r.consumer === delivery.consumer) && subjectMatches(r.pattern, msg.subject));
    if (matching.length === 0) throw new Error(`no @EventPattern handler matches ${msg.subject} on consumer ${delivery.consumer}`);
    await runWithTrace(trace, async () => {
      for (const route of matching) {
        try {
          await settle(await route.handler(data, ctx));
        } catch (error) {
          // Logged once by the runner, which knows whether it retries or dead-letters.
          if (isNestSwallowedError(error)) this.warnAboutFilter();
          throw error;
        }
      }
    });
  }

  /**
   * Hands each handler bound to the batch's consumer the items its pattern matches; returns per
   * item the first failure (an item no handler matches fails too).
   */
  private async dispatchBatch(items: EventBatchItem[], routes: EventRoute[]): Promise<unknown[]> {
    const consumer = items[0]?.delivery.consumer;
    const failures: unknown[] = items.map(() => undefined);
    const matched = items.map(() => false);
    for (const route of routes.filter((r) => r.consumer === consumer)) {
      const indexes = items.flatMap((item, i) => (subjectMatches(route.pattern, item.subject) ? [i] : []));
      if (indexes.length === 0) continue;
      const first = items[indexes[0]!]!;
      const trace = extractTrace(first.headers);
      const ctx = new JetStreamEventContext([first.subject, first.headers, trace, first.delivery]);
      let results: unknown;
      try {
        results = await runWithTrace(trace, async () =>
          settle(
            await route.handler(
              indexes.map((i) => items[i]),
              ctx,
            ),
          ),
        );
      } catch (error) {
        if (isNestSwallowedError(error)) this.warnAboutFilter();
        results = indexes.map(() => error ?? new Error('batch handler failed'));
      }
      const perItem: unknown[] = Array.isArray(results) ? results : [];
      indexes.forEach((index, k) => {
        matched[index] = true;
        if (failures[index] === undefined) failures[index] = perItem[k];
      });
    }
    items.forEach((item, i) => {
      if (!matched[i]) failures[i] = new Error(`no @EventPattern handler matches ${item.subject} on consumer ${consumer}`);
    });
    return failures;
  }

  private logUnexpected(what: string, error: unknown, trace: TraceContext): void {
    if (isNestSwallowedError(error)) return this.warnAboutFilter();
    const detail = error instanceof Error ? (error.stack ?? error.message) : safeJson(error);
    this.logger.error(`${what} [trace ${trace.traceId}]: ${detail}`);
  }

  private warnAboutFilter(): void {
    if (this.warnedAboutFilter) return;
    this.warnedAboutFilter = true;
    this.logger.warn(
      "Nest's default RPC exception filter replaced a handler error (logged above by RpcExceptionsHandler); " +
        'DomainErrors lose their code. Register RpcErrorPassthroughFilter (app.useGlobalFilters or @UseFilters).',
    );
  }

  private warnAboutUnreachableRoutes(routes: EventRoute[], consumers: EventConsumerOptions[]): void {
    for (const route of routes) {
      const feeding = consumers.filter(
        (c) => (!route.consumer || c.durable === route.consumer) && (!c.filterSubject || subjectsOverlap(route.pattern, c.filterSubject)),
      );
      if (feeding.length === 0) {
        const bound = route.consumer ? ` bound to consumer '${route.consumer}'` : '';
        this.logger.warn(`@EventPattern('${route.pattern}')${bound} matches no configured consumer's filterSubject: it will never be called`);
      }
    }
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((error: unknown) => this.logger.error(`unhandled: ${(error as Error)?.message}`)).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this._status$.next('disconnected');
      if (s.type === 'reconnecting') this._status$.next('reconnecting');
      if (s.type === 'reconnect') this._status$.next('connected');
      for (const listener of this.listeners.get(s.type) ?? []) listener(s);
    }
  }
}

interface EventRoute {
  pattern: string;
  handler: MessageHandler;
  consumer: string | undefined;
}

/**
 * Pulls from one durable consumer with bounded concurrency, and settles each message: ack on
 * success, `nak(backoff)` on failure, dead letter + term on the last allowed delivery.
 */
class ConsumerRunner {
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private batch: ConsumerMessages | undefined;
  private stopped = false;
  /** Deliveries being handled: what the concurrency bound counts. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Max-deliveries advisories being dead-lettered (not counted against concurrency). */
  private readonly advising = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  /** Batch consumers: messages waiting for the next batch, and whether one is being handled. */
  private queued: Array<{ item: EventBatchItem; resolve: () => void; reject: (reason: unknown) => void }> = [];
  private draining = false;
  private readonly concurrency: number;
  private readonly maxDeliver: number;
  private readonly backoffMs: readonly number[];
  private advisory: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: EventConsumerOptions,
    private readonly pullExpiresMs: number,
    private readonly logger: Logger,
    private readonly handle: (msg: JsMsg, data: unknown, delivery: JetStreamDelivery) => Promise<void>,
    private readonly handleBatch: (items: EventBatchItem[]) => Promise<unknown[]>,
  ) {
    this.concurrency = options.concurrency ?? consumerDefaults.concurrency;
    this.maxDeliver = options.maxDeliver ?? consumerDefaults.maxDeliver;
    this.backoffMs = options.backoffMs?.length ? options.backoffMs : consumerDefaults.backoffMs;
  }

  async start(): Promise<void> {
    const { stream, durable } = this.options;
    this.consumer = await this.js.consumers.get(stream, durable);
    // One instance per queue group takes each advisory; the dead letter's msg id dedups the rest.
    this.advisory = this.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${durable}`, {
      queue: `${durable}-dead-letters`,
      callback: (error, msg) => {
        if (error) return;
        const p: Promise<void> = this.onMaxDeliveries(msg).finally(() => this.advising.delete(p));
        this.advising.add(p);
      },
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.advisory?.unsubscribe();
    this.stopped = true;
    this.wake();
    await this.batch?.close().catch(() => undefined);
    await this.loop;
    await Promise.allSettled([...this.inFlight, ...this.advising]);
  }

  private async run(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    while (!this.stopped) {
      while (this.inFlight.size >= this.concurrency && !this.stopped) await new Promise<void>((r) => this.waiters.push(r));
      if (this.stopped) break;
      try {
        this.batch = await consumer.fetch({ max_messages: this.concurrency - this.inFlight.size, expires: Math.max(1_000, this.pullExpiresMs) });
        if (this.stopped) await this.batch.close();
        for await (const msg of this.batch) {
          const p: Promise<void> = this.handleDelivery(msg).finally(() => {
            this.inFlight.delete(p);
            this.wake();
          });
          this.inFlight.add(p);
        }
      } catch (error) {
        if (this.stopped) break;
        this.logger.warn(`pull from ${this.name} failed, retrying in 1 s: ${(error as Error).message}`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 1_000);
          this.waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      } finally {
        this.batch = undefined;
      }
    }
  }

  private async handleDelivery(msg: JsMsg): Promise<void> {
    const delivery: JetStreamDelivery = {
      stream: msg.info.stream,
      consumer: this.options.durable,
      streamSequence: msg.info.streamSequence,
      deliveryCount: msg.info.deliveryCount,
      maxDeliver: this.maxDeliver,
    };
    // Keep the delivery while the handler runs (up to maxHandleMs): ack_wait can then stay short,
    // and it only bounds how long a message handed to a dead instance waits for another.
    const progress = this.keepAlive(msg);
    try {
      await this.settle(msg, delivery);
    } finally {
      if (progress) clearInterval(progress);
    }
  }

  private keepAlive(msg: JsMsg): NodeJS.Timeout | undefined {
    const ackWaitMs = this.options.ackWaitMs ?? consumerDefaults.ackWaitMs;
    const maxHandleMs = this.options.maxHandleMs ?? consumerDefaults.maxHandleMs;
    if (maxHandleMs <= ackWaitMs) return undefined;
    const until = Date.now() + maxHandleMs - ackWaitMs;
    const timer = setInterval(
      () => {
        if (Date.now() > until) return clearInterval(timer);
        msg.working();
      },
      Math.max(50, Math.floor(ackWaitMs / 3)),
    );
    timer.unref();
    return timer;
  }

  private async settle(msg: JsMsg, delivery: JetStreamDelivery): Promise<void> {
    let data: unknown;
    try {
      data = JSON.parse(msg.string());
    } catch {
      // A payload no retry can fix: dead-letter it now rather than after maxDeliver tries.
      return this.deadLetter(msg, delivery, 'payload is not valid JSON');
    }
    const verdict = this.options.inbound?.(data) ?? { handle: data };
    if ('skip' in verdict) return msg.ack();
    if ('drop' in verdict) {
      // The shared policy (consumer-declaration.ts): it can never be valid, so a redelivery would
      // fail the same way forever. Logged and acked.
      const details = verdict.details === undefined ? '' : ` ${safeJson(verdict.details).slice(0, 2_000)}`;
      this.logger.warn(`${this.name} seq ${delivery.streamSequence} (${msg.subject}): ${verdict.drop}${details}`);
      return msg.ack();
    }
    data = verdict.handle;
    try {
      await (this.options.batch ? this.inBatch(msg, data, delivery) : this.handle(msg, data, delivery));
      msg.ack();
    } catch (error) {
      const reason = describe(error);
      if (delivery.deliveryCount >= this.maxDeliver) return this.deadLetter(msg, delivery, reason);
      const delay = this.backoffMs[Math.min(delivery.deliveryCount, this.backoffMs.length) - 1] ?? 0;
      // The stack once, on the first failure; later ones repeat it.
      const detail = delivery.deliveryCount === 1 && error instanceof Error && error.stack ? error.stack : reason;
      this.logger.warn(
        `${this.name} seq ${delivery.streamSequence} (${msg.subject}) failed on delivery ${delivery.deliveryCount}/${this.maxDeliver}, retry in ${delay} ms: ${detail}`,
      );
      // nak(delay), never a bare nak(): that redelivers at once and ignores any backoff.
      msg.nak(delay);
    }
  }

  /** Queues a message for the next batch; settles with that message's own outcome. */
  private inBatch(msg: JsMsg, data: unknown, delivery: JetStreamDelivery): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ item: { data, subject: msg.subject, headers: msg.headers, delivery }, resolve, reject });
      // On the next macrotask, so the messages a pull already buffered join this batch.
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const taken = this.queued.splice(0, this.concurrency);
        let failures: unknown[];
        try {
          failures = await this.handleBatch(taken.map((q) => q.item));
        } catch (error) {
          failures = taken.map(() => error ?? new Error('batch handler failed'));
        }
        taken.forEach((q, i) => (failures[i] === undefined ? q.resolve() : q.reject(failures[i])));
      }
    } finally {
      this.draining = false;
    }
  }

  private async deadLetter(msg: JsMsg, delivery: JetStreamDelivery, reason: string): Promise<void> {
    try {
      await publishDeadLetter(this.js, deadLetterSourceOf(msg), this.options.durable, reason);
      msg.term();
      this.logger.error(`${this.name} seq ${delivery.streamSequence} dead-lettered after ${delivery.deliveryCount} deliveries: ${reason}`);
    } catch (error) {
      // Left unacked rather than terminated: the message stays in the stream for a replay.
      this.logger.error(`${this.name} seq ${delivery.streamSequence}: dead-letter publish failed, message left unacked: ${describe(error)}`);
    }
  }

  /**
   * The server gave up on a message whose last delivery was never settled (the handler ran past
   * ack_wait, or its process died): dead-letter it from the stream, since no handler will.
   */
  private async onMaxDeliveries(advisory: Msg): Promise<void> {
    const { stream, durable } = this.options;
    try {
      const { stream_seq: sequence, deliveries } = advisory.json<{ stream_seq: number; deliveries: number }>();
      const stored = await this.jsm.streams.getMessage(stream, { seq: sequence });
      if (!stored) return this.logger.error(`${this.name} seq ${sequence} reached max deliveries but is no longer in the stream`);
      const reason = `no result after ${deliveries} deliveries (the handler ran past ack_wait or its process stopped)`;
      await publishDeadLetter(this.js, { stream, subject: stored.subject, sequence, deliveries, data: stored.data, headers: stored.header }, durable, reason);
      this.logger.error(`${this.name} seq ${sequence} dead-lettered: ${reason}`);
    } catch (error) {
      this.logger.error(`${this.name}: cannot dead-letter after a max-deliveries advisory: ${describe(error)}`);
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private get name(): string {
    return `${this.options.stream}/${this.options.durable}`;
  }
}

/** Resolves a handler result that may be a value, a Promise or an Observable (last value). */
async function settle(result: unknown): Promise<unknown> {
  let value = await result;
  while (isObservable(value)) value = await lastValueFrom(value, { defaultValue: undefined });
  return value;
}

/** Nest's default filter turns unknown errors into this object (and logs the original). */
function isNestSwallowedError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    !(error instanceof Error) &&
    (error as { status?: unknown }).status === 'error' &&
    (error as { message?: unknown }).message === 'Internal server error'
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return safeJson(error);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
