/*
 * The workflows service's clock (brief: "the scheduler"). Every `intervalMs` it
 *  - decides each schedule with a fire due (FireSchedule on the workflow's stream: the fire's
 *    outcome — started, queued, skipped — is appended BEFORE any run starts, and the stream's
 *    version check makes two schedulers decide a fire once), then starts the run the fire names
 *    (its id derived from schedule and fire time, so starting it twice is impossible);
 *  - starts a queued fire once the run it waited for has ended;
 *  - ticks runs whose approval default or time limit is due.
 * At boot it reconciles: a fire decided just before a crash, whose run never started, starts now.
 * The views only nominate; every command reloads its stream and decides again. Runs never overlap.
 * Tested in services/gateway/test/workflows.e2e.spec.ts ("Cron schedules").
 */
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { DomainError, newId, type CorrelationMetadata } from '@agentyard/contracts';
import { PeriodicJob, ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import { compileDefinition } from '../domain/compile';
import { ReadModelRepository } from '../infrastructure/read-model.repository';
import type { ScheduleRow } from './read-models.projection';
import { READ_MODEL_SYNC, RunCommandRunner, WorkflowCommandRunner, type ReadModelSync } from './command-runners';
import { RunsHandler } from './runs.handler';

export const SCHEDULER_SETTINGS = Symbol('SCHEDULER_SETTINGS');
export interface SchedulerSettings {
  intervalMs: number;
  /** A fire seen later than this after its time counts as missed (the schedule's missed policy). */
  missedAfterMs: number;
}

const metadata = (): CorrelationMetadata => {
  const id = newId();
  return { correlationId: id, causationId: id };
};

@Injectable()
export class Scheduler implements BeforeApplicationShutdown {
  private readonly job: PeriodicJob;

  constructor(
    private readonly workflows: WorkflowCommandRunner,
    private readonly runs: RunCommandRunner,
    private readonly runsHandler: RunsHandler,
    private readonly views: ReadModelRepository,
    @Inject(READ_MODEL_SYNC) private readonly sync: ReadModelSync,
    @Inject(SCHEDULER_SETTINGS) private readonly settings: SchedulerSettings,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.job = new PeriodicJob(
      settings.intervalMs,
      () => this.tickOnce(),
      (error) => this.logger.error({ err: error }, 'scheduler tick failed; retrying at the next interval'),
    );
  }

  /** Reconciles fires a crash left without their run, then ticks every interval. */
  async start(): Promise<void> {
    await this.sync.catchUp();
    for (const s of await this.views.schedulesWithFires())
      await this.reconcile(s).catch((error) => this.logger.error({ err: error, scheduleId: s.scheduleId }, 'could not reconcile a schedule fire'));
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** One tick at `now`. */
  async tickOnce(now = new Date()): Promise<void> {
    await this.sync.catchUp();
    for (const s of await this.views.dueSchedules(now)) {
      await this.schedule(s, now).catch((error) =>
        this.logger.error({ err: error, scheduleId: s.scheduleId }, 'schedule fire failed; the next tick retries it'),
      );
    }
    for (const runId of await this.views.runsDueForTick(now)) {
      await this.runsHandler.tick(runId, metadata()).catch((error) => this.logger.error({ err: error, runId }, 'run tick failed; the next tick retries it'));
    }
  }

  private async schedule(s: ScheduleRow, now: Date): Promise<void> {
    const activeRuns = await this.views.activeRunsOfSchedule(s.scheduleId);
    if (s.queued && activeRuns === 0) {
      const { events } = await this.workflows.run(s.workflowId, { kind: 'StartQueuedFire', scheduleId: s.scheduleId, activeRuns, now }, metadata());
      for (const e of events) await this.startRun(s.workflowId, s.scheduleId, String(e.data.fireAt), String(e.data.runId));
    }
    if (s.nextFireAt === null || Date.parse(s.nextFireAt) > now.getTime()) return;
    const { events } = await this.workflows.run(
      s.workflowId,
      { kind: 'FireSchedule', scheduleId: s.scheduleId, activeRuns, onTimeMs: this.settings.missedAfterMs, now },
      metadata(),
    );
    for (const e of events) {
      const outcome = String(e.data.outcome);
      if (outcome === 'started' || outcome === 'caught-up') await this.startRun(s.workflowId, s.scheduleId, String(e.data.fireAt), String(e.data.runId));
      else this.logger.info({ scheduleId: s.scheduleId, fireAt: e.data.fireAt, outcome }, 'schedule fire not run');
    }
  }

  /** A decided fire whose run does not exist (the process died in between) starts now. */
  private async reconcile(s: ScheduleRow): Promise<void> {
    const { events } = await this.workflows.load(s.workflowId);
    const lastFire = [...events].reverse().find((e) => (e.type === 'ScheduleFired' || e.type === 'QueuedFireStarted') && e.data.scheduleId === s.scheduleId);
    if (!lastFire) return;
    const outcome = lastFire.type === 'QueuedFireStarted' ? 'started' : String(lastFire.data.outcome);
    if (outcome !== 'started' && outcome !== 'caught-up') return;
    const runId = String(lastFire.data.runId);
    if ((await this.runs.load(runId)).state.exists) return;
    this.logger.warn({ scheduleId: s.scheduleId, runId }, 'a schedule fire had no run (the service stopped in between): starting it');
    await this.startRun(s.workflowId, s.scheduleId, String(lastFire.data.fireAt), runId);
  }

  private async startRun(workflowId: string, scheduleId: string, fireAt: string, runId: string): Promise<void> {
    const { state } = await this.workflows.load(workflowId);
    if (!state.exists || state.deleted) return;
    const definition = state.definition!;
    const input = state.schedules[scheduleId]?.input ?? {};
    try {
      await this.runs.run(
        runId,
        {
          kind: 'StartRun',
          runId,
          workflow: {
            id: workflowId,
            version: state.version,
            name: definition.name,
            kind: definition.kind,
            ownerId: state.ownerId,
            parameters: definition.parameters,
            settings: definition.settings,
          },
          graph: compileDefinition(definition),
          input,
          trigger: { kind: 'schedule', scheduleId, fireAt },
          now: new Date(),
        },
        metadata(),
      );
    } catch (error) {
      // Started already (a repeated reconcile): nothing to do. A bad input is the schedule's: log it.
      if (error instanceof DomainError && error.code === 'CONFLICT') return;
      throw error;
    }
  }
}
