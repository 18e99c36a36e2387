/*
 * JSON logs with pino. Every line carries the service name; HTTP request lines carry the request
 * id (taken from `x-request-id` or generated) so one request can be followed across services via
 * the correlation id that travels in NATS headers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger } from 'pino';
import type { Params } from 'nestjs-pino';

/** A root logger for a service. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.refreshToken', '*.accessToken'], remove: true },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** nestjs-pino module options: request ids, quiet health/metrics probes. */
export function httpLoggerParams(logger: Logger): Params {
  return {
    pinoHttp: {
      logger,
      // bootstrap's Fastify genReqId has already validated or generated it.
      genReqId: (req: IncomingMessage) => String(req.headers['x-request-id'] ?? randomUUID()),
      autoLogging: { ignore: (req: IncomingMessage) => /^\/(health|metrics)/.test(req.url ?? '') },
      customProps: (req: IncomingMessage) => ({ requestId: (req as IncomingMessage & { id?: string }).id }),
    },
  };
}
