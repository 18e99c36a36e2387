/*
 * The worker_view / worker_roles read model, projected from the service's own event store by a
 * ProjectionRunner (each batch and its checkpoint in one transaction). `evolveWorkerView` and
 * `roleGrantOf` are pure; the repository only loads and upserts. Heartbeat figures are not
 * events and live in worker_liveness, which a rebuild leaves alone, so a rebuilt model equals
 * the live one. Each stored event is parsed by `workerEvents` (upcast + validated) first; a type
 * the registry does not hold changes nothing.
 */
import type { Kysely } from 'kysely';
import { workerEvents, type Envelope, type WorkerResources, type WorkerTool } from '@agentyard/contracts';
import { ProjectionRunner, type ProjectionSource } from '@agentyard/event-sourcing';
import { PostgresCheckpointStore } from '@agentyard/event-store';
import type { WorkerEvent, WorkerRole } from '../domain/worker';
import type { WorkerViewRepository } from '../infrastructure/worker-view.repository';
import type { WorkersDatabase } from '../infrastructure/workers.database';

/** Checkpoint name of the projection. */
export const workerViewProjectionName = 'projection:worker_view';

/** One worker_view row, in domain terms. */
export interface WorkerViewDoc {
  id: string;
  ownerId: string;
  name: string;
  hostname: string;
  platform: string;
  arch: string;
  agentVersion: string;
  tools: WorkerTool[];
  labels: string[];
  slots: number;
  resources: WorkerResources;
  online: boolean;
  drained: boolean;
  credentialRevoked: boolean;
  /** ISO timestamp of the WorkerRegistered event. */
  registeredAt: string;
}

export interface RoleGrant {
  workerId: string;
  userId: string;
  role: WorkerRole;
}

/** The row after `event`; null while the worker is unknown (an event before registration is ignored). */
export function evolveWorkerView(doc: WorkerViewDoc | null, event: WorkerEvent): WorkerViewDoc | null {
  if (event.type === 'WorkerRegistered') {
    const d = event.data;
    return {
      id: d.workerId,
      ownerId: d.ownerId,
      name: d.name,
      hostname: d.hostname,
      platform: d.platform,
      arch: d.arch,
      agentVersion: d.agentVersion,
      tools: d.tools,
      labels: d.labels,
      slots: d.slots,
      resources: d.resources,
      online: doc?.online ?? false,
      drained: doc?.drained ?? false,
      credentialRevoked: doc?.credentialRevoked ?? false,
      registeredAt: event.occurredAt,
    };
  }
  if (!doc) return null;
  switch (event.type) {
    case 'WorkerToolsChanged':
      return { ...doc, tools: event.data.tools };
    case 'WorkerWentOnline':
      return { ...doc, online: true };
    case 'WorkerWentOffline':
      return { ...doc, online: false };
    case 'WorkerDrained':
      return { ...doc, drained: true };
    case 'WorkerResumed':
      return { ...doc, drained: false };
    case 'WorkerCredentialRevoked':
      return { ...doc, credentialRevoked: true };
    default:
      return doc;
  }
}

/** The role a WorkerRoleGranted event gives; undefined for every other event. */
export function roleGrantOf(event: WorkerEvent): RoleGrant | undefined {
  if (event.type !== 'WorkerRoleGranted') return undefined;
  const d = event.data;
  return { workerId: d.workerId, userId: d.userId, role: d.role };
}

/** Worker id an event of the worker stream is about. */
export function workerIdOf(event: Envelope): string | undefined {
  // Also names the relay's subject for any stored event (main.ts), so it reads the envelope untyped.
  const id = event.data.workerId;
  return typeof id === 'string' ? id : undefined;
}

/** The runner that keeps worker_view and worker_roles up to date from the service's own store. */
export function createWorkerViewProjection(options: {
  store: ProjectionSource;
  db: Kysely<WorkersDatabase>;
  views: WorkerViewRepository;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}): ProjectionRunner<WorkersDatabase> {
  const { views } = options;
  return new ProjectionRunner<WorkersDatabase>({
    name: workerViewProjectionName,
    store: options.store,
    db: options.db,
    checkpoints: PostgresCheckpointStore.fromKysely(options.db),
    apply: async (trx, stored) => {
      if (!workerEvents.has(stored.type)) return;
      const event = workerEvents.parse(stored);
      const workerId = event.data.workerId;
      const grant = roleGrantOf(event);
      if (grant) return views.saveRole(trx, grant);
      const before = await views.load(trx, workerId);
      const after = evolveWorkerView(before, event);
      if (after && after !== before) await views.save(trx, after);
    },
    truncate: (trx) => views.truncate(trx),
    pollIntervalMs: options.pollIntervalMs,
    onError: options.onError,
  });
}
