/*
 * Declares workers offline after heartbeat silence: every `sweepIntervalMs` it asks the read
 * model for online workers whose last heartbeat is older than `offlineAfterMs` and issues
 * MarkOffline{heartbeat-silence} for each. The decider makes a repeat harmless (already offline
 * → no event), so several instances may sweep at once. A heartbeat that lands between the scan
 * and the command brings the worker back online at its next beat.
 *
 * It judges only silence it could have heard: for `offlineAfterMs` after it starts it declares
 * nobody offline. Heartbeats are core NATS, so those sent while the service was down (a kill -9 and
 * a restart, a rollout) reached no one; without the wait, a restart slower than `offlineAfterMs`
 * declared every worker offline and requeued every running task — which then ran twice (found by
 * the crash matrix, `npm run chaos`, row "workers"). Tested in liveness-sweeper.unit.spec.ts.
 */
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { PeriodicJob, ROOT_LOGGER } from '@agentyard/service-kit';
import { WorkerViewRepository } from '../infrastructure/worker-view.repository';
import { internalContext, WORKERS_SETTINGS, type WorkersSettings } from './request-context';
import { WorkerCommands } from './worker-commands';

/** True once the sweeper has listened for heartbeats for a whole `offlineAfterMs`: only then is a silence a worker's. */
export function mayJudgeSilence(now: number, listeningSince: number, offlineAfterMs: number): boolean {
  return now - listeningSince >= offlineAfterMs;
}

@Injectable()
export class LivenessSweeper implements BeforeApplicationShutdown {
  private readonly job: PeriodicJob;
  private listeningSince = Date.now();

  constructor(
    private readonly views: WorkerViewRepository,
    private readonly commands: WorkerCommands,
    @Inject(WORKERS_SETTINGS) private readonly settings: WorkersSettings,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.job = new PeriodicJob(
      settings.sweepIntervalMs,
      () => this.sweepOnce(),
      (error) => this.logger.error({ err: error }, 'liveness sweep failed'),
    );
  }

  start(): void {
    this.listeningSince = Date.now();
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** One pass; resolves with the number of workers declared offline. */
  async sweepOnce(): Promise<number> {
    if (!mayJudgeSilence(Date.now(), this.listeningSince, this.settings.offlineAfterMs)) return 0;
    const silent = await this.views.silentWorkers(this.settings.offlineAfterMs);
    let declared = 0;
    for (const workerId of silent) {
      try {
        const { events } = await this.commands.run({ kind: 'MarkOffline', workerId, reason: 'heartbeat-silence' }, internalContext());
        declared += events.length > 0 ? 1 : 0;
      } catch (error) {
        this.logger.error({ err: error, workerId }, 'cannot mark a silent worker offline');
      }
    }
    return declared;
  }
}
