/*
 * The tasks service's environment. Besides the base variables (NATS_URL, LOG_LEVEL, HTTP_PORT,
 * SHUTDOWN_TIMEOUT_SECONDS) and DATABASE_URL, the timing knobs of leases and timeouts; their
 * defaults are the design's (tasks-on-workers.md) and tests shrink them.
 */
import { z } from 'zod';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';
import { artifactLimits, assignmentLeaseMs } from '@agentyard/contracts';
import type { ArtifactSettings } from './application/artifact.settings';
import type { TasksSettings } from './application/tasks.settings';
import type { S3ArtifactStoreOptions } from './infrastructure/s3-artifact.store';

export const tasksConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Time a worker has to report `started` after an assignment. Default 30 000 ms. */
  TASK_LEASE_MS: z.coerce.number().int().min(100).max(3_600_000).default(assignmentLeaseMs),
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
  /** Most tasks queued (waiting for a worker) on the whole platform before new ones are refused with 429; 0 = no limit. Default 100 000. */
  TASKS_MAX_QUEUED: z.coerce.number().int().min(0).max(100_000_000).default(100_000),
  /** Agent cost (USD) a user's tasks may report per UTC day before their new tasks are refused; 0 = no limit (default). */
  USER_DAILY_COST_LIMIT_USD: z.coerce.number().min(0).max(1_000_000).default(0),
  /** Where attempts' logs and artifacts are kept: `postgres` (the tasks database; default) or `s3`. */
  ARTIFACT_STORE: z.enum(['postgres', 's3']).default('postgres'),
  /** Largest artifact, bytes. Default 64 MiB. The gateway's ARTIFACT_MAX_BYTES should match. */
  ARTIFACT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024)
    .default(artifactLimits.maxArtifactBytes),
  /** Most artifacts one attempt may store. Default 100. */
  ARTIFACT_MAX_PER_ATTEMPT: z.coerce.number().int().min(1).max(10_000).default(artifactLimits.maxArtifactsPerAttempt),
  /** Most bytes one attempt may store, all artifacts together. Default 256 MiB. */
  ARTIFACT_MAX_ATTEMPT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(16 * 1024 * 1024 * 1024)
    .default(artifactLimits.maxAttemptBytes),
  /** An upload not committed this long after it began is dropped. Default 1 hour. */
  ARTIFACT_UPLOAD_ABANDON_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(7 * 24 * 3_600_000)
    .default(3_600_000),
  /** Pause between sweeps for abandoned uploads. Default 60 000 ms. */
  ARTIFACT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** S3 (ARTIFACT_STORE=s3): the endpoint of an S3-compatible server (`http://minio:9000`); unset for AWS S3. */
  S3_URL: z.url().optional(),
  /** S3: the bucket (it must exist). Required with ARTIFACT_STORE=s3. */
  S3_BUCKET: z.string().min(3).max(63).optional(),
  /** S3: the region. Default us-east-1. */
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** S3: key prefix inside the bucket. Default `agentyard/artifacts/`. */
  S3_PREFIX: z.string().max(200).default('agentyard/artifacts/'),
  /** S3: path-style URLs (most self-hosted servers need them). Default true with S3_URL, false without. */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
});
export type TasksConfig = z.infer<typeof tasksConfigSchema>;

export function settingsOf(config: TasksConfig): TasksSettings {
  return {
    leaseMs: config.TASK_LEASE_MS,
    runGraceSeconds: config.RUN_TIMEOUT_GRACE_SECONDS,
    scanIntervalMs: config.TIMEOUT_SCAN_INTERVAL_MS,
    scanBatchSize: config.TIMEOUT_SCAN_BATCH_SIZE,
    assignWaitMaxMs: config.ASSIGN_WAIT_MAX_MS,
    maxQueued: config.TASKS_MAX_QUEUED === 0 ? null : config.TASKS_MAX_QUEUED,
    userLimits: {
      maxActiveTasks: config.USER_MAX_ACTIVE_TASKS === 0 ? null : config.USER_MAX_ACTIVE_TASKS,
      dailyCostUsd: config.USER_DAILY_COST_LIMIT_USD === 0 ? null : config.USER_DAILY_COST_LIMIT_USD,
    },
  };
}

export function artifactSettingsOf(config: TasksConfig): ArtifactSettings {
  return {
    quota: {
      maxArtifactBytes: config.ARTIFACT_MAX_BYTES,
      maxArtifactsPerAttempt: config.ARTIFACT_MAX_PER_ATTEMPT,
      maxAttemptBytes: config.ARTIFACT_MAX_ATTEMPT_BYTES,
    },
    chunkBytes: artifactLimits.chunkBytes,
    abandonAfterMs: config.ARTIFACT_UPLOAD_ABANDON_AFTER_MS,
    sweepIntervalMs: config.ARTIFACT_SWEEP_INTERVAL_MS,
  };
}

/** The S3 store's options (ARTIFACT_STORE=s3); credentials come from the SDK's standard chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …). */
export function s3OptionsOf(config: TasksConfig): S3ArtifactStoreOptions {
  if (!config.S3_BUCKET) throw new Error('S3_BUCKET: required with ARTIFACT_STORE=s3');
  return {
    endpoint: config.S3_URL,
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    prefix: config.S3_PREFIX,
    forcePathStyle: config.S3_FORCE_PATH_STYLE ? config.S3_FORCE_PATH_STYLE === 'true' : config.S3_URL !== undefined,
  };
}
