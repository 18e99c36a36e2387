import { DomainError, type WorkerView } from '@agentyard/contracts';
import { isAgentOutdated } from '../domain/agent-version.decide';
import type { WorkerViewRecord } from '../infrastructure/worker-view.repository';

/**
 * The API shape of a worker as one user sees it. Status: `offline` when not online; `draining`
 * when online but drained (it finishes what it runs and takes nothing new); else `online`.
 * Agent version: the latest heartbeat's (sent from every start), else the registered one;
 * outdated when older than `platformAgentVersion`, the package the platform serves.
 */
export function toWorkerView(record: WorkerViewRecord, platformAgentVersion?: string): WorkerView {
  const { doc } = record;
  const agentVersion = record.heartbeat?.agentVersion ?? doc.agentVersion;
  return {
    id: doc.id,
    name: doc.name,
    hostname: doc.hostname,
    ownerId: doc.ownerId,
    role: record.role,
    status: !doc.online ? 'offline' : doc.drained ? 'draining' : 'online',
    drained: doc.drained,
    credentialRevoked: doc.credentialRevoked,
    tools: doc.tools,
    labels: doc.labels,
    slots: doc.slots,
    resources: doc.resources,
    lastHeartbeat: record.heartbeat,
    lastSeenAt: record.lastSeenAt?.toISOString() ?? null,
    registeredAt: doc.registeredAt,
    agentVersion,
    agentOutdated: isAgentOutdated(agentVersion, platformAgentVersion),
  };
}

/** NOT_FOUND for a worker that does not exist and for one the user has no role on alike. */
export function workerNotFound(workerId: string): DomainError {
  return new DomainError('NOT_FOUND', `worker ${workerId} not found`);
}
