import { z } from 'zod';
import { workerOfflineAfterMs } from '@agentyard/contracts';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';

const natsUrl = baseConfigSchema.shape.NATS_URL.unwrap();

/** Environment of the workers service; every variable has a default except DATABASE_URL. */
export const workersConfigSchema = baseConfigSchema
  .extend({
    DATABASE_URL: databaseUrlSchema,
    /** NATS URL handed to workers at registration (what agents can reach). Default: NATS_URL. */
    NATS_PUBLIC_URL: natsUrl.optional(),
    /** Public URL of the gateway, used in the install command. Default http://localhost:8080. */
    PUBLIC_URL: z.url({ error: 'must be an http(s) URL' }).default('http://localhost:8080'),
    /**
     * Where the worker agent package is (infra/scripts/pack-worker.mjs, run by the build): the
     * install command names its file and sha256. The gateway serves the same directory (its
     * DOWNLOADS_DIR): point both at one copy. Default: dist/downloads of this checkout.
     */
    DOWNLOADS_DIR: z.string().default(new URL('../../../dist/downloads', `file://${__dirname}/`).pathname),
    /** A worker silent this long is declared offline. Default: the contract's 15 000 ms. */
    OFFLINE_AFTER_MS: z.coerce.number().int().min(100).max(3_600_000).default(workerOfflineAfterMs),
    /** How often the liveness sweeper looks for silent workers. Default 1 000 ms. */
    SWEEP_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
    /** Heartbeat interval told to workers at registration. Default 5 000 ms. */
    HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** TTL of the `worker-liveness` KV bucket (applies when the bucket is created). Default 60 000 ms. */
    LIVENESS_TTL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
    /**
     * NATS operator mode (messaging's nats-auth.ts): the application account's public key and the
     * seed of its scoped signing key for workers. Both set: workers get NATS credentials limited to
     * their own subjects; both unset: NATS runs without auth and agents connect without.
     */
    WORKER_NATS_ACCOUNT: z
      .string()
      .regex(/^A[A-Z2-7]{55}$/, 'must be an account public key (A…, 56 characters)')
      .optional(),
    WORKER_NATS_SIGNING_SEED: z
      .string()
      .regex(/^SA[A-Z2-7]{56}$/, 'must be an account signing key seed (SA…, 58 characters)')
      .optional(),
    /** How long a worker's NATS credentials are valid; the agent renews them before. Default 3 600 s. */
    WORKER_NATS_CREDS_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3_600),
  })
  .refine((c) => (c.WORKER_NATS_ACCOUNT === undefined) === (c.WORKER_NATS_SIGNING_SEED === undefined), {
    path: ['WORKER_NATS_SIGNING_SEED'],
    message: 'set WORKER_NATS_ACCOUNT and WORKER_NATS_SIGNING_SEED together (NATS operator mode), or neither',
  })
  // A threshold close to the interval makes healthy workers flap offline/online (and their tasks
  // get requeued): require at least two missed heartbeats before declaring a worker lost.
  .refine((c) => c.OFFLINE_AFTER_MS >= 2 * c.HEARTBEAT_INTERVAL_MS, {
    path: ['OFFLINE_AFTER_MS'],
    message: 'must be at least twice HEARTBEAT_INTERVAL_MS, or healthy workers flap offline',
  })
  .transform((c) => ({ ...c, NATS_PUBLIC_URL: c.NATS_PUBLIC_URL ?? c.NATS_URL }));

export type WorkersConfig = z.infer<typeof workersConfigSchema>;
