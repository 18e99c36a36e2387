/*
 * A worker's write-side state, folded from its stream `worker-<id>`. Pure: no I/O, no clock.
 * Online/offline is a fact in the stream (WorkerWentOnline / WorkerWentOffline), decided from
 * heartbeats by the service; the heartbeat figures themselves are never events.
 */
import type { EventDataOf, EventOf, WorkerTool, workerEvents } from '@agentyard/contracts';

/** A worker event as evolve and the projection see it: parsed by `workerEvents`, narrowed by `type`. */
export type WorkerEvent = EventOf<typeof workerEvents>;

export type WorkerRole = 'owner' | 'user';

export type WorkerRegistered = EventDataOf<typeof workerEvents, 'WorkerRegistered'>;
export type WorkerToolsChanged = EventDataOf<typeof workerEvents, 'WorkerToolsChanged'>;
export type WorkerWentOnline = EventDataOf<typeof workerEvents, 'WorkerWentOnline'>;
export type WorkerWentOffline = EventDataOf<typeof workerEvents, 'WorkerWentOffline'>;
export type WorkerDrained = EventDataOf<typeof workerEvents, 'WorkerDrained'>;
export type WorkerRoleGranted = EventDataOf<typeof workerEvents, 'WorkerRoleGranted'>;
export type WorkerCredentialRevoked = EventDataOf<typeof workerEvents, 'WorkerCredentialRevoked'>;

export interface WorkerState {
  registered: boolean;
  workerId: string | null;
  ownerId: string | null;
  /** userId → role; the owner holds `owner`. */
  roles: Record<string, WorkerRole>;
  tools: WorkerTool[];
  online: boolean;
  drained: boolean;
  credentialRevoked: boolean;
}

export const workerStreamId = (workerId: string): string => `worker-${workerId}`;

export function initialState(): WorkerState {
  return { registered: false, workerId: null, ownerId: null, roles: {}, tools: [], online: false, drained: false, credentialRevoked: false };
}

export function evolve(state: WorkerState, event: WorkerEvent): WorkerState {
  switch (event.type) {
    case 'WorkerRegistered': {
      const data = event.data;
      return { ...state, registered: true, workerId: data.workerId, ownerId: data.ownerId, tools: data.tools };
    }
    case 'WorkerRoleGranted': {
      const data = event.data;
      return { ...state, roles: { ...state.roles, [data.userId]: data.role } };
    }
    case 'WorkerToolsChanged':
      return { ...state, tools: event.data.tools };
    case 'WorkerWentOnline':
      return { ...state, online: true };
    case 'WorkerWentOffline':
      return { ...state, online: false };
    case 'WorkerDrained':
      return { ...state, drained: true };
    case 'WorkerResumed':
      return { ...state, drained: false };
    case 'WorkerCredentialRevoked':
      return { ...state, credentialRevoked: true };
    default:
      return state;
  }
}

/** The role `userId` holds on the worker, if any. */
export function roleOf(state: WorkerState, userId: string): WorkerRole | undefined {
  return Object.prototype.hasOwnProperty.call(state.roles, userId) ? state.roles[userId] : undefined;
}

/**
 * Same tools regardless of order (a worker may list them in any order), health included: a tool
 * turning unhealthy (or back) is a change, recorded as WorkerToolsChanged so allocation stops (or
 * resumes) placing on it. A stored entry without health/auth (written before those fields, or
 * read raw from the view's jsonb) counts as the contract's defaults, healthy and unknown. A new
 * model list is a change too (allocation turns away tasks naming a model the tool lacks); an
 * absent list and null both mean unknown.
 */
export function sameTools(a: readonly WorkerTool[], b: readonly WorkerTool[]): boolean {
  if (a.length !== b.length) return false;
  const key = (t: WorkerTool) =>
    JSON.stringify([t.name, t.version ?? '', t.health ?? 'healthy', t.auth ?? 'unknown', t.detail ?? '', t.models ? [...t.models].sort() : null]);
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}
