/*
 * The workflows service's environment: the base variables (NATS_URL, LOG_LEVEL, HTTP_PORT,
 * SHUTDOWN_TIMEOUT_SECONDS), DATABASE_URL, and the scheduler's period (tests shrink it).
 */
import { z } from 'zod';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';

export const workflowsConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Pause between scheduler ticks (cron fires, approval defaults, run time limits). Default 500 ms. */
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /** A cron fire seen later than this after its time counts as missed while the service was down. Default 30 000 ms. */
  SCHEDULE_MISSED_AFTER_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
});
export type WorkflowsConfig = z.infer<typeof workflowsConfigSchema>;
