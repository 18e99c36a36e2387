/**
 * What tasks consumes from JetStream (durable consumers in event-consumers.ts). Thin: check the
 * message against the contracts, call one handler. A message that can never be valid (bad
 * envelope, bad payload, a report whose body names another worker than its subject) is logged
 * and acked — redelivering it would fail the same way forever. Any other failure fails that
 * message, so it is redelivered with backoff and dead-lettered after maxDeliver.
 * Work reports, the dispatcher's task events and workflow runs' events come in batches
 * (event-consumers.ts): one task's messages are handled one after the other in stream order,
 * different tasks' at once.
 */
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import {
  allocationEvents,
  envelopeSchema,
  runEvents,
  taskEvents,
  workerEvents,
  workReportSchema,
  type EventRegistry,
  type EventUnion,
  type Envelope,
} from '@agentyard/contracts';
import { causedBy, handleBatchByKey as handleByKey, JetStreamEventContext, type EventBatchItem, type EventBatchResult } from '@agentyard/messaging';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import type { Logger } from 'pino';
import { AssignTaskHandler } from '../application/assign-task.handler';
import { RecordWorkReportHandler } from '../application/record-work-report.handler';
import { RequeueWorkerTasksHandler } from '../application/requeue-worker-tasks.handler';
import { WorkDispatcher } from '../application/work-dispatcher';
import { WorkflowTaskHandler } from '../application/workflow-task.handler';
import { consumedSubjects, consumerNames } from './event-consumers';

/**
 * The contracts' envelope, with metadata checked loosely: a producer adding a metadata field must
 * not make us drop its events (a dropped AllocationDecided would strand a task). The payload is
 * still checked strictly, by the event's registry.
 */
const inboundEnvelopeSchema = envelopeSchema.extend({
  metadata: z.looseObject({
    correlationId: z.string().optional(),
    causationId: z.string().optional(),
    userId: z.string().optional(),
    traceparent: z.string().optional(),
  }),
});

/** The run events tasks acts on; every other one is acked unread. */
const nodeEventTypes: ReadonlySet<unknown> = new Set(['NodeScheduled', 'NodeCancelled']);

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

  @EventPattern(consumedSubjects.allocationDecided, { consumer: consumerNames.allocationDecided })
  async onAllocationDecided(@Payload() data: unknown, @Ctx() ctx: JetStreamEventContext): Promise<void> {
    const event = this.envelope(allocationEvents, 'AllocationDecided', data, ctx);
    if (!event) return;
    const d = event.data;
    await this.assign.execute({ allocationId: d.allocationId, taskId: d.taskId, attempt: d.attempt, workerId: d.workerId }, causedBy(event));
  }

  @EventPattern(consumedSubjects.workReports, { consumer: consumerNames.workReports })
  async onWorkReports(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return handleByKey(
      items,
      (item) => taskIdIn(item.data),
      (item) => this.onWorkReport(item),
    );
  }

  private async onWorkReport(item: EventBatchItem): Promise<void> {
    const parsed = workReportSchema.safeParse(item.data);
    const where = { subject: item.subject, seq: item.delivery.streamSequence };
    if (!parsed.success) {
      this.logger.warn({ ...where, issues: parsed.error.issues }, 'malformed work report dropped');
      return;
    }
    // NATS permissions scope the subject to the worker, not the body: the subject is who sent it.
    const sender = item.subject.split('.')[2];
    if (parsed.data.workerId !== sender) {
      this.logger.warn({ ...where, workerId: parsed.data.workerId }, 'work report dropped: its body names another worker than its subject');
      return;
    }
    const id = `work-report:${where.seq}`;
    await this.reports.execute(parsed.data, causedBy({ id }));
  }

  @EventPattern(consumedSubjects.workerOffline, { consumer: consumerNames.workerOffline })
  async onWorkerWentOffline(@Payload() data: unknown, @Ctx() ctx: JetStreamEventContext): Promise<void> {
    const event = this.envelope(workerEvents, 'WorkerWentOffline', data, ctx);
    if (!event) return;
    const workerId = String(event.data.workerId);
    const requeued = await this.workerLost.execute(workerId, new Date(event.occurredAt), causedBy(event));
    if (requeued > 0) this.logger.info({ workerId, requeued }, 'worker went offline: its tasks were requeued');
  }

  @EventPattern(consumedSubjects.dispatcher, { consumer: consumerNames.dispatcher })
  async onTaskEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return handleByKey(
      items,
      (item) => taskIdIn((item.data as { data?: unknown } | null)?.data),
      async (item) => {
        const event = this.envelope(taskEvents, undefined, item.data, { subject: item.subject, seq: item.delivery.streamSequence });
        if (event) await this.dispatcher.onTaskEvent(event);
      },
    );
  }

  @EventPattern(consumedSubjects.workflowNodes, { consumer: consumerNames.workflowNodes })
  async onRunEvents(@Payload() items: EventBatchItem[]): Promise<EventBatchResult> {
    return handleByKey(
      items,
      (item) => (nodeEventTypes.has(typeIn(item.data)) ? taskIdIn((item.data as { data?: unknown }).data) : ''),
      (item) => this.onRunEvent(item),
    );
  }

  /** NodeScheduled → CreateWorkflowTask; NodeCancelled naming a task → CancelWorkflowTask. */
  private async onRunEvent(item: EventBatchItem): Promise<void> {
    if (!nodeEventTypes.has(typeIn(item.data))) return;
    const where = { subject: item.subject, seq: item.delivery.streamSequence };
    const event = this.envelope(runEvents, undefined, item.data, where);
    if (!event) return;
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
    if (event.type !== 'NodeCancelled') return;
    const d = event.data;
    if (d.taskId !== null) await this.workflowTasks.cancel(d.taskId, d.runId, causedBy(event));
  }

  /** The envelope, upcast and validated into the registry's union; undefined (logged) when it cannot be one of `type`. */
  private envelope<M extends object, T extends keyof M & string = keyof M & string>(
    registry: EventRegistry<M>,
    type: T | undefined,
    data: unknown,
    from: JetStreamEventContext | { subject: string; seq: number },
  ): Extract<EventUnion<M>, { type: T }> | undefined {
    const where = from instanceof JetStreamEventContext ? { subject: from.getSubject(), seq: from.getDelivery().streamSequence } : from;
    const parsed = inboundEnvelopeSchema.safeParse(data);
    if (!parsed.success) {
      this.logger.warn({ ...where, issues: parsed.error.issues }, 'malformed event envelope dropped');
      return undefined;
    }
    if (type !== undefined && parsed.data.type !== type) {
      this.logger.warn({ ...where, type: parsed.data.type }, `expected ${type}; event dropped`);
      return undefined;
    }
    try {
      // Narrowing to `type` is sound: it was checked above, and parse keeps the type.
      return registry.parse(parsed.data as Envelope) as Extract<EventUnion<M>, { type: T }>;
    } catch (error) {
      this.logger.warn({ ...where, type: parsed.data.type, err: error }, 'event payload does not match its schema; dropped');
      return undefined;
    }
  }
}

/** An envelope's `type`, read without validating it. */
function typeIn(data: unknown): unknown {
  return (data as { type?: unknown } | null)?.type;
}

/** Task id named by a message body (`{ taskId }`), or '' when it names none. */
function taskIdIn(data: unknown): string {
  const taskId = (data as { taskId?: unknown } | null)?.taskId;
  return typeof taskId === 'string' ? taskId : '';
}
