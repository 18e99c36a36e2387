/*
 * Workers: registration tokens, registration, heartbeats and the worker's events. A worker
 * registers once with a short-lived token a user created, receives an opaque credential (shown
 * once, stored hashed) and from then on heartbeats over NATS (or HTTP).
 */
import { z } from 'zod';
import { commandSubject, querySubject } from '../common/subjects';
import { defineEvent, EventRegistry } from '../common/versioning';
import { toolNameSchema } from '../tasks/task.schemas';

export const workerToolSchema = z.object({ name: toolNameSchema, version: z.string().max(100).nullable() });
export type WorkerTool = z.infer<typeof workerToolSchema>;

export const workerResourcesSchema = z.object({
  cpus: z.number().int().min(1),
  memoryMb: z.number().int().min(1),
  diskMb: z.number().int().min(0),
});
export type WorkerResources = z.infer<typeof workerResourcesSchema>;

export const labelSchema = z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/, 'labels are lower-case letters, digits and _.:-');

export const createRegistrationTokenBodySchema = z
  .object({
    /** How many workers may register with it. Default 1 (single use). */
    uses: z.number().int().min(1).max(1000).default(1),
    /** Lifetime in seconds. Default 1 hour. */
    ttlSeconds: z.number().int().min(60).max(7 * 24 * 3600).default(3600),
    labels: z.array(labelSchema).max(20).default([]),
  })
  .strict()
  .meta({ id: 'CreateRegistrationTokenBody' });
export type CreateRegistrationTokenBody = z.infer<typeof createRegistrationTokenBodySchema>;

export const registrationTokenSchema = z
  .object({
    id: z.string(),
    /** Shown once: `ayr_<id>.<secret>`. */
    token: z.string(),
    expiresAt: z.string(),
    usesLeft: z.number().int(),
    /** A command that starts a worker with this token, to paste on the machine. */
    installCommand: z.string(),
  })
  .meta({ id: 'RegistrationToken' });
export type RegistrationToken = z.infer<typeof registrationTokenSchema>;

/** `ayr_` + uuid + `.` + 43 base64url chars. */
export const registrationTokenPattern = /^ayr_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;
/** `ayw_` + uuid + `.` + 43 base64url chars. */
export const workerCredentialPattern = /^ayw_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;

export const registerWorkerBodySchema = z
  .object({
    token: z.string().regex(registrationTokenPattern, 'token is not a registration token (expected ayr_…)'),
    name: z.string().min(1).max(100).regex(/^[\w.@ -]+$/, 'name may use letters, digits, space and _.@-'),
    hostname: z.string().max(255),
    platform: z.string().max(50),
    arch: z.string().max(50),
    tools: z.array(workerToolSchema).max(20),
    slots: z.number().int().min(1).max(256),
    resources: workerResourcesSchema,
    labels: z.array(labelSchema).max(20).default([]),
    agentVersion: z.string().max(50),
  })
  .strict()
  .meta({ id: 'RegisterWorkerBody' });
export type RegisterWorkerBody = z.infer<typeof registerWorkerBodySchema>;

export const workerRegistrationSchema = z
  .object({
    workerId: z.string(),
    /** Shown once: `ayw_<id>.<secret>`; send as `Authorization: Worker <credential>`. */
    credential: z.string(),
    natsUrl: z.string(),
    heartbeatIntervalMs: z.number().int(),
  })
  .meta({ id: 'WorkerRegistration' });
export type WorkerRegistration = z.infer<typeof workerRegistrationSchema>;

export const heartbeatSchema = z
  .object({
    workerId: z.string(),
    sentAt: z.string(),
    cpuPercent: z.number().min(0).max(100),
    memUsedMb: z.number().int().min(0),
    memTotalMb: z.number().int().min(0),
    diskFreeMb: z.number().int().min(0),
    diskTotalMb: z.number().int().min(0),
    slots: z.object({ total: z.number().int().min(0), used: z.number().int().min(0) }),
    running: z.array(z.object({ taskId: z.string(), attempt: z.number().int() })).max(256),
    tools: z.array(workerToolSchema).max(20),
    draining: z.boolean(),
  })
  .meta({ id: 'Heartbeat' });
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const workerStatuses = ['online', 'offline', 'draining'] as const;
export type WorkerStatus = (typeof workerStatuses)[number];

export const workerViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    hostname: z.string(),
    ownerId: z.string(),
    role: z.enum(['owner', 'user']),
    status: z.enum(workerStatuses),
    drained: z.boolean(),
    tools: z.array(workerToolSchema),
    labels: z.array(z.string()),
    slots: z.number().int(),
    resources: workerResourcesSchema,
    /** Latest heartbeat figures, null before the first heartbeat. */
    lastHeartbeat: heartbeatSchema.nullable(),
    lastSeenAt: z.string().nullable(),
    registeredAt: z.string(),
  })
  .meta({ id: 'Worker' });
export type WorkerView = z.infer<typeof workerViewSchema>;

export const workerSubjects = {
  createRegistrationToken: commandSubject('workers', 'CreateRegistrationToken'),
  register: commandSubject('workers', 'RegisterWorker'),
  drain: commandSubject('workers', 'DrainWorker'),
  heartbeat: commandSubject('workers', 'RecordHeartbeat'),
  /** Resolves a worker credential to its worker id (gateway auth for worker endpoints). */
  authenticate: querySubject('workers', 'AuthenticateWorker'),
  get: querySubject('workers', 'GetWorker'),
  list: querySubject('workers', 'ListWorkers'),
} as const;

/** NATS KV bucket: key = workerId, value = latest Heartbeat JSON; entries expire (liveness). */
export const workerLivenessBucket = 'worker-liveness';
/** A worker silent this long is declared offline and its tasks requeued. */
export const workerOfflineAfterMs = 15_000;

// Events (stream `worker-<id>`) ----------------------------------------------------------------

const workerId = z.string();
export const workerRegisteredV1 = defineEvent(
  'WorkerRegistered',
  1,
  z.object({
    workerId,
    ownerId: z.string(),
    name: z.string(),
    hostname: z.string(),
    platform: z.string(),
    arch: z.string(),
    tools: z.array(workerToolSchema),
    slots: z.number().int(),
    resources: workerResourcesSchema,
    labels: z.array(z.string()),
    agentVersion: z.string(),
  }),
);
export const workerToolsChangedV1 = defineEvent('WorkerToolsChanged', 1, z.object({ workerId, tools: z.array(workerToolSchema) }));
export const workerWentOnlineV1 = defineEvent('WorkerWentOnline', 1, z.object({ workerId }));
export const workerWentOfflineV1 = defineEvent('WorkerWentOffline', 1, z.object({ workerId, reason: z.enum(['heartbeat-silence', 'shutdown']) }));
export const workerDrainedV1 = defineEvent('WorkerDrained', 1, z.object({ workerId, byUserId: z.string() }));
export const workerRoleGrantedV1 = defineEvent('WorkerRoleGranted', 1, z.object({ workerId, userId: z.string(), role: z.enum(['owner', 'user']) }));
export const workerCredentialRevokedV1 = defineEvent('WorkerCredentialRevoked', 1, z.object({ workerId, byUserId: z.string() }));

export const workerEvents = new EventRegistry().register(
  workerRegisteredV1,
  workerToolsChangedV1,
  workerWentOnlineV1,
  workerWentOfflineV1,
  workerDrainedV1,
  workerRoleGrantedV1,
  workerCredentialRevokedV1,
);
