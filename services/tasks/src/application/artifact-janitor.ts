/*
 * Keeps the artifact store tidy: every `sweepIntervalMs` it drops uploads begun more than
 * `abandonAfterMs` ago and never committed (the gateway aborts the ones it sees fail; this
 * catches a gateway that died mid-upload), and when a task is deleted it deletes the task's
 * artifacts (`onAppended`, one of the AFTER_APPEND steps tasks.module.ts wires). Reads already
 * refuse a deleted task's artifacts (artifact.query.ts), so a delete that fails here only leaves
 * bytes behind; it is logged.
 */
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { PeriodicJob, ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import { ARTIFACT_SETTINGS, type ArtifactSettings } from './artifact.settings';
import type { TaskEvent, TaskState } from '../domain/task';
import { ARTIFACT_STORE, type ArtifactStore } from './artifact-store.port';

@Injectable()
export class ArtifactJanitor implements BeforeApplicationShutdown {
  private readonly job: PeriodicJob;

  constructor(
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(ARTIFACT_SETTINGS) private readonly settings: ArtifactSettings,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.job = new PeriodicJob(
      settings.sweepIntervalMs,
      () => this.sweepOnce(),
      (error) => this.logger.error({ err: error }, 'artifact sweep failed; retrying at the next interval'),
    );
  }

  /** After a command stored events: a deleted task's artifacts go (an AfterAppend step; never throws). */
  async onAppended(events: TaskEvent[], state: TaskState): Promise<void> {
    if (!events.some((e) => e.type === 'TaskDeleted')) return;
    await this.store
      .deleteTask(state.id)
      .catch((error: unknown) => this.logger.error({ err: error, taskId: state.id }, "deleting a deleted task's artifacts failed"));
  }

  start(): void {
    this.job.start();
  }

  /** Stops sweeping (this replica no longer holds the tasks lease); resolves after a sweep in progress. */
  stop(): Promise<void> {
    return this.job.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** Drops abandoned uploads; how many. */
  async sweepOnce(now = new Date()): Promise<number> {
    const removed = await this.store.removeAbandoned(new Date(now.getTime() - this.settings.abandonAfterMs));
    if (removed > 0) this.logger.info({ removed }, 'dropped abandoned artifact uploads');
    return removed;
  }
}
