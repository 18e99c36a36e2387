/*
 * Boots a NestJS service on Fastify: JSON logs, health and metrics over HTTP, an optional NATS
 * transport, and a graceful SIGTERM/SIGINT: mark not-ready, stop taking messages, let in-flight
 * handlers finish, drain NATS, close the HTTP server, exit — or exit anyway after the timeout.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DynamicModule, ExceptionFilter, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { HealthRegistry, type HealthCheck } from './health';

export interface BootstrapOptions {
  name: string;
  module: Type<unknown> | DynamicModule;
  port: number;
  host?: string;
  logger: Logger;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Longest path parameter; a longer one is a 414. Default 100 (Fastify's). */
  maxParamLength?: number;
  /**
   * Reverse proxies (IPs/CIDRs) whose `X-Forwarded-*` headers are believed (TRUSTED_PROXIES).
   * Default none: `request.ip` is then the peer's address, which a client cannot forge.
   */
  trustedProxies?: string[];
  /** NATS transport (request/reply + JetStream consumers) started with the app. */
  transport?: CustomTransportStrategy;
  /** Exception filters for the transport, e.g. messaging's RpcErrorPassthroughFilter. */
  transportFilters?: ExceptionFilter[];
  shutdownTimeoutSeconds?: number;
  /** Named readiness checks for /health/ready, e.g. `{ postgres: postgresCheck(db), nats: natsCheck(nc) }`. */
  healthChecks?: Record<string, HealthCheck>;
  /**
   * The few routes that take a streamed body of another content type (an artifact upload as
   * `application/octet-stream`). There the body reaches the handler as the raw, unread stream,
   * and the handler enforces its own size limit (bodyLimit does not apply to it); on every other
   * route that content type stays a 415. Default none.
   */
  streamedBodies?: Array<{ method: string; url: string; contentType: string }>;
  /** Runs after the app is created and before it listens (routes, hooks, docs). */
  configure?: (app: NestFastifyApplication) => Promise<void> | void;
}

/** Creates, configures and starts a service; resolves with the running app. */
export async function bootstrapService(options: BootstrapOptions): Promise<NestFastifyApplication> {
  const trustedProxies = options.trustedProxies ?? [];
  const app = await NestFactory.create<NestFastifyApplication>(
    options.module,
    new FastifyAdapter({
      bodyLimit: options.bodyLimit ?? 1024 * 1024,
      // Under routerOptions: fastify 5 warns (FSTDEP022, on every start) about a top-level one.
      routerOptions: { maxParamLength: options.maxParamLength ?? 100 },
      trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
      requestIdHeader: false,
      genReqId: requestId,
    }),
    // JSON bodies only: Nest's body parsers would add application/x-www-form-urlencoded, which a
    // cross-site HTML form can send without a CORS preflight. Fastify's own JSON parser stays.
    { bufferLogs: true, bodyParser: false },
  );
  app.useLogger(app.get(PinoNestLogger));
  if (options.transport) {
    // Deferred so the filters below exist before Nest builds the handler proxies (at listen).
    const microservice = app.connectMicroservice({ strategy: options.transport }, { deferInitialization: true });
    for (const filter of options.transportFilters ?? []) microservice.useGlobalFilters(filter);
  }
  const fastify = app.getHttpAdapter().getInstance();
  // ...and Fastify's text/plain parser goes too (a form can send text/plain as well): any body
  // that is not application/json is a 415 on every route, whether the route reads a body or not.
  fastify.removeContentTypeParser(['text/plain']);
  const streamed = options.streamedBodies ?? [];
  for (const contentType of new Set(streamed.map((r) => r.contentType))) {
    fastify.addContentTypeParser(contentType, (request, payload, done) => {
      const allowed = streamed.some((r) => r.contentType === contentType && r.method === request.method && r.url === request.routeOptions.url);
      if (allowed) done(null, payload);
      else done(Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }), undefined);
    });
  }
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  for (const [name, check] of Object.entries(options.healthChecks ?? {})) app.get(HealthRegistry).register(name, check);
  await options.configure?.(app);
  if (options.transport) await app.startAllMicroservices();
  await app.listen(options.port, options.host ?? '0.0.0.0');

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    options.logger.info({ signal }, 'shutting down');
    app.get(HealthRegistry).markShuttingDown();
    const timer = setTimeout(
      () => {
        options.logger.error('shutdown timed out; exiting');
        process.exit(1);
      },
      (options.shutdownTimeoutSeconds ?? 20) * 1000,
    );
    timer.unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        options.logger.error({ err: e }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return app;
}

/**
 * Request id: the caller's `x-request-id` when it is sane, else a new UUID. It is written back
 * into the raw headers so the request logger (pino-http, which sees the raw request) logs the
 * same id Fastify and the error bodies use.
 */
function requestId(req: Pick<IncomingMessage, 'headers'>): string {
  const header = req.headers['x-request-id'];
  const id = typeof header === 'string' && /^[\w.-]{1,128}$/.test(header) ? header : randomUUID();
  req.headers['x-request-id'] = id;
  return id;
}

/** Runs a service's main(); a config or boot error prints one clear message and exits 1. */
export function runMain(name: string, main: () => Promise<unknown>): void {
  main().catch((e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${name} failed to start: ${message}\n`);
    process.exit(1);
  });
}
