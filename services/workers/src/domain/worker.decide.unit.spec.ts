import type { WorkerTool } from '@agentyard/contracts';
import { deciderSpec } from '@agentyard/event-sourcing';
import { workerDecider, type DecidedWorkerEvent } from './worker.decide';
import { sameTools } from './worker';

const workerId = 'w-1';
const owner = 'user-owner';
const user = 'user-plain';
const stranger = 'user-stranger';

const spec = deciderSpec(workerDecider, { streamId: `worker-${workerId}`, occurredAt: '2026-11-28T10:00:00.000Z' });
const given = (...events: DecidedWorkerEvent[]) => spec.given(...events);

const registration = {
  workerId,
  ownerId: owner,
  name: 'build-box',
  hostname: 'build-box.local',
  platform: 'linux',
  arch: 'x64',
  tools: [{ name: 'shell' as const, version: null, health: 'healthy' as const, auth: 'ok' as const }],
  slots: 2,
  resources: { cpus: 4, memoryMb: 8192, diskMb: 100_000 },
  labels: ['linux'],
  agentVersion: '0.1.0',
};
const registered: DecidedWorkerEvent = { type: 'WorkerRegistered', data: registration };
const ownerGranted: DecidedWorkerEvent = { type: 'WorkerRoleGranted', data: { workerId, userId: owner, role: 'owner' } };
const userGranted: DecidedWorkerEvent = { type: 'WorkerRoleGranted', data: { workerId, userId: user, role: 'user' } };
const online: DecidedWorkerEvent = { type: 'WorkerWentOnline', data: { workerId } };
const offline: DecidedWorkerEvent = { type: 'WorkerWentOffline', data: { workerId, reason: 'heartbeat-silence' } };
const drained: DecidedWorkerEvent = { type: 'WorkerDrained', data: { workerId, byUserId: owner } };
const resumed: DecidedWorkerEvent = { type: 'WorkerResumed', data: { workerId, byUserId: owner } };
const revoked: DecidedWorkerEvent = { type: 'WorkerCredentialRevoked', data: { workerId, byUserId: owner } };

describe('Worker', () => {
  describe('when it registers', () => {
    it('records the registration and makes the token creator its owner', () => {
      given()
        .when({ kind: 'RegisterWorker', ...registration })
        .then([registered, ownerGranted]);
    });
    it('refuses a second registration under the same id', () => {
      given(registered, ownerGranted)
        .when({ kind: 'RegisterWorker', ...registration })
        .thenThrows('CONFLICT');
    });
  });

  describe('when its first heartbeat arrives', () => {
    it('goes online', () => {
      given(registered, ownerGranted).when({ kind: 'MarkOnline', workerId }).then([online]);
    });
    it('goes online again after it was declared offline', () => {
      given(registered, ownerGranted, online, offline).when({ kind: 'MarkOnline', workerId }).then([online]);
    });
    it('emits nothing when it is already online', () => {
      given(registered, ownerGranted, online).when({ kind: 'MarkOnline', workerId }).then([]);
    });
    it('stays offline once its credential is revoked', () => {
      given(registered, ownerGranted, revoked).when({ kind: 'MarkOnline', workerId }).then([]);
    });
    it('is NOT_FOUND for a worker that never registered', () => {
      given().when({ kind: 'MarkOnline', workerId }).thenThrows('NOT_FOUND');
    });
  });

  describe('when it goes silent', () => {
    it('goes offline with the reason', () => {
      given(registered, ownerGranted, online).when({ kind: 'MarkOffline', workerId, reason: 'heartbeat-silence' }).then([offline]);
    });
    it('emits nothing when it is already offline', () => {
      given(registered, ownerGranted, online, offline).when({ kind: 'MarkOffline', workerId, reason: 'heartbeat-silence' }).then([]);
      given(registered, ownerGranted).when({ kind: 'MarkOffline', workerId, reason: 'heartbeat-silence' }).then([]);
    });
  });

  describe('when its heartbeat lists tools', () => {
    it('records a change', () => {
      const tools = [
        { name: 'shell' as const, version: null, health: 'healthy' as const, auth: 'ok' as const },
        { name: 'claude-code' as const, version: '1.2.0', health: 'healthy' as const, auth: 'ok' as const },
      ];
      given(registered, ownerGranted)
        .when({ kind: 'ChangeTools', workerId, tools })
        .then([{ type: 'WorkerToolsChanged', data: { workerId, tools } }]);
    });
    it('emits nothing for the same tools in another order', () => {
      const tools = [
        { name: 'shell' as const, version: null, health: 'healthy' as const, auth: 'ok' as const },
        { name: 'ollama' as const, version: '0.3', health: 'healthy' as const, auth: 'ok' as const },
      ];
      const changed: DecidedWorkerEvent = { type: 'WorkerToolsChanged', data: { workerId, tools } };
      given(registered, ownerGranted, changed)
        .when({ kind: 'ChangeTools', workerId, tools: [...tools].reverse() })
        .then([]);
    });
    it('records a tool turning unhealthy, and healthy again, as changes', () => {
      const healthy = [{ name: 'claude-api' as const, version: 'api', health: 'healthy' as const, auth: 'ok' as const }];
      const refused = [{ name: 'claude-api' as const, version: 'api', health: 'unhealthy' as const, auth: 'refused' as const, detail: 'key refused (401)' }];
      const before: DecidedWorkerEvent = { type: 'WorkerToolsChanged', data: { workerId, tools: healthy } };
      const after: DecidedWorkerEvent = { type: 'WorkerToolsChanged', data: { workerId, tools: refused } };
      given(registered, ownerGranted, before).when({ kind: 'ChangeTools', workerId, tools: refused }).then([after]);
      given(registered, ownerGranted, before, after).when({ kind: 'ChangeTools', workerId, tools: healthy }).then([before]);
      given(registered, ownerGranted, before, after).when({ kind: 'ChangeTools', workerId, tools: refused }).then([]);
    });
    it('reads a tool stored without health (an older agent’s) as healthy with unknown auth', () => {
      const old = [{ name: 'shell', version: null }] as unknown as WorkerTool[];
      expect(sameTools(old, [{ name: 'shell', version: null, health: 'healthy', auth: 'unknown' }])).toBe(true);
      expect(sameTools(old, [{ name: 'shell', version: null, health: 'healthy', auth: 'ok' }])).toBe(false);
    });
    it('counts another model list as a change, in any order, and an absent list as the same as null', () => {
      const tool = { name: 'ollama' as const, version: 'api', health: 'healthy' as const, auth: 'ok' as const };
      expect(sameTools([{ ...tool, models: ['a:latest', 'b:latest'] }], [{ ...tool, models: ['b:latest', 'a:latest'] }])).toBe(true);
      expect(sameTools([{ ...tool, models: ['a:latest'] }], [{ ...tool, models: ['a:latest', 'b:latest'] }])).toBe(false);
      expect(sameTools([tool], [{ ...tool, models: [] }])).toBe(false);
      expect(sameTools([tool], [{ ...tool, models: null }])).toBe(true);
    });
  });

  describe('when a user drains it', () => {
    it('drains it for its owner', () => {
      given(registered, ownerGranted).when({ kind: 'DrainWorker', workerId, actorId: owner }).then([drained]);
    });
    it('emits nothing when it is already drained', () => {
      given(registered, ownerGranted, drained).when({ kind: 'DrainWorker', workerId, actorId: owner }).then([]);
    });
    it('is FORBIDDEN for a user who may only run tasks on it', () => {
      given(registered, ownerGranted, userGranted).when({ kind: 'DrainWorker', workerId, actorId: user }).thenThrows('FORBIDDEN');
    });
    it('is NOT_FOUND for a user without a role, so its existence does not leak', () => {
      given(registered, ownerGranted).when({ kind: 'DrainWorker', workerId, actorId: stranger }).thenThrows('NOT_FOUND');
      given().when({ kind: 'DrainWorker', workerId, actorId: stranger }).thenThrows('NOT_FOUND');
    });
  });

  describe('when a user resumes it', () => {
    it('resumes a drained worker for its owner, and it can be drained again', () => {
      given(registered, ownerGranted, drained).when({ kind: 'ResumeWorker', workerId, actorId: owner }).then([resumed]);
      given(registered, ownerGranted, drained, resumed).when({ kind: 'DrainWorker', workerId, actorId: owner }).then([drained]);
    });
    it('emits nothing when it is not drained', () => {
      given(registered, ownerGranted).when({ kind: 'ResumeWorker', workerId, actorId: owner }).then([]);
      given(registered, ownerGranted, drained, resumed).when({ kind: 'ResumeWorker', workerId, actorId: owner }).then([]);
    });
    it('is FORBIDDEN for a plain user and NOT_FOUND for a stranger', () => {
      given(registered, ownerGranted, userGranted, drained).when({ kind: 'ResumeWorker', workerId, actorId: user }).thenThrows('FORBIDDEN');
      given(registered, ownerGranted, drained).when({ kind: 'ResumeWorker', workerId, actorId: stranger }).thenThrows('NOT_FOUND');
    });
  });

  describe('when its owner shares it', () => {
    it('grants the role', () => {
      given(registered, ownerGranted).when({ kind: 'GrantRole', workerId, actorId: owner, userId: user, role: 'user' }).then([userGranted]);
    });
    it('emits nothing when the user already holds the role', () => {
      given(registered, ownerGranted, userGranted).when({ kind: 'GrantRole', workerId, actorId: owner, userId: user, role: 'user' }).then([]);
    });
    it('refuses to demote an owner', () => {
      given(registered, ownerGranted).when({ kind: 'GrantRole', workerId, actorId: owner, userId: owner, role: 'user' }).thenThrows('CONFLICT');
    });
    it('is FORBIDDEN for a plain user and NOT_FOUND for a stranger', () => {
      given(registered, ownerGranted, userGranted).when({ kind: 'GrantRole', workerId, actorId: user, userId: stranger, role: 'user' }).thenThrows('FORBIDDEN');
      given(registered, ownerGranted).when({ kind: 'GrantRole', workerId, actorId: stranger, userId: stranger, role: 'owner' }).thenThrows('NOT_FOUND');
    });
  });

  describe('when its owner revokes its credential', () => {
    it('records the revocation once', () => {
      given(registered, ownerGranted).when({ kind: 'RevokeCredential', workerId, actorId: owner }).then([revoked]);
      given(registered, ownerGranted, revoked).when({ kind: 'RevokeCredential', workerId, actorId: owner }).then([]);
    });
    it('is NOT_FOUND for a stranger', () => {
      given(registered, ownerGranted).when({ kind: 'RevokeCredential', workerId, actorId: stranger }).thenThrows('NOT_FOUND');
    });
  });

  describe('folded state', () => {
    it('tracks roles, tools, online, drained and revoked', () => {
      const state = given(registered, ownerGranted, userGranted, online, drained, revoked).state;
      expect(state).toMatchObject({
        registered: true,
        ownerId: owner,
        roles: { [owner]: 'owner', [user]: 'user' },
        online: true,
        drained: true,
        credentialRevoked: true,
      });
    });
    it('compares tool lists regardless of order', () => {
      expect(
        sameTools(
          [{ name: 'shell', version: null, health: 'healthy' as const, auth: 'ok' as const }],
          [{ name: 'shell', version: '1', health: 'healthy' as const, auth: 'ok' as const }],
        ),
      ).toBe(false);
      expect(sameTools([], [])).toBe(true);
    });
  });
});
