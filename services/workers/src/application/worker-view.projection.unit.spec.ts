import { workerEvents } from '@agentyard/contracts';
import type { WorkerEvent } from '../domain/worker';
import { evolveWorkerView, roleGrantOf, workerIdOf, type WorkerViewDoc } from './worker-view.projection';

const workerId = 'w-1';
let seq = 0;
/** A stored event, parsed as the projection's runner parses it. */
function event(type: string, data: Record<string, unknown>, occurredAt = '2026-11-28T10:00:00.000Z'): WorkerEvent {
  seq += 1;
  return workerEvents.parse({
    id: `00000000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    type,
    version: 1,
    streamId: `worker-${workerId}`,
    streamVersion: seq,
    occurredAt,
    data,
    metadata: { correlationId: 'c', causationId: 'c' },
  });
}

const registered = event('WorkerRegistered', {
  workerId,
  ownerId: 'u-1',
  name: 'build-box',
  hostname: 'build-box.local',
  platform: 'linux',
  arch: 'x64',
  tools: [{ name: 'shell', version: null }],
  slots: 2,
  resources: { cpus: 4, memoryMb: 8192, diskMb: 1000 },
  labels: ['gpu'],
  agentVersion: '0.1.0',
});

const project = (...events: WorkerEvent[]): WorkerViewDoc | null => events.reduce<WorkerViewDoc | null>(evolveWorkerView, null);

describe('worker_view projection', () => {
  describe('when a worker registers', () => {
    it('creates the row, offline and not drained, stamped with the registration time', () => {
      expect(project(registered)).toEqual({
        id: workerId,
        ownerId: 'u-1',
        name: 'build-box',
        hostname: 'build-box.local',
        platform: 'linux',
        arch: 'x64',
        agentVersion: '0.1.0',
        // A tool stored before health was reported reads with the schema's defaults.
        tools: [{ name: 'shell', version: null, health: 'healthy', auth: 'unknown' }],
        labels: ['gpu'],
        slots: 2,
        resources: { cpus: 4, memoryMb: 8192, diskMb: 1000 },
        online: false,
        drained: false,
        credentialRevoked: false,
        registeredAt: '2026-11-28T10:00:00.000Z',
      });
    });
  });

  describe('when its liveness, tools, drain and credential change', () => {
    it('follows each fact', () => {
      const tools = [{ name: 'ollama', version: '0.3' }];
      const doc = project(
        registered,
        event('WorkerWentOnline', { workerId }),
        event('WorkerToolsChanged', { workerId, tools }),
        event('WorkerDrained', { workerId, byUserId: 'u-1' }),
      );
      expect(doc).toMatchObject({ online: true, tools, drained: true, credentialRevoked: false });
      const later = project(
        registered,
        event('WorkerWentOnline', { workerId }),
        event('WorkerWentOffline', { workerId, reason: 'heartbeat-silence' }),
        event('WorkerCredentialRevoked', { workerId, byUserId: 'u-1' }),
      );
      expect(later).toMatchObject({ online: false, credentialRevoked: true });
    });
  });

  describe('when an event arrives for a worker it has no row for', () => {
    it('leaves the model empty rather than inventing a row', () => {
      expect(project(event('WorkerWentOnline', { workerId }))).toBeNull();
    });
  });

  describe('when a role is granted', () => {
    it('yields the grant for worker_roles and leaves the row alone', () => {
      const granted = event('WorkerRoleGranted', { workerId, userId: 'u-2', role: 'user' });
      expect(roleGrantOf(granted)).toEqual({ workerId, userId: 'u-2', role: 'user' });
      expect(roleGrantOf(registered)).toBeUndefined();
      const doc = project(registered);
      expect(evolveWorkerView(doc, granted)).toBe(doc);
    });
  });

  describe('when the same events are replayed', () => {
    it('produces the same row (a rebuild equals the live model)', () => {
      const events = [registered, event('WorkerWentOnline', { workerId }), event('WorkerDrained', { workerId, byUserId: 'u-1' })];
      expect(project(...events)).toEqual(project(...events));
      expect(workerIdOf(registered)).toBe(workerId);
    });
  });
});
