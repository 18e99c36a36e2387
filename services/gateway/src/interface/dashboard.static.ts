/*
 * Serves the built dashboard (web/dist) at `/`. Hashed assets under /assets are cached for a
 * year; any other GET that is not an API, docs, health, metrics, downloads or WebSocket path gets index.html
 * so client-side routes (/tasks/…) survive a reload. Without a build, `/` says how to make one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const serverPaths = /^\/(api|ws|health|metrics|downloads)(\/|$)/;

export async function serveDashboard(fastify: FastifyInstance, distDir: string): Promise<void> {
  if (!existsSync(join(distDir, 'index.html'))) {
    fastify.get('/', (_request, reply) => {
      void reply
        .type('text/html')
        .send(
          '<!doctype html><title>Agentyard</title><p>The dashboard is not built: run <code>npm run build:web</code>. The API docs are at <a href="/api/docs">/api/docs</a>.</p>',
        );
    });
    return;
  }
  await fastify.register(fastifyStatic, {
    root: distDir,
    prefix: '/',
    wildcard: false,
    setHeaders: (res, path) => {
      void res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // A wildcard route ranks below every static and parametric route (find-my-way), so the API's
  // own routes still win; Nest already owns the not-found handler, hence a route, not a handler.
  fastify.get('/*', (request, reply) => {
    if (!serverPaths.test(request.url) && request.headers.accept?.includes('text/html')) {
      return reply.type('text/html').header('cache-control', 'no-cache').sendFile('index.html');
    }
    return reply.status(404).send({ error: 'NOT_FOUND', message: 'no such endpoint', requestId: request.id });
  });
}
