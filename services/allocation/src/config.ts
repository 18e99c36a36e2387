import { z } from 'zod';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';

/**
 * Allocation's environment: the base variables (NATS_URL, LOG_LEVEL, HTTP_PORT, …), its own
 * database, how often the safety-net pass runs when nothing else triggers one, and how many
 * pending tasks a pass reads at a time.
 */
export const allocationConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Milliseconds between safety-net allocation passes. Default 2 000. */
  SAFETY_NET_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  /** Largest page of pending tasks one read of a pass takes (a pass reads up to ten). Default 500. */
  ALLOCATION_PAGE_SIZE: z.coerce.number().int().min(32).max(5_000).default(500),
});
export type AllocationConfig = z.infer<typeof allocationConfigSchema>;
