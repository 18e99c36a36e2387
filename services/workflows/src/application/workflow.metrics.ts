/**
 * The workflows service's own share of a step, as Prometheus sees it: a task's terminal event
 * received → the run's decision about it (the next node's task requested, or the run finished)
 * committed to the event store. A summary rather than a histogram because the figure of interest
 * is a few milliseconds and bucket edges would blur it; bench/workflows reads its quantiles.
 */
import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@agentyard/service-kit';
import { Summary } from 'prom-client';

@Injectable()
export class WorkflowMetrics {
  readonly taskEventToCommit: Summary;

  constructor(metrics: MetricsRegistry) {
    this.taskEventToCommit = new Summary({
      name: 'agentyard_workflows_task_event_to_commit_seconds',
      help: "A workflow task's terminal event received → the run's decision on it committed",
      percentiles: [0.5, 0.9, 0.99],
      registers: [metrics.registry],
    });
  }
}
