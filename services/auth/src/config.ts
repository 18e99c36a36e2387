import { z } from 'zod';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';

export const authConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Registrations one client address may attempt per hour (POST /auth/register). */
  REGISTRATIONS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(30),
});
