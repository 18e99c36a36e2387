/*
 * Workers: registration tokens, registration, heartbeats and the worker's events. A worker
 * registers once with a short-lived token a user created, receives an opaque credential (shown
 * once, stored hashed) and from then on heartbeats over NATS (or HTTP).
 */
import { z } from 'zod';
import { text } from '../common/text';
import { commandSubject, querySubject } from '../common/subjects';
import { defineEvent, EventRegistry } from '../common/versioning';
import { actorSchema } from '../tasks/task.schemas';
import {
  createRegistrationTokenBodySchema,
  heartbeatSchema,
  registerWorkerBodySchema,
  workerResourcesSchema,
  workerToolSchema,
} from './worker-registration.schemas';

export * from './worker-registration.schemas';

export const workerStatuses = ['online', 'offline', 'draining'] as const;
export type WorkerStatus = (typeof workerStatuses)[number];

export const workerViewSchema = z
  .object({
    id: text(),
    name: text(),
    hostname: text(),
    ownerId: text(),
    role: z.enum(['owner', 'user']),
    status: z.enum(workerStatuses),
    drained: z.boolean(),
    /** Its credential was revoked: the platform refuses the agent (register the machine again). */
    credentialRevoked: z.boolean(),
    tools: z.array(workerToolSchema),
    labels: z.array(text()),
    slots: z.number().int(),
    resources: workerResourcesSchema,
    /** Latest heartbeat figures, null before the first heartbeat. */
    lastHeartbeat: heartbeatSchema.nullable(),
    lastSeenAt: text().nullable(),
    registeredAt: text(),
    /** The agent's version: from its latest heartbeat, else as it registered. */
    agentVersion: text(),
    /** Older than the agent package this platform serves (update: an install command without its `--token`). */
    agentOutdated: z.boolean(),
  })
  .meta({ id: 'Worker' });
export type WorkerView = z.infer<typeof workerViewSchema>;

/** `POST /workers/{id}/roles`: share a worker with another user (or make them an owner too). */
export const grantWorkerRoleBodySchema = z
  .object({
    userId: text().min(1, 'userId is required').max(64),
    role: z.enum(['owner', 'user'], { error: 'role must be owner or user' }).default('user'),
  })
  .strict()
  .meta({ id: 'GrantWorkerRoleBody' });
export type GrantWorkerRoleBody = z.infer<typeof grantWorkerRoleBodySchema>;

export const workerSubjects = {
  createRegistrationToken: commandSubject('workers', 'CreateRegistrationToken'),
  register: commandSubject('workers', 'RegisterWorker'),
  drain: commandSubject('workers', 'DrainWorker'),
  /** Undoes a drain: the worker takes new tasks again. */
  resume: commandSubject('workers', 'ResumeWorker'),
  grantRole: commandSubject('workers', 'GrantWorkerRole'),
  revokeCredential: commandSubject('workers', 'RevokeWorkerCredential'),
  heartbeat: commandSubject('workers', 'RecordHeartbeat'),
  /** Issues an authenticated worker its (expiring) NATS credentials. */
  issueNatsCredentials: commandSubject('workers', 'IssueWorkerNatsCredentials'),
  /** Resolves a worker credential to its worker id (gateway auth for worker endpoints). */
  authenticate: querySubject('workers', 'AuthenticateWorker'),
  get: querySubject('workers', 'GetWorker'),
  list: querySubject('workers', 'ListWorkers'),
} as const;

// Request payloads of the workers service's subjects (rpcCatalog.workers). Every command and query
// that acts for a user carries `actor.userId`; the others come from the gateway for a worker it
// has authenticated by its credential (or, to register, by the token in the body).

const workerIdSchema = text().min(1).max(64);
export const createRegistrationTokenCommandSchema = z.object({ actor: actorSchema, body: createRegistrationTokenBodySchema.prefault({}) });
/** Sent by the gateway for an unauthenticated agent; the token in the body is the credential. */
export const registerWorkerCommandSchema = z.object({ body: registerWorkerBodySchema });
export const authenticateWorkerQuerySchema = z.object({ credential: text().max(200) });
/** HTTP heartbeat: the gateway has authenticated `workerId` from the worker's credential. */
export const recordHeartbeatCommandSchema = z.object({ workerId: workerIdSchema, heartbeat: heartbeatSchema });
export const workerRefCommandSchema = z.object({ actor: actorSchema, workerId: workerIdSchema });
/** The gateway has authenticated `workerId` from the worker's credential. */
export const issueNatsCredentialsCommandSchema = z.object({ workerId: workerIdSchema });
export const listWorkersQuerySchema = z.object({ actor: actorSchema });
export const grantWorkerRoleCommandSchema = workerRefCommandSchema.extend(grantWorkerRoleBodySchema.shape);

/** NATS KV bucket: key = workerId, value = latest Heartbeat JSON; entries expire (liveness). */
export const workerLivenessBucket = 'worker-liveness';
/** A worker silent this long is declared offline and its tasks requeued. */
export const workerOfflineAfterMs = 15_000;

// Events (stream `worker-<id>`) ----------------------------------------------------------------

const workerId = text();
export const workerRegisteredV1 = defineEvent(
  'WorkerRegistered',
  1,
  z.object({
    workerId,
    ownerId: text(),
    name: text(),
    hostname: text(),
    platform: text(),
    arch: text(),
    tools: z.array(workerToolSchema),
    slots: z.number().int(),
    resources: workerResourcesSchema,
    labels: z.array(text()),
    agentVersion: text(),
  }),
);
export const workerToolsChangedV1 = defineEvent('WorkerToolsChanged', 1, z.object({ workerId, tools: z.array(workerToolSchema) }));
export const workerWentOnlineV1 = defineEvent('WorkerWentOnline', 1, z.object({ workerId }));
export const workerWentOfflineV1 = defineEvent('WorkerWentOffline', 1, z.object({ workerId, reason: z.enum(['heartbeat-silence', 'shutdown']) }));
export const workerDrainedV1 = defineEvent('WorkerDrained', 1, z.object({ workerId, byUserId: text() }));
export const workerResumedV1 = defineEvent('WorkerResumed', 1, z.object({ workerId, byUserId: text() }));
export const workerRoleGrantedV1 = defineEvent('WorkerRoleGranted', 1, z.object({ workerId, userId: text(), role: z.enum(['owner', 'user']) }));
export const workerCredentialRevokedV1 = defineEvent('WorkerCredentialRevoked', 1, z.object({ workerId, byUserId: text() }));

export const workerEvents = new EventRegistry().register(
  workerRegisteredV1,
  workerToolsChangedV1,
  workerWentOnlineV1,
  workerWentOfflineV1,
  workerDrainedV1,
  workerResumedV1,
  workerRoleGrantedV1,
  workerCredentialRevokedV1,
);
