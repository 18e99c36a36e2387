/**
 * What tasks consumes from JetStream (one declaration per consumer in event-consumers.ts). Thin:
 * the transporter has already checked each message against its consumer's registry or schema
 * (upcast, validated; one that can never be valid was logged and acked — the shared policy of
 * consumer-declaration.ts in messaging), so a handler narrows on the event type and calls one
 * handler. A report whose body names another worker than its subject, or a node whose ids cannot
 * name a subject, is logged and acked here by the same policy. Any other failure fails that
 * message, so it is redelivered with backoff and dead-lettered after maxDeliver.
 * Work reports, the dispatcher's task events and workflow runs' events come in batches: one
 * task's messages are handled one after the other in stream order, different tasks' at once.
 */
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { causedBy, handleBatchByKey as handleByKey, OnConsumer, type EventBatchItem, type EventBatchResult, type MessageOf } from '@agentyard/messaging';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import { AssignTaskHandler } from '../application/assign-task.handler';
import { RecordWorkReportHandler } from '../application/record-work-report.handler';
import { RequeueWorkerTasksHandler } from '../application/requeue-worker-tasks.handler';
import { WorkDispatcher } from '../application/work-dispatcher';
import { WorkflowTaskHandler } from '../application/workflow-task.handler';
import { allocationDecidedConsumer, dispatcherConsumer, workerOfflineConsumer, workflowNodesConsumer, workReportsConsumer } from './event-consumers';

/**
 * A task id names subjects (`tasks.events.<event>.<taskId>`), API paths (at most 64 characters)
 * and the agent's work directory; a run id names subjects too. The contracts leave both free-form,
 * and an id the relay cannot put in a subject would stop it for good: such a node is refused here.
 */
const taskIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
const runIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

@Controller()
export class TaskEventsConsumer {
  constructor(
    private readonly assign: AssignTaskHandler,
    private readonly reports: RecordWorkReportHandler,
    private readonly workerLost: RequeueWorkerTasksHandler,
    private readonly dispatcher: WorkDispatcher,
    private readonly workflowTasks: WorkflowTaskHandler,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  @OnConsumer(allocationDecidedConsumer)
  async onAllocationDecided(@Payload() event: MessageOf<typeof allocationDecidedConsumer>): Promise<void> {
    const d = event.data;
    await this.assign.execute({ allocationId: d.allocationId, taskId: d.taskId, attempt: d.attempt, workerId: d.workerId }, causedBy(event));
  }

  @OnConsumer(workReportsConsumer)
  async onWorkReports(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return handleByKey(
      items,
      (item) => taskIdIn(item.data),
      (item) => this.onWorkReport(item),
    );
  }

  private async onWorkReport(item: EventBatchItem): Promise<void> {
    const report = item.data as MessageOf<typeof workReportsConsumer>;
    const where = { subject: item.subject, seq: item.delivery.streamSequence };
    // NATS permissions scope the subject to the worker, not the body: the subject is who sent it.
    const sender = item.subject.split('.')[2];
    if (report.workerId !== sender) {
      this.logger.warn({ ...where, workerId: report.workerId }, 'work report dropped: its body names another worker than its subject');
      return;
    }
    const id = `work-report:${where.seq}`;
    await this.reports.execute(report, causedBy({ id }));
  }

  @OnConsumer(workerOfflineConsumer)
  async onWorkerWentOffline(@Payload() event: MessageOf<typeof workerOfflineConsumer>): Promise<void> {
    const workerId = String(event.data.workerId);
    const requeued = await this.workerLost.execute(workerId, new Date(event.occurredAt), causedBy(event));
    if (requeued > 0) this.logger.info({ workerId, requeued }, 'worker went offline: its tasks were requeued');
  }

  @OnConsumer(dispatcherConsumer)
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return handleByKey(
      items,
      (item) => taskIdIn((item.data as { data?: unknown } | null)?.data),
      async (item) => {
        await this.dispatcher.onTaskEvent(item.data as MessageOf<typeof dispatcherConsumer>);
      },
    );
  }

  @OnConsumer(workflowNodesConsumer)
  async onRunEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return handleByKey(
      items,
      (item) => taskIdIn((item.data as { data?: unknown }).data),
      (item) => this.onRunEvent(item),
    );
  }

  /** NodeScheduled → CreateWorkflowTask; NodeCancelled naming a task → CancelWorkflowTask. */
  private async onRunEvent(item: EventBatchItem): Promise<void> {
    const where = { subject: item.subject, seq: item.delivery.streamSequence };
    const event = item.data as MessageOf<typeof workflowNodesConsumer>;
    if (event.type === 'NodeScheduled') {
      const d = event.data;
      if (!taskIdPattern.test(d.taskId) || !runIdPattern.test(d.runId)) {
        this.logger.warn(
          { ...where, taskId: d.taskId, runId: d.runId },
          'NodeScheduled dropped: a task id is 1–64 and a run id 1–128 letters, digits, _ or - (they name subjects)',
        );
        return;
      }
      const workflow = { runId: d.runId, nodeId: d.nodeId, iteration: d.iteration, generation: d.generation };
      await this.workflowTasks.create({ taskId: d.taskId, ownerId: d.ownerId, task: d.task, workflow }, causedBy(event));
      return;
    }
    const d = event.data;
    if (d.taskId !== null) await this.workflowTasks.cancel(d.taskId, d.runId, causedBy(event));
  }
}

/** Task id named by a message body (`{ taskId }`), or '' when it names none. */
function taskIdIn(data: unknown): string {
  const taskId = (data as { taskId?: unknown } | null)?.taskId;
  return typeof taskId === 'string' ? taskId : '';
}
