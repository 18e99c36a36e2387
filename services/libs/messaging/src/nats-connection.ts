/*
 * One NATS connection per process, named after the service, that never gives up reconnecting:
 * a broker restart or a rolling upgrade must not leave a service silently disconnected. Shutdown
 * drains (finishes in-flight subscriptions and flushes pending publishes and acks) instead of
 * closing, so acks and replies already produced are not thrown away.
 */
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

/** Options for `connectNats`; anything of the client's own options may be passed through. */
export interface NatsConnectOptions extends Omit<NodeConnectionOptions, 'servers' | 'name'> {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name shown in server monitoring: use the service name. */
  name: string;
  /** A credentials file (user JWT + seed) to authenticate with; read once, at connect. */
  credsFile?: string;
}

/**
 * Connects with our defaults: reconnect forever (`maxReconnectAttempts: -1`), keep trying when
 * the server is not up yet (`waitOnFirstConnect: true`), 1 s between attempts, and no async
 * traces (`noAsyncTraces: true`): with them the client builds two Error objects (stack capture)
 * for every request and JetStream publish in case it fails — a few percent of a busy service's
 * CPU — while a failed request's message (subject, timeout, no responders) says what we need.
 * Each default can be overridden through `options`.
 */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const { credsFile, ...rest } = options;
  let authenticator: NodeConnectionOptions['authenticator'];
  if (credsFile) {
    try {
      authenticator = credsAuthenticator(readFileSync(credsFile));
    } catch (error) {
      throw new Error(`cannot read the NATS credentials file ${credsFile} (NATS_CREDS_FILE): ${(error as Error).message}`, { cause: error });
    }
  }
  const nc = await connect({
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 1_000,
    noAsyncTraces: true,
    ...(authenticator ? { authenticator } : {}),
    ...rest,
  });
  ConnectionState.of(nc); // followed from the start: one made during an outage would take it for up
  return nc;
}

/** Drains `nc` unless it is already closed or draining; never throws (shutdown path). */
export async function drainNats(nc: NatsConnection | undefined): Promise<void> {
  if (!nc || nc.isClosed() || nc.isDraining()) return;
  try {
    await nc.drain();
  } catch {
    await nc.close().catch(() => undefined);
  }
}

/**
 * Holds a service's NATS connection for Nest: register it with `useValue`, call `connect()` in a
 * factory (or let `onModuleInit` do it) and it drains on application shutdown
 * (`app.enableShutdownHooks()`).
 */
export class NatsConnectionProvider implements OnModuleInit, OnApplicationShutdown {
  private nc: NatsConnection | undefined;
  private pending: Promise<NatsConnection> | undefined;

  constructor(private readonly options: NatsConnectOptions) {}

  /** Connects once; later calls return the same connection. */
  async connect(): Promise<NatsConnection> {
    this.pending ??= connectNats(this.options).then((nc) => (this.nc = nc));
    return this.pending;
  }

  /** The live connection; throws before `connect()` resolved. */
  get connection(): NatsConnection {
    if (!this.nc) throw new Error(`NATS connection "${this.options.name}" is not connected yet: await connect() first`);
    return this.nc;
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await drainNats(this.nc);
  }
}

/**
 * Whether a connection is up, followed from its status events. nats.js (3.4) drops whatever is
 * published while it is disconnected — each reconnect attempt resets its outbound buffer — so a
 * publish or request made during an outage never reaches the server and only its timeout ends
 * the wait. Callers that can wait for the connection first do (`whenConnected`), and one waiting
 * for an ack can give up at the reconnect that makes it hopeless (`raceReconnect`). Listeners are
 * removed once their wait is over: a wait per publish must not pile up on a connection that stays
 * up for days. One per connection (`ConnectionState.of`). Tested in nats-reconnect.int.spec.ts.
 */
export class ConnectionState {
  private static readonly states = new WeakMap<object, ConnectionState>();
  private up = true;
  /** performance.now() of the last reconnect (none yet: -Infinity). */
  private reconnectedAt = Number.NEGATIVE_INFINITY;
  /** Called at the next reconnect, then forgotten. */
  private readonly listeners = new Set<() => void>();

  private constructor(connection: Pick<NatsConnection, 'status'>) {
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect') this.up = false;
        else if (status.type === 'reconnect') {
          this.up = true;
          this.reconnectedAt = performance.now();
          const listeners = [...this.listeners];
          this.listeners.clear();
          for (const listener of listeners) listener();
        }
      }
    })().catch(() => undefined);
  }

  /** The state of `connection` (created on first use; a connection made up is assumed up). */
  static of(connection: Pick<NatsConnection, 'status'>): ConnectionState {
    let state = ConnectionState.states.get(connection);
    if (!state) ConnectionState.states.set(connection, (state = new ConnectionState(connection)));
    return state;
  }

  get connected(): boolean {
    return this.up;
  }

  /** Milliseconds since the last reconnect (Infinity when it never reconnected). */
  get sinceReconnectMs(): number {
    return performance.now() - this.reconnectedAt;
  }

  /** Waits registered for the next reconnect (none may be left once they ended: a test checks). */
  get waiting(): number {
    return this.listeners.size;
  }

  /** Calls `listener` at the next reconnect (once); returns the function that forgets it. */
  onNextReconnect(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with `work`'s value, or with 'reconnected' when the connection comes back first. */
  async raceReconnect<T>(work: Promise<T>): Promise<T | 'reconnected'> {
    let forget: () => void = () => undefined;
    const back = new Promise<'reconnected'>((resolve) => (forget = this.onNextReconnect(() => resolve('reconnected'))));
    try {
      return await Promise.race([work, back]);
    } finally {
      forget();
    }
  }

  /** Resolves true at once when connected, else at the reconnect (true) or after `timeoutMs` (false). */
  async whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.up) return true;
    let timer: NodeJS.Timeout | undefined;
    const back = await this.raceReconnect(new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))));
    clearTimeout(timer);
    return back === 'reconnected';
  }
}
