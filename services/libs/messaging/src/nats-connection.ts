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
  return connect({
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 1_000,
    noAsyncTraces: true,
    ...(authenticator ? { authenticator } : {}),
    ...rest,
  });
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
