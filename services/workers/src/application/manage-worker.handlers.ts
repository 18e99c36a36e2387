/*
 * Owner commands on a worker: drain and resume, share (grant a role), revoke its credential. Each replies
 * with the worker as the actor now sees it, read after the projection applied the new events.
 * Refusals come from the decider: no role → 404 (existence does not leak), plain `user` → 403.
 */
import { Injectable } from '@nestjs/common';
import type { WorkerView } from '@agentyard/contracts';
import { LivenessBucket } from '../infrastructure/liveness-bucket';
import { WorkConsumers } from '../infrastructure/work-consumers';
import { WorkerCredentialRepository } from '../infrastructure/worker-credential.repository';
import { GetWorkerQuery } from './get-worker.query';
import type { RequestContext } from './request-context';
import { WorkerCommands } from './worker-commands';

/**
 * Drain (stop placing new tasks, like kubectl cordon) or resume (undo it). One handler: the two
 * differ only in the command.
 */
@Injectable()
export class SetWorkerDrainedHandler {
  constructor(
    private readonly commands: WorkerCommands,
    private readonly getWorker: GetWorkerQuery,
  ) {}

  async execute(actorId: string, workerId: string, drained: boolean, ctx: RequestContext): Promise<WorkerView> {
    const { version } = await this.commands.run({ kind: drained ? 'DrainWorker' : 'ResumeWorker', workerId, actorId }, ctx, actorId);
    await this.commands.settled(workerId, version);
    return this.getWorker.execute(actorId, workerId);
  }
}

@Injectable()
export class GrantWorkerRoleHandler {
  constructor(
    private readonly commands: WorkerCommands,
    private readonly getWorker: GetWorkerQuery,
  ) {}

  async execute(actorId: string, workerId: string, grant: { userId: string; role: 'owner' | 'user' }, ctx: RequestContext): Promise<WorkerView> {
    const { version } = await this.commands.run({ kind: 'GrantRole', workerId, actorId, userId: grant.userId, role: grant.role }, ctx, actorId);
    await this.commands.settled(workerId, version);
    return this.getWorker.execute(actorId, workerId);
  }
}

/**
 * Revocation marks the credential row in the transaction that appends WorkerCredentialRevoked,
 * so authentication refuses it from the moment the event exists. Then, best effort, its liveness
 * entry and its WORK consumer are deleted, so it can no longer pull assignments. Its heartbeats
 * are ignored from then on, so the sweeper declares it offline after the silence.
 */
@Injectable()
export class RevokeWorkerCredentialHandler {
  constructor(
    private readonly commands: WorkerCommands,
    private readonly credentials: WorkerCredentialRepository,
    private readonly liveness: LivenessBucket,
    private readonly consumers: WorkConsumers,
    private readonly getWorker: GetWorkerQuery,
  ) {}

  async execute(actorId: string, workerId: string, ctx: RequestContext): Promise<WorkerView> {
    const { events, version } = await this.commands.run({ kind: 'RevokeCredential', workerId, actorId }, ctx, actorId, (trx) =>
      this.credentials.revoke(trx, workerId),
    );
    if (events.length > 0) {
      await this.liveness.delete(workerId).catch(() => undefined);
      await this.consumers.remove(workerId).catch(() => undefined);
    }
    await this.commands.settled(workerId, version);
    return this.getWorker.execute(actorId, workerId);
  }
}
