/*
 * The worker agent's wire protocol over NATS. Subjects carry the worker id (or task id) so NATS
 * permissions can confine a worker to its own subjects:
 *   work.assign.<workerId>   platform → worker, JetStream stream WORK (durable consumer per worker)
 *   work.report.<workerId>   worker → platform, JetStream stream WORK (started / stalled / finished)
 *   work.output.<workerId>.<taskId>  worker → platform, core NATS: live output and progress, not stored
 *   work.heartbeat.<workerId> worker → platform, core NATS every few seconds
 * Every assignment carries its attempt number; reports echo it so a stale attempt is fenced off.
 */
import { z } from 'zod';
import { text, timestamp } from '../common/text';
import { sanitizeToken } from '../common/subjects';
import { taskResultSchema, toolNameSchema } from '../tasks/tool-input.schemas';

export const workStream = { name: 'WORK', subjects: ['work.assign.>', 'work.report.>'] } as const;
export const workReportSubject = (workerId: string): string => `work.report.${sanitizeToken(workerId)}`;
/** How long a worker has to report `started` after an assignment before tasks requeues it (TASK_LEASE_MS's default). */
export const assignmentLeaseMs = 30_000;
/**
 * An assignment not acked this long is delivered again (the agent acks once its `started` is
 * stored, and acks a repeat of one it holds). A third of the lease, so a delivery lost in flight
 * — a nats-server dying between handing it to the agent's pull and the agent receiving it — is
 * redelivered twice while the attempt still holds its lease. It was equal to the lease: such an
 * assignment came back the moment its lease expired, and the attempt ran as well as its requeue
 * (the crash matrix's "nats-server ×10 in 60 s"). Tested in work.schemas.unit.spec.ts.
 */
export const assignmentAckWaitMs = 10_000;
/** Durable consumer through which a worker receives its assignments. */
export const workerConsumerName = (workerId: string): string => `worker-${sanitizeToken(workerId)}`;

/** The inbox prefix a worker's NATS connection uses: its request replies arrive under it. */
export const workerInboxPrefix = (workerId: string): string => `_INBOX.${sanitizeToken(workerId)}`;

/** Tag of a worker's NATS user naming its durable consumer (`consumer:worker-<id>`). */
export const workerNatsConsumerTag = 'consumer';

/**
 * What a worker's NATS user may do, as the permission template of the account's scoped signing
 * key for workers: `{{name()}}` is the user's name (the worker id) and `{{tag(consumer)}}` its
 * durable consumer (nats-server 2.9 substitutes whole subject tokens only, so
 * `worker-{{name()}}` would stay literal). Its own heartbeat, reports and live output; pulling and
 * acking its own consumer on WORK; replies on its own inbox prefix — nothing else.
 */
export function workerNatsPermissions(): { pub: { allow: string[] }; sub: { allow: string[] } } {
  const durable = `{{tag(${workerNatsConsumerTag})}}`;
  return {
    pub: {
      allow: [
        'work.heartbeat.{{name()}}',
        'work.report.{{name()}}',
        'work.output.{{name()}}.*',
        `$JS.API.CONSUMER.INFO.${workStream.name}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${workStream.name}.${durable}`,
        `$JS.ACK.${workStream.name}.${durable}.>`,
      ],
    },
    sub: { allow: ['_INBOX.{{name()}}.>'] },
  };
}

export const assignmentSchema = z.object({
  kind: z.literal('assign'),
  taskId: text(),
  attempt: z.number().int().min(1),
  tool: toolNameSchema,
  input: z.record(text(), z.unknown()),
  description: text(),
  timeoutSeconds: z.number().int(),
  heartbeatTimeoutSeconds: z.number().int(),
  /** The task's owner: the agent keeps one repository mirror per owner, so unpushed branches stay theirs. */
  ownerId: text().optional(),
});
export const cancellationSchema = z.object({ kind: z.literal('cancel'), taskId: text(), attempt: z.number().int().min(1) });
export const workOrderSchema = z.discriminatedUnion('kind', [assignmentSchema, cancellationSchema]);
export type Assignment = z.infer<typeof assignmentSchema>;
export type Cancellation = z.infer<typeof cancellationSchema>;
export type WorkOrder = z.infer<typeof workOrderSchema>;

/** `budget_exceeded`: the agent stopped the tool at one of the task's caps (its usage so far is in the result). */
export const taskOutcomes = ['succeeded', 'failed', 'timed_out', 'cancelled', 'handed_back', 'budget_exceeded'] as const;
export const workReportSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('started'), taskId: text(), attempt: z.number().int(), workerId: text(), at: text() }),
  z.object({
    kind: z.literal('finished'),
    taskId: text(),
    attempt: z.number().int(),
    workerId: text(),
    outcome: z.enum(taskOutcomes),
    result: taskResultSchema,
  }),
  /**
   * The attempt's watchdog flagged it: no output, no CPU in its process tree and no file change in
   * its working directory for `silentSeconds` (once per stall; activity re-arms it). The task's
   * policy says what follows (tool-input.schemas.ts `watchdogSchema`).
   */
  z.object({
    kind: z.literal('stalled'),
    taskId: text(),
    attempt: z.number().int(),
    workerId: text(),
    silentSeconds: z.number().int().min(0),
    at: timestamp(),
  }),
]);
export type WorkReport = z.infer<typeof workReportSchema>;

/** Longest text of a live agent event (a message, a final summary), in UTF-16 units. */
export const liveAgentTextMax = 4 * 1024;
/** Longest tool input of a live `tool_call`, as JSON, in UTF-16 units. */
export const liveAgentInputMax = 2 * 1024;
/** Most agent events one output chunk carries (the agent publishes a chunk before it holds more). */
export const outputChunkMaxEvents = 256;

const shortText = () => text().max(1024);

/**
 * What an agent CLI did, as the live transcript shows it: the worker's AgentEvents made small
 * (text and summaries cut to 4 KiB, a tool's input to 2 KiB of JSON, no usage — that is in the
 * result). Not stored: only the owner's open dashboards see them.
 */
export const liveAgentEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('session'), sessionId: shortText(), model: shortText().optional() }),
  z.object({ kind: z.literal('text'), text: text().max(liveAgentTextMax) }),
  z.object({ kind: z.literal('tool_call'), name: shortText(), id: shortText().optional(), input: text().max(liveAgentInputMax).optional() }),
  z.object({ kind: z.literal('tool_result'), id: shortText().optional(), isError: z.boolean() }),
  z.object({ kind: z.literal('file_edit'), path: text().max(4096), change: z.enum(['add', 'update', 'delete']) }),
  z.object({ kind: z.literal('result'), summary: text().max(liveAgentTextMax), isError: z.boolean() }),
]);
export type LiveAgentEvent = z.infer<typeof liveAgentEventSchema>;

/**
 * One live output chunk (≤ 16 KiB of UTF-8) and/or a progress figure, with the agent events
 * parsed from the lines that ended in it (in order; an agent CLI's transcript).
 */
export const outputChunkSchema = z.object({
  taskId: text(),
  attempt: z.number().int(),
  seq: z.number().int().min(0),
  data: text().max(16 * 1024),
  progress: z.number().int().min(0).max(100).optional(),
  events: z.array(liveAgentEventSchema).max(outputChunkMaxEvents).optional(),
});
export type OutputChunk = z.infer<typeof outputChunkSchema>;
export const outputChunkMaxBytes = 16 * 1024;
