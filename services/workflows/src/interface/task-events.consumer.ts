/**
 * The tasks service's events about the tasks this service's runs created, from the consumer
 * declared in event-consumers.ts: TaskStarted and the terminal events, already checked and upcast
 * by the transporter (a message that can never be valid was logged and acked: the shared policy
 * of consumer-declaration.ts in messaging). Thin: hand the fact to the run. Every event of a batch
 * is handed over at once, in stream order: the run's command runner queues them per run in that
 * order and decides what queued meanwhile as one batch (one append for a burst of results).
 */
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { TaskResult } from '@agentyard/contracts';
import { causedBy, handleBatchInOrder, OnConsumer, type EventBatchItem, type EventBatchResult, type MessageOf } from '@agentyard/messaging';
import { RunsHandler } from '../application/runs.handler';
import { WorkflowMetrics } from '../application/workflow.metrics';
import { taskEventsConsumer } from './event-consumers';

@Controller()
export class TaskEventsConsumer {
  constructor(
    private readonly runs: RunsHandler,
    private readonly metrics: WorkflowMetrics,
  ) {}

  @OnConsumer(taskEventsConsumer)
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    // Received now: time spent queued behind other runs' events in this batch is ours too.
    const receivedAt = performance.now();
    // onTaskEvent reaches the runner's queue synchronously (before its first await), so starting
    // them all in order keeps each run's order.
    return handleBatchInOrder(items, (item) => this.onTaskEvent(item, receivedAt));
  }

  private async onTaskEvent(item: EventBatchItem, receivedAt: number): Promise<void> {
    const e = item.data as MessageOf<typeof taskEventsConsumer>;
    const metadata = causedBy(e);
    switch (e.type) {
      case 'TaskStarted': {
        const d = e.data;
        if (!d.runId) return;
        await this.runs.taskStarted({ runId: d.runId, taskId: d.taskId, workerId: d.workerId, attempt: d.attempt }, metadata);
        return;
      }
      case 'TaskSucceeded':
      case 'TaskFailed':
      case 'TaskTimedOut':
      case 'TaskCancelled': {
        const d = e.data;
        if (!d.runId) return;
        const result: TaskResult | null = e.type === 'TaskSucceeded' || e.type === 'TaskFailed' ? e.data.result : null;
        const outcome = e.type === 'TaskSucceeded' ? 'succeeded' : e.type === 'TaskFailed' ? 'failed' : e.type === 'TaskTimedOut' ? 'timed_out' : 'cancelled';
        await this.runs.taskFinished(
          {
            runId: d.runId,
            taskId: d.taskId,
            outcome,
            exitCode: result?.exitCode ?? null,
            output: result?.output,
            text: result?.outputTail ?? '',
            error: e.type === 'TaskFailed' ? (e.data.reason ?? result?.error ?? null) : (result?.error ?? null),
            durationMs: result?.durationMs ?? null,
          },
          metadata,
        );
        this.metrics.taskEventToCommit.observe((performance.now() - receivedAt) / 1000);
        return;
      }
      default:
        return;
    }
  }
}
