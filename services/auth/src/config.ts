import { z } from 'zod';
import { jwtSettings } from '@agentyard/contracts';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';
import { defaultLoginLimits } from './infrastructure/login-rate-limiter';
import { parseMasterKey } from './infrastructure/secret-cipher';

/** A base64 key turned into bytes; a bad one stops boot with a message that never repeats it. */
const masterKey = z.string({ error: 'is required: 32 random bytes in base64 (`openssl rand -base64 32`) that encrypt user secrets' }).transform((text, ctx) => {
  try {
    return parseMasterKey(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

export const authConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Encrypts user secrets at rest (AES-256-GCM). Keep it apart from the database's backups. */
  SECRETS_MASTER_KEY: masterKey,
  /** Comma-separated older master keys, still accepted to decrypt while auth re-encrypts under the current one (rotation). */
  SECRETS_PREVIOUS_MASTER_KEYS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const keys: Buffer[] = [];
      for (const [i, part] of text.split(',').entries()) {
        if (!part.trim()) continue;
        try {
          keys.push(parseMasterKey(part));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `key ${i + 1}: ${(error as Error).message}` });
        }
      }
      return keys;
    }),
  /** Registrations one client address may attempt per hour (POST /auth/register). */
  REGISTRATIONS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(30),
  /**
   * Access-token lifetime. It can only be shortened: the revocation list keeps a logged-out
   * token's id for the standard lifetime, so a longer-lived token would outlive its revocation.
   * Tests shorten it to see a real token expire.
   */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(jwtSettings.accessTtlSeconds).default(jwtSettings.accessTtlSeconds),
  /** Login attempts per client address per minute (many users behind one proxy may need more). */
  LOGIN_MAX_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(defaultLoginLimits.perIpPoints),
  /** Failed logins per account before it is refused for 15 minutes. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000).default(defaultLoginLimits.perAccountFailures),
});
