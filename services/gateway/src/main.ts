/*
 * The HTTP/WebSocket edge. It owns no data: it validates, authenticates, forwards commands and
 * queries to the owning service over NATS request/reply, and pushes each user their own events.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import cors from '@fastify/cors';
import { jwtSettings, revokedFamiliesBucket, revokedTokensBucket, rpcCatalog, streamName, liveContexts } from '@agentyard/contracts';
import {
  AccessTokenVerifier,
  bootstrapService,
  createLogger,
  HealthRegistry,
  loadConfig,
  MetricsRegistry,
  natsCheck,
  RevocationList,
  runMain,
  serveInternalEndpoints,
  type InternalEndpoints,
} from '@agentyard/service-kit';
import { connectNats, drainNats, NatsRpcClient } from '@agentyard/messaging';
import { gatewayConfigSchema } from './config';
import { GatewayModule } from './gateway.module';
import { EventFeed } from './infrastructure/event-feed';
import { discardRestOfBody, sendError, toErrorResponse } from './interface/http-error.filter';
import { CreateAdmission } from './application/create-admission';
import { createTaskPath } from './interface/tasks.controller';
import { OwnershipIndex } from './infrastructure/ownership-index';
import { LiveEventsHub } from './interface/live-events.ws';
import { buildOpenApiDocument } from './interface/openapi';
import { artifactUploadRoute } from './interface/artifacts.controller';
import { serveDashboard } from './interface/dashboard.static';
import { ApiTokenResolver } from './infrastructure/api-token-resolver';
import { RevocationMirror, RevocationMirrors } from './infrastructure/revocation-mirror';
import { registerSecurityHeaders } from './interface/security-headers';

async function main(): Promise<void> {
  const config = loadConfig(gatewayConfigSchema);
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const nc = await connectNats({ servers: config.NATS_URL, name: 'gateway', credsFile: config.NATS_CREDS_FILE });
  const rpc = new NatsRpcClient(nc, { defaultTimeoutMs: config.RPC_TIMEOUT_MS });
  const revocations = await RevocationList.open(nc, revokedTokensBucket, jwtSettings.accessTtlSeconds * 1000);
  const revokedFamilies = await RevocationList.open(nc, revokedFamiliesBucket, jwtSettings.accessTtlSeconds * 1000);
  // Checked from in-memory copies of the two buckets (revocation-mirror.ts): no round trip per request.
  const keepRevokedMs = 2 * jwtSettings.accessTtlSeconds * 1000;
  const revoked = new RevocationMirrors(new RevocationMirror(revocations, nc, keepRevokedMs), new RevocationMirror(revokedFamilies, nc, keepRevokedMs));
  await revoked.start();
  const verifier = new AccessTokenVerifier({
    issuer: jwtSettings.issuer,
    audience: jwtSettings.audience,
    loadKeys: async () => (await rpc.call(rpcCatalog.auth.getSigningKeys, {})).keys,
    isRevoked: (jti) => revoked.tokens.isRevoked(jti),
    isFamilyRevoked: (familyId) => revoked.families.isRevoked(familyId),
  });
  const feed = new EventFeed(nc, liveContexts.map(streamName));
  const apiTokens = new ApiTokenResolver(rpc, config.API_TOKEN_CACHE_TTL_MS);
  const hub = new LiveEventsHub(verifier, apiTokens, feed, new OwnershipIndex(rpc), nc, { revokedFamilies, allowedOrigins: config.CORS_ORIGINS });
  await hub.start(); // watches revoked sessions at once; the feed starts with the first authenticated WebSocket
  /** The internal port's server, started once the public port listens (closed on shutdown). */
  const internal: { endpoints?: InternalEndpoints } = {};

  const app = await bootstrapService({
    name: 'gateway',
    module: GatewayModule.forRoot({
      logger,
      rpc,
      verifier,
      apiTokens,
      revoked,
      artifactMaxBytes: config.ARTIFACT_MAX_BYTES,
      downloadsDir: config.DOWNLOADS_DIR,
      createAdmission: {
        targetMs: config.CREATE_TARGET_MS,
        minLimit: Math.min(config.CREATE_MIN_IN_FLIGHT, config.CREATE_MAX_IN_FLIGHT),
        maxLimit: config.CREATE_MAX_IN_FLIGHT,
        maxLoopDelayMs: config.CREATE_MAX_LOOP_DELAY_MS,
      },
      onShutdown: async () => {
        await internal.endpoints?.close();
        await hub.close();
        await feed.stop();
        revoked.stop();
        await drainNats(nc);
      },
    }),
    port: config.PORT,
    host: config.HOST,
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Room for an over-long artifact name to reach its pipe and get a 400 that says the rule (not a bare 414).
    maxParamLength: 256,
    // The artifact upload streams its raw body to the tasks service, up to ARTIFACT_MAX_BYTES.
    streamedBodies: [{ ...artifactUploadRoute, contentType: 'application/octet-stream' }],
    trustedProxies: config.TRUSTED_PROXIES,
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    healthChecks: { nats: natsCheck(nc) },
    configure: async (app) => {
      const fastify = app.getHttpAdapter().getInstance();
      await registerSecurityHeaders(fastify);
      if (config.ROUTE_LIST_FILE) recordRoutes(fastify, config.ROUTE_LIST_FILE);
      await fastify.register(cors, { origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false, credentials: true });
      // Creates over the gate's limits are refused here, before the body is parsed or the token verified.
      const admission = app.get(CreateAdmission);
      fastify.addHook('onRequest', (request, reply, done) => {
        const refusal = request.method === 'POST' && request.url.split('?')[0] === createTaskPath ? admission.early() : undefined;
        // Answering from the hook ends the request: Fastify wants no done() after a reply.
        if (refusal) sendError(request, reply, refusal);
        else done();
      });
      // Errors raised by Fastify itself (bad JSON, too large) before Nest sees the request.
      fastify.setErrorHandler((error: unknown, request, reply) => {
        const { status, body } = toErrorResponse(error);
        if (status === 413) discardRestOfBody(request.raw, reply);
        void reply.status(status).send({ ...body, requestId: request.id });
      });
      await serveDashboard(fastify, config.WEB_DIST_DIR);
      SwaggerModule.setup('api/docs', app, buildOpenApiDocument() as unknown as OpenAPIObject, { jsonDocumentUrl: 'api/docs/openapi.json' });
      fastify.server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
    },
  });
  // /metrics is not on the public port: Prometheus scrapes it here, with health, on HTTP_PORT.
  internal.endpoints = await serveInternalEndpoints({ port: config.HTTP_PORT, metrics: app.get(MetricsRegistry), health: app.get(HealthRegistry) });
  logger.info({ port: config.PORT, internalPort: internal.endpoints.port }, 'gateway listening');
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
