/*
 * Security headers on every answer of the edge — the dashboard, the API, the docs — with
 * helmet, whose middleware is built once: @fastify/helmet built it again on every request
 * (`helmet(configuration)` in its onRequest hook, parsing the CSP directives each time), ~3 % of
 * the gateway's CPU in a profile of a task burst. The Content-Security-Policy fits what the gateway serves:
 *  - scripts only from the gateway itself (the Vite build and Swagger UI load theirs from files);
 *  - styles from itself and inline: Naive UI (css-render) and Vue's `:style` bindings write
 *    styles at run time, and Swagger UI's page has a <style> block. A nonce cannot cover
 *    style attributes, so 'unsafe-inline' stays for styles only (no script can be injected by it);
 *  - images and fonts from itself plus data: (icons, Swagger UI);
 *  - connections (fetch, the WebSocket) to itself only: CSP's 'self' covers ws:/wss: to the same
 *    host in current browsers;
 *  - no plugins, no <base> elsewhere, forms post only here, no framing (frame-ancestors 'none',
 *    and X-Frame-Options: DENY for older browsers).
 * Plus nosniff and Referrer-Policy: no-referrer. HSTS is sent only on requests that arrived over
 * TLS (directly or through a trusted proxy's X-Forwarded-Proto): over plain HTTP, as in local use,
 * it would mean nothing, and a wrong max-age there could lock a host out of http for a year.
 * API answers are `Cache-Control: no-store`: many carry a credential (a login, a refresh, a new
 * token — RFC 6749 §5.1) or another user's private data, and none is worth a shared cache's copy.
 * Tested in test/edge-security.e2e.spec.ts, the security suite, and in the browser by web/e2e.
 */
import helmet from 'helmet';
import type { FastifyInstance } from 'fastify';

export const contentSecurityPolicy = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const hsts = 'max-age=31536000; includeSubDomains';

export async function registerSecurityHeaders(fastify: FastifyInstance): Promise<void> {
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.protocol === 'https') void reply.header('strict-transport-security', hsts);
    if (request.url.startsWith('/api/v1/')) void reply.header('cache-control', 'no-store');
    // helmet sets its headers on the raw response, as @fastify/helmet had it do.
    headers(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
}
