import { z } from 'zod';
import { baseConfigSchema } from '@agentyard/service-kit';

export const gatewayConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  /** Comma-separated origins allowed to call the API from a browser; empty = same origin only. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  /** Largest request body, bytes. A task description may be up to 64 KiB; 1 MiB leaves room. */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  /**
   * Largest artifact upload (PUT …/artifacts/{name}, the one route with a raw body), bytes;
   * every other route keeps BODY_LIMIT_BYTES. Default 64 MiB; the tasks service's
   * ARTIFACT_MAX_BYTES should match (the smaller one wins).
   */
  ARTIFACT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  /** The built dashboard (`npm run build -w web`), served at `/`. Default: web/dist of this checkout. */
  WEB_DIST_DIR: z.string().default(new URL('../../../web/dist', `file://${__dirname}/`).pathname),
  /**
   * The worker agent package (infra/scripts/pack-worker.mjs, run by the build), served at
   * /downloads. Default: dist/downloads of this checkout. The workers service reads the same
   * directory for the install command's version and checksum: point both at one copy.
   */
  DOWNLOADS_DIR: z.string().default(new URL('../../../dist/downloads', `file://${__dirname}/`).pathname),
  /** How long a request to a backend service may take before the edge answers 503. */
  RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /**
   * Task creations in flight at the edge (create-admission.decide.ts): an answer slower than
   * CREATE_TARGET_MS shrinks the limit, faster ones grow it between CREATE_MIN_IN_FLIGHT and
   * CREATE_MAX_IN_FLIGHT; a create over the limit is refused at once with 429 and Retry-After.
   */
  CREATE_TARGET_MS: z.coerce.number().int().min(1).max(60_000).default(150),
  CREATE_MIN_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(8),
  CREATE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(256),
  /**
   * Creates are also refused while the gateway's event loop is late by more than this on average
   * (ms, over the last 250 ms): the gateway itself is then the bottleneck. 0 turns it off.
   */
  CREATE_MAX_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(50),
  /**
   * How long an API token's answer is cached, and so how soon a revocation made through another
   * gateway instance — or the recheck of a WebSocket opened with the token — takes effect.
   */
  API_TOKEN_CACHE_TTL_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  /**
   * Test aid: once listening, write every route the HTTP server registered (`[{ method, url }]`)
   * to this file, so the security suite can check that each one is in the OpenAPI document.
   */
  ROUTE_LIST_FILE: z.string().min(1).optional(),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
