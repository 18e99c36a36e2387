import { Injectable } from '@nestjs/common';
import type { CorrelationMetadata, WorkReport } from '@agentyard/contracts';
import { TaskCommandRunner } from './task-command.runner';

@Injectable()
export class RecordWorkReportHandler {
  constructor(private readonly commands: TaskCommandRunner) {}

  /** A worker's `started` / `stalled` / `finished` report → ReportStarted / ReportStalled / ReportFinished (fenced by the decider). */
  async execute(report: WorkReport, metadata: CorrelationMetadata): Promise<void> {
    const now = new Date();
    if (report.kind === 'started') {
      await this.commands.run(report.taskId, { kind: 'ReportStarted', attempt: report.attempt, workerId: report.workerId, now }, metadata);
      return;
    }
    if (report.kind === 'stalled') {
      const { attempt, workerId, silentSeconds, at } = report;
      await this.commands.run(report.taskId, { kind: 'ReportStalled', attempt, workerId, silentSeconds, at, now }, metadata);
      return;
    }
    await this.commands.run(
      report.taskId,
      { kind: 'ReportFinished', attempt: report.attempt, workerId: report.workerId, outcome: report.outcome, result: report.result, now },
      metadata,
    );
  }
}
