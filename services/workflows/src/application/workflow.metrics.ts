/**
 * The workflows service's own share of a step, as Prometheus sees it: a task's terminal event
 * received → the run's decision about it (the next node's task requested, or the run finished)
 * committed to the event store. A summary rather than a histogram because the figure of interest
 * is a few milliseconds and bucket edges would blur it; bench/workflows reads its quantiles.
 * `runAppend` is the event store's part of it (one run's batch appended), so the deciding and
 * the waiting in this process can be told apart from the database.
 */
import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@agentyard/service-kit';
import { Summary } from 'prom-client';

@Injectable()
export class WorkflowMetrics {
  readonly taskEventToCommit: Summary;
  readonly runAppend: Summary;

  constructor(metrics: MetricsRegistry) {
    this.taskEventToCommit = new Summary({
      name: 'agentyard_workflows_task_event_to_commit_seconds',
      help: "A workflow task's terminal event received → the run's decision on it committed",
      percentiles: [0.5, 0.9, 0.99],
      registers: [metrics.registry],
    });
    this.runAppend = new Summary({
      name: 'agentyard_workflows_run_append_seconds',
      help: "One append of a run's decided events to the event store",
      percentiles: [0.5, 0.9, 0.99],
      registers: [metrics.registry],
    });
  }
}
