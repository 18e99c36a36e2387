/*
 * Request payloads of the workers service's NATS subjects. The bodies come from contracts; the
 * envelopes around them (actor, ids) are defined here until contracts carries them (the brief's
 * report lists the change). Every command and query that acts for a user carries `actor.userId`.
 */
import { z } from 'zod';
import {
  actorSchema,
  createRegistrationTokenBodySchema,
  grantWorkerRoleBodySchema,
  heartbeatSchema,
  registerWorkerBodySchema,
  workerSubjects,
} from '@agentyard/contracts';

const workerIdSchema = z.string().min(1).max(64);

export const createRegistrationTokenCommandSchema = z.object({ actor: actorSchema, body: createRegistrationTokenBodySchema.prefault({}) });
/** Sent by the gateway for an unauthenticated agent; the token in the body is the credential. */
export const registerWorkerCommandSchema = z.object({ body: registerWorkerBodySchema });
export const authenticateWorkerQuerySchema = z.object({ credential: z.string().max(200) });
/** HTTP heartbeat: the gateway has authenticated `workerId` from the worker's credential. */
export const recordHeartbeatCommandSchema = z.object({ workerId: workerIdSchema, heartbeat: heartbeatSchema });
export const workerRefCommandSchema = z.object({ actor: actorSchema, workerId: workerIdSchema });
/** The gateway has authenticated `workerId` from the worker's credential. */
export const issueNatsCredentialsCommandSchema = z.object({ workerId: workerIdSchema });
export const listWorkersQuerySchema = z.object({ actor: actorSchema });
export const grantWorkerRoleCommandSchema = workerRefCommandSchema.extend(grantWorkerRoleBodySchema.shape);

/** Subjects served: contracts' `workerSubjects`. */
export const servedSubjects = workerSubjects;
