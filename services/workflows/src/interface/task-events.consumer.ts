/**
 * The tasks service's events about the tasks this service's runs created. The tasks relay puts
 * a workflow task's run id at the end of the subject (`tasks.events.<event>.<taskId>.<runId>`),
 * so this consumer's filter receives only those: TaskStarted and the terminal events. Thin:
 * check the event against the contracts, hand the fact to the run. Every event of a batch is
 * handed over at once, in stream order: the run's command runner queues them per run in that
 * order and decides what queued meanwhile as one batch (one append for a burst of results). A message that can never be valid is logged and acked (shared policy: parseInboundEvent).
 */
import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { streamName, taskEvents, type TaskResult } from '@agentyard/contracts';
import { causedBy, handleBatchInOrder, parseInboundEvent, type EventBatchItem, type EventBatchResult, type EventConsumerOptions } from '@agentyard/messaging';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import { RunsHandler } from '../application/runs.handler';
import { WorkflowMetrics } from '../application/workflow.metrics';

export const TASK_EVENTS_CONSUMER = 'workflows-task-events';
/** Five tokens: only events that carry a run id (workflow tasks). */
export const TASK_EVENTS_SUBJECT = 'tasks.events.*.*.*';

export function workflowEventConsumers(): EventConsumerOptions[] {
  return [{ stream: streamName('tasks'), durable: TASK_EVENTS_CONSUMER, filterSubject: TASK_EVENTS_SUBJECT, batch: true, concurrency: 256 }];
}

@Controller()
export class TaskEventsConsumer {
  constructor(
    private readonly runs: RunsHandler,
    private readonly metrics: WorkflowMetrics,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  @EventPattern(TASK_EVENTS_SUBJECT, { consumer: TASK_EVENTS_CONSUMER })
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    // Received now: time spent queued behind other runs' events in this batch is ours too.
    const receivedAt = performance.now();
    // onTaskEvent reaches the runner's queue synchronously (before its first await), so starting
    // them all in order keeps each run's order.
    return handleBatchInOrder(items, (item) => this.onTaskEvent(item, receivedAt));
  }

  private async onTaskEvent(item: EventBatchItem, receivedAt: number): Promise<void> {
    const parsed = parseInboundEvent(taskEvents, item.data);
    if (!parsed.ok) {
      this.logger.warn({ subject: item.subject, seq: item.delivery.streamSequence, details: parsed.details }, parsed.problem);
      return;
    }
    const e = parsed.event;
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
