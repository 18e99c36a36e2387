/*
 * The HTTP/WebSocket edge. It owns no data: it validates, authenticates, forwards commands and
 * queries to the owning service over NATS request/reply, and pushes each user their own events.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import cors from '@fastify/cors';
import { authSubjects, jwtSettings, revokedTokensBucket, signingKeysSchema, streamName } from '@agentyard/contracts';
import { AccessTokenVerifier, bootstrapService, createLogger, loadConfig, natsCheck, RevocationList, runMain } from '@agentyard/service-kit';
import { connectNats, drainNats, NatsRpcClient } from '@agentyard/messaging';
import { gatewayConfigSchema } from './config';
import { GatewayModule } from './gateway.module';
import { EventFeed } from './infrastructure/event-feed';
import { toErrorResponse } from './interface/http-error.filter';
import { OwnershipIndex } from './infrastructure/ownership-index';
import { LiveEventsHub } from './interface/live-events.ws';
import { buildOpenApiDocument } from './interface/openapi';
import { serveDashboard } from './interface/dashboard.static';
import { ApiTokenResolver } from './infrastructure/api-token-resolver';

async function main(): Promise<void> {
  const config = loadConfig(gatewayConfigSchema);
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const nc = await connectNats({ servers: config.NATS_URL, name: 'gateway', credsFile: config.NATS_CREDS_FILE });
  const rpc = new NatsRpcClient(nc, { defaultTimeoutMs: config.RPC_TIMEOUT_MS });
  const revocations = await RevocationList.open(nc, revokedTokensBucket, jwtSettings.accessTtlSeconds * 1000);
  const verifier = new AccessTokenVerifier({
    issuer: jwtSettings.issuer,
    audience: jwtSettings.audience,
    loadKeys: async () => (await rpc.request(authSubjects.getSigningKeys, {}, { schema: signingKeysSchema })).keys,
    isRevoked: (jti) => revocations.isRevoked(jti),
  });
  const feed = new EventFeed(nc, (['auth', 'tasks', 'workers', 'allocation'] as const).map(streamName));
  const apiTokens = new ApiTokenResolver(rpc, config.API_TOKEN_CACHE_TTL_MS);
  const hub = new LiveEventsHub(verifier, apiTokens, feed, new OwnershipIndex(rpc), nc);

  await bootstrapService({
    name: 'gateway',
    module: GatewayModule.forRoot({
      logger,
      rpc,
      verifier,
      apiTokens,
      onShutdown: async () => {
        await hub.close();
        await feed.stop();
        await drainNats(nc);
      },
    }),
    port: config.PORT,
    host: config.HOST,
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    healthChecks: { nats: natsCheck(nc) },
    configure: async (app) => {
      const fastify = app.getHttpAdapter().getInstance();
      if (config.ROUTE_LIST_FILE) recordRoutes(fastify, config.ROUTE_LIST_FILE);
      // Only JSON bodies: a text/plain body would otherwise arrive as a string (400 instead of 415).
      fastify.removeContentTypeParser(['text/plain']);
      await fastify.register(cors, { origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false, credentials: true });
      // Errors raised by Fastify itself (bad JSON, too large) before Nest sees the request.
      fastify.setErrorHandler((error: unknown, request, reply) => {
        const { status, body } = toErrorResponse(error);
        void reply.status(status).send({ ...body, requestId: request.id });
      });
      await serveDashboard(fastify, config.WEB_DIST_DIR);
      SwaggerModule.setup('api/docs', app, buildOpenApiDocument() as unknown as OpenAPIObject, { jsonDocumentUrl: 'api/docs/openapi.json' });
      fastify.server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
    },
  });
  hub.start(); // the feed starts with the first authenticated WebSocket
  logger.info({ port: config.PORT }, 'gateway listening');
}

/**
 * Writes every route Fastify registers (Nest's controllers, docs, dashboard, health) to `file`
 * once the server is ready. `onRoute` sees each one as it is added, which a route listing parsed
 * from `printRoutes()` text could not promise.
 */
function recordRoutes(fastify: FastifyInstance, file: string): void {
  const routes: Array<{ method: string; url: string }> = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  fastify.addHook('onReady', async () => writeFileSync(file, JSON.stringify(routes)));
}

runMain('gateway', main);
