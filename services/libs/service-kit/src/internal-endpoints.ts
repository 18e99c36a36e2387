/*
 * Health and metrics on a port of their own, for a service whose main port faces the internet
 * (the gateway): Prometheus' /metrics names routes, counts and process internals that are nobody
 * else's business, so it is served only here, on a port the Ingress does not route and the
 * platform's Prometheus scrapes (HTTP_PORT, like every other service's health+metrics port).
 */
import { createServer, type Server } from 'node:http';
import type { HealthRegistry } from './health';
import type { MetricsRegistry } from './metrics';

export interface InternalEndpoints {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics, /health/live and /health/ready on `port`; resolves once it listens. */
export async function serveInternalEndpoints(options: {
  port: number;
  host?: string;
  metrics: MetricsRegistry;
  health: HealthRegistry;
}): Promise<InternalEndpoints> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', JSON.stringify({ error: 'VALIDATION_FAILED', message: 'only GET' }));
    if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => send(200, 'text/plain; version=0.0.4; charset=utf-8', text),
        () => send(500, 'application/json', JSON.stringify({ error: 'INTERNAL', message: 'metrics failed' })),
      );
      return;
    }
    if (path === '/health/live') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/health/ready') {
      void options.health
        .run()
        .then(({ ok, checks }) =>
          ok
            ? send(200, 'application/json', JSON.stringify({ status: 'ok', checks }))
            : send(503, 'application/json', JSON.stringify({ error: 'UNAVAILABLE', message: 'not ready', details: checks })),
        );
      return;
    }
    send(404, 'application/json', JSON.stringify({ error: 'NOT_FOUND', message: 'no such endpoint' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
