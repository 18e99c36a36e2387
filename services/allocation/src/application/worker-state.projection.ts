/*
 * Allocation's view of each worker, projected from the workers service's events (WORKERS
 * stream): owner and roles, tools, labels, slots, resources, online, drained. Live load (free
 * slots, CPU, memory, disk) comes from the liveness KV bucket instead, never from here.
 *
 * Pure `evolve(row | null, event)`; applied strictly in stream order by WorkerRepository.
 */
import type { Envelope, WorkerResources, WorkerTool } from '@agentyard/contracts';

export interface WorkerState {
  workerId: string;
  /** Last applied version of stream `worker-<workerId>`. */
  version: number;
  registered: boolean;
  /** Its registered name (null before WorkerRegistered, or for a row projected before names were kept). */
  name: string | null;
  ownerId: string | null;
  roles: Record<string, 'owner' | 'user'>;
  tools: WorkerTool[];
  labels: string[];
  slots: number;
  resources: WorkerResources | null;
  online: boolean;
  drained: boolean;
  revoked: boolean;
}

function blank(workerId: string): WorkerState {
  return {
    workerId,
    version: 0,
    registered: false,
    name: null,
    ownerId: null,
    roles: {},
    tools: [],
    labels: [],
    slots: 0,
    resources: null,
    online: false,
    drained: false,
    revoked: false,
  };
}

/** Events after which a pending task may have become placeable (they trigger a pass). */
export const workerEventsThatMayFreeCapacity = new Set(['WorkerRegistered', 'WorkerToolsChanged', 'WorkerWentOnline', 'WorkerResumed', 'WorkerRoleGranted']);

/** Applies one worker event (already validated against its contract schema). */
export function evolveWorker(row: WorkerState | null, event: Envelope): WorkerState {
  const data = event.data;
  const current = row ?? blank(String(data.workerId ?? event.streamId.replace(/^worker-/, '')));
  const s: WorkerState = { ...current, version: event.streamVersion };
  switch (event.type) {
    case 'WorkerRegistered': {
      const ownerId = String(data.ownerId);
      return {
        ...s,
        registered: true,
        name: typeof data.name === 'string' ? data.name : null,
        ownerId,
        roles: { ...s.roles, [ownerId]: 'owner' },
        tools: data.tools as WorkerTool[],
        labels: data.labels as string[],
        slots: Number(data.slots),
        resources: data.resources as WorkerResources,
      };
    }
    case 'WorkerToolsChanged':
      return { ...s, tools: data.tools as WorkerTool[] };
    case 'WorkerWentOnline':
      return { ...s, online: true };
    case 'WorkerWentOffline':
      return { ...s, online: false };
    case 'WorkerDrained':
      return { ...s, drained: true };
    case 'WorkerResumed':
      return { ...s, drained: false };
    case 'WorkerRoleGranted': {
      const userId = String(data.userId);
      // The owner stays owner whatever else is granted to them.
      const role = s.ownerId === userId ? 'owner' : (data.role as 'owner' | 'user');
      return { ...s, roles: { ...s.roles, [userId]: role } };
    }
    case 'WorkerCredentialRevoked':
      return { ...s, revoked: true };
    default:
      return s;
  }
}
