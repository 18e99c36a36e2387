/*
 * Every `scanIntervalMs` (1 s by design) the scanner asks task_view three questions and issues
 * one command per answer, at most `scanBatchSize` per question and scan:
 *   queued past queueTimeoutSeconds          → TimeOutTask(queue)
 *   assigned past leaseExpiresAt             → RequeueTask(lease-expired)
 *   running past startedAt + timeout + grace → TimeOutTask(run)
 * task_view only nominates: each command reloads the task's stream and decides again, so a
 * lagging row, a scanner racing a real report, or two instances scanning at once are harmless
 * (the decider answers [] once the condition no longer holds). Scans never overlap.
 * Tested in test/tasks.int.spec.ts ("when a lease expires", "when a task waits or runs too long").
 */
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { newId } from '@agentyard/contracts';
import { PeriodicJob, ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import type { TaskCommand } from '../domain/task.decide';
import { TaskViewRepository } from '../infrastructure/task-view.repository';
import { TaskCommandRunner } from './task-command.runner';
import { TASKS_SETTINGS, type TasksSettings } from './tasks.settings';

export interface ScanResult {
  queueTimeouts: number;
  leaseExpiries: number;
  runTimeouts: number;
}

@Injectable()
export class TimeoutScanner implements BeforeApplicationShutdown {
  private readonly job: PeriodicJob;

  constructor(
    private readonly commands: TaskCommandRunner,
    private readonly tasks: TaskViewRepository,
    @Inject(TASKS_SETTINGS) private readonly settings: TasksSettings,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.job = new PeriodicJob(
      settings.scanIntervalMs,
      () => this.scanOnce(),
      (error) => this.logger.error({ err: error }, 'timeout scan failed; retrying at the next interval'),
    );
  }

  start(): void {
    this.job.start();
  }

  /** Stops scanning; resolves once a scan in progress has finished. */
  stop(): Promise<void> {
    return this.job.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** One scan at `now`: how many commands changed a task, per kind. */
  async scanOnce(now = new Date()): Promise<ScanResult> {
    const { scanBatchSize: limit, runGraceSeconds } = this.settings;
    const [queued, leases, running] = await Promise.all([
      this.tasks.queuedTooLong(now, limit),
      this.tasks.leaseExpired(now, limit),
      this.tasks.runningTooLong(now, runGraceSeconds, limit),
    ]);
    const result: ScanResult = { queueTimeouts: 0, leaseExpiries: 0, runTimeouts: 0 };
    for (const t of queued)
      result.queueTimeouts += await this.issue(t.id, { kind: 'TimeOutTask', timeout: 'queue', attempt: t.attempt, graceSeconds: runGraceSeconds, now });
    for (const t of leases) {
      if (t.workerId === null) continue;
      result.leaseExpiries += await this.issue(t.id, { kind: 'RequeueTask', reason: 'lease-expired', attempt: t.attempt, workerId: t.workerId, now });
    }
    for (const t of running)
      result.runTimeouts += await this.issue(t.id, { kind: 'TimeOutTask', timeout: 'run', attempt: t.attempt, graceSeconds: runGraceSeconds, now });
    return result;
  }

  private async issue(taskId: string, command: TaskCommand): Promise<number> {
    const id = newId();
    try {
      const { events } = await this.commands.run(taskId, command, { correlationId: id, causationId: id });
      return events.length > 0 ? 1 : 0;
    } catch (error) {
      this.logger.error({ err: error, taskId, command: command.kind }, 'timeout scanner: command failed; the next scan retries it');
      return 0;
    }
  }
}
