/*
 * The tasks service's environment. Besides the base variables (NATS_URL, LOG_LEVEL, HTTP_PORT,
 * SHUTDOWN_TIMEOUT_SECONDS) and DATABASE_URL, the timing knobs of leases and timeouts; their
 * defaults are the design's (tasks-on-workers.md) and tests shrink them.
 */
import { z } from 'zod';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';
import type { TasksSettings } from './application/tasks.settings';

export const tasksConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Time a worker has to report `started` after an assignment. Default 30 000 ms. */
  TASK_LEASE_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** Extra seconds past timeoutSeconds before a running task is timed out here. Default 10. */
  RUN_TIMEOUT_GRACE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(10),
  /** Pause between timeout scans. Default 1 000 ms. */
  TIMEOUT_SCAN_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  /** Most tasks of each kind one scan acts on. Default 100. */
  TIMEOUT_SCAN_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Longest an early allocation decision is held for a requeue backoff to end. Default 20 000 ms. */
  ASSIGN_WAIT_MAX_MS: z.coerce.number().int().min(0).max(120_000).default(20_000),
  /** Most unfinished (queued, assigned, running) tasks one user may have; 0 = no limit. Default 1 000. */
  USER_MAX_ACTIVE_TASKS: z.coerce.number().int().min(0).max(10_000_000).default(1_000),
  /** Agent cost (USD) a user's tasks may report per UTC day before their new tasks are refused; 0 = no limit (default). */
  USER_DAILY_COST_LIMIT_USD: z.coerce.number().min(0).max(1_000_000).default(0),
});
export type TasksConfig = z.infer<typeof tasksConfigSchema>;

export function settingsOf(config: TasksConfig): TasksSettings {
  return {
    leaseMs: config.TASK_LEASE_MS,
    runGraceSeconds: config.RUN_TIMEOUT_GRACE_SECONDS,
    scanIntervalMs: config.TIMEOUT_SCAN_INTERVAL_MS,
    scanBatchSize: config.TIMEOUT_SCAN_BATCH_SIZE,
    assignWaitMaxMs: config.ASSIGN_WAIT_MAX_MS,
    userLimits: {
      maxActiveTasks: config.USER_MAX_ACTIVE_TASKS === 0 ? null : config.USER_MAX_ACTIVE_TASKS,
      dailyCostUsd: config.USER_DAILY_COST_LIMIT_USD === 0 ? null : config.USER_DAILY_COST_LIMIT_USD,
    },
  };
}
