/*
 * Environment configuration, validated with zod at boot. A wrong or missing variable stops the
 * process with one message naming every bad variable, instead of failing later at first use.
 */
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
  /** Seconds to wait for in-flight work on SIGTERM before exiting anyway. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(20),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

export const databaseUrlSchema = z
  .string({ error: 'is required (a postgres:// connection string)' })
  .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// connection string');

/** Parses `env` with `schema`; throws ConfigError naming each bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => ({ variable: issue.path.map(String).join('.') || '(env)', message: issue.message })));
}
