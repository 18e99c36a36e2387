import { z } from 'zod';
import { jwtSettings } from '@agentyard/contracts';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';
import { defaultLoginLimits } from './infrastructure/login-rate-limiter';

export const authConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
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
