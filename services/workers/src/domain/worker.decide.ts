/*
 * The worker decider. Ownership rule (design "Ownership"): a user without a role on the worker
 * gets NOT_FOUND, never FORBIDDEN, so a worker's existence does not leak; a plain `user` (who
 * may run tasks on it) gets FORBIDDEN for owner-only commands (drain, grant, revoke).
 * Every command is idempotent: one that is already applied decides [] (tested in
 * worker.decide.unit.spec.ts).
 */
import { DomainError, workerEvents, type WorkerTool } from '@agentyard/contracts';
import type { Decider, DecidedEventFor } from '@agentyard/event-sourcing';
import { evolve, initialState, roleOf, sameTools, type WorkerEvent, type WorkerRegistered, type WorkerRole, type WorkerState } from './worker';

/** An event the worker decider emits. */
export type DecidedWorkerEvent = DecidedEventFor<WorkerEvent>;

export type RegisterWorker = {
  kind: 'RegisterWorker';
} & WorkerRegistered;
export interface ChangeTools {
  kind: 'ChangeTools';
  workerId: string;
  tools: WorkerTool[];
}
export interface MarkOnline {
  kind: 'MarkOnline';
  workerId: string;
}
export interface MarkOffline {
  kind: 'MarkOffline';
  workerId: string;
  reason: 'heartbeat-silence' | 'shutdown';
}
export interface DrainWorker {
  kind: 'DrainWorker';
  workerId: string;
  actorId: string;
}
export interface ResumeWorker {
  kind: 'ResumeWorker';
  workerId: string;
  actorId: string;
}
export interface GrantRole {
  kind: 'GrantRole';
  workerId: string;
  actorId: string;
  userId: string;
  role: WorkerRole;
}
export interface RevokeCredential {
  kind: 'RevokeCredential';
  workerId: string;
  actorId: string;
}

export type WorkerCommand = RegisterWorker | ChangeTools | MarkOnline | MarkOffline | DrainWorker | ResumeWorker | GrantRole | RevokeCredential;

export function decide(command: WorkerCommand, state: WorkerState): DecidedWorkerEvent[] {
  switch (command.kind) {
    case 'RegisterWorker': {
      if (state.registered) throw new DomainError('CONFLICT', `worker ${command.workerId} is already registered`);
      const { kind: _kind, ...data } = command;
      return [
        { type: 'WorkerRegistered', data },
        { type: 'WorkerRoleGranted', data: { workerId: command.workerId, userId: command.ownerId, role: 'owner' } },
      ];
    }
    case 'ChangeTools':
      requireRegistered(state, command.workerId);
      return sameTools(state.tools, command.tools) ? [] : [{ type: 'WorkerToolsChanged', data: { workerId: command.workerId, tools: command.tools } }];
    case 'MarkOnline':
      requireRegistered(state, command.workerId);
      // A revoked worker's heartbeats are not trusted any more: it never comes back online.
      if (state.online || state.credentialRevoked) return [];
      return [{ type: 'WorkerWentOnline', data: { workerId: command.workerId } }];
    case 'MarkOffline':
      requireRegistered(state, command.workerId);
      return state.online ? [{ type: 'WorkerWentOffline', data: { workerId: command.workerId, reason: command.reason } }] : [];
    case 'DrainWorker':
      requireOwner(state, command.workerId, command.actorId, 'drain');
      return state.drained ? [] : [{ type: 'WorkerDrained', data: { workerId: command.workerId, byUserId: command.actorId } }];
    case 'ResumeWorker':
      requireOwner(state, command.workerId, command.actorId, 'resume');
      return state.drained ? [{ type: 'WorkerResumed', data: { workerId: command.workerId, byUserId: command.actorId } }] : [];
    case 'GrantRole': {
      requireOwner(state, command.workerId, command.actorId, 'share');
      const current = roleOf(state, command.userId);
      if (current === command.role) return [];
      if (current === 'owner') throw new DomainError('CONFLICT', `user ${command.userId} owns worker ${command.workerId}; an owner cannot be demoted`);
      return [{ type: 'WorkerRoleGranted', data: { workerId: command.workerId, userId: command.userId, role: command.role } }];
    }
    case 'RevokeCredential':
      requireOwner(state, command.workerId, command.actorId, 'revoke the credential of');
      return state.credentialRevoked ? [] : [{ type: 'WorkerCredentialRevoked', data: { workerId: command.workerId, byUserId: command.actorId } }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown worker command ${JSON.stringify(unknown)}`);
    }
  }
}

export const workerDecider: Decider<WorkerState, WorkerCommand, WorkerEvent> = { initialState, evolve, decide, events: workerEvents };

function notFound(workerId: string): DomainError {
  return new DomainError('NOT_FOUND', `worker ${workerId} not found`);
}

function requireRegistered(state: WorkerState, workerId: string): void {
  if (!state.registered) throw notFound(workerId);
}

function requireOwner(state: WorkerState, workerId: string, actorId: string, action: string): void {
  const role = state.registered ? roleOf(state, actorId) : undefined;
  if (!role) throw notFound(workerId);
  if (role !== 'owner') throw new DomainError('FORBIDDEN', `only an owner of worker ${workerId} may ${action} it`);
}
