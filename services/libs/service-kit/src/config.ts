/*
 * Environment configuration, validated with zod at boot. A wrong or missing variable stops the
 * process with one message naming every bad variable, instead of failing later at first use.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables every service reads. Defaults suit a single machine (`npm start`). */
export const baseConfigSchema = z.object({
  SERVICE_NAME: z.string().min(1).optional(),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls|wss?):\/\/[^\s]+$/, 'must look like nats://host:4222')
    .default('nats://127.0.0.1:4222'),
  /**
   * A NATS credentials file (user JWT + seed) when nats-server runs in operator mode
   * (messaging's nats-auth.ts; `npm start` writes one); unset = connect without credentials.
   */
  NATS_CREDS_FILE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the health/metrics HTTP server (services other than the gateway). */
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * Addresses (IPs or CIDRs, comma-separated) of the reverse proxies in front of this service,
   * whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed. Default none: a client could
   * otherwise name any address it likes and slip past per-client limits.
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const entries = s
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      for (const e of entries) if (!isAddressOrCidr(e)) ctx.addIssue({ code: 'custom', message: `${e} is not an IP address or CIDR (e.g. 10.0.0.0/8)` });
      return entries;
    }),
  /** Seconds to wait for in-flight work on SIGTERM before exiting anyway. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(20),
  /**
   * Time to live of the service's lease (the replica that runs its relay, consumers and
   * schedulers): a standby takes over about this long after the holder dies. Default 3 000 ms.
   */
  LEASE_TTL_MS: z.coerce.number().int().min(300).max(60_000).default(3_000),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** True for `1.2.3.4`, `::1`, `10.0.0.0/8`, `fd00::/8`: what Fastify's trustProxy list takes. */
export function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export const databaseUrlSchema = z
  .string({ error: 'is required (a postgres:// connection string)' })
  .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// connection string');

/** Parses `env` with `schema`; throws ConfigError naming each bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => ({ variable: issue.path.map(String).join('.') || '(env)', message: issue.message })));
}
