/*
 * Heartbeats, over core NATS (`work.heartbeat.<id>`) or HTTP (via the gateway). Kept cheap: one
 * SQL statement (record the liveness row of a known worker and read its projected state) and
 * one KV put per heartbeat; an event only when something changed — the worker came (back)
 * online, or its tools differ. Whether a worker went silent is decided by LivenessSweeper.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Heartbeat } from '@agentyard/contracts';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import { sameTools } from '../domain/worker';
import { LivenessBucket } from '../infrastructure/liveness-bucket';
import { WorkConsumers } from '../infrastructure/work-consumers';
import { WorkerViewRepository, type ProjectedLiveness } from '../infrastructure/worker-view.repository';
import type { RequestContext } from './request-context';
import { WorkerCommands } from './worker-commands';

export type HeartbeatOutcome = 'recorded' | 'unknown-worker' | 'revoked';

const workerIdShape = /^[A-Za-z0-9_-]{1,64}$/;

@Injectable()
export class RecordHeartbeatHandler {
  constructor(
    private readonly views: WorkerViewRepository,
    private readonly liveness: LivenessBucket,
    private readonly commands: WorkerCommands,
    private readonly consumers: WorkConsumers,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async execute(heartbeat: Heartbeat, ctx: RequestContext): Promise<HeartbeatOutcome> {
    const { workerId } = heartbeat;
    if (!workerIdShape.test(workerId)) return 'unknown-worker';
    let state: ProjectedLiveness | undefined = await this.views.recordHeartbeat(workerId, heartbeat);
    if (!state) {
      // Unknown to the read model: a stranger, or a worker registered a moment ago whose events
      // are not projected yet. The event store decides which.
      const written = await this.commands.load(workerId);
      if (!written.registered) return 'unknown-worker';
      if (written.credentialRevoked) return 'revoked';
      await this.views.recordHeartbeatUnchecked(workerId, heartbeat);
      state = { online: written.online, credentialRevoked: false, tools: written.tools };
    }
    if (state.credentialRevoked) return 'revoked';
    await this.liveness.put(heartbeat);
    // Tools first: allocation retries deferred tasks when the worker comes online.
    if (!sameTools(state.tools, heartbeat.tools)) await this.commands.run({ kind: 'ChangeTools', workerId, tools: heartbeat.tools }, ctx);
    if (!state.online) {
      await this.consumers.ensureOnce(workerId).catch((error: unknown) => {
        this.logger.error({ err: error, workerId }, 'cannot verify the WORK consumer of a worker coming online');
      });
      await this.commands.run({ kind: 'MarkOnline', workerId }, ctx);
    }
    return 'recorded';
  }
}
