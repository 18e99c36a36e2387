/*
 * The worker agent's wire protocol over NATS. Subjects carry the worker id (or task id) so NATS
 * permissions can confine a worker to its own subjects:
 *   work.assign.<workerId>   platform → worker, JetStream stream WORK (durable consumer per worker)
 *   work.report.<workerId>   worker → platform, JetStream stream WORK (started / finished)
 *   work.output.<taskId>     worker → platform, core NATS: live output and progress, not stored
 *   work.heartbeat.<workerId> worker → platform, core NATS every few seconds
 * Every assignment carries its attempt number; reports echo it so a stale attempt is fenced off.
 */
import { z } from 'zod';
import { sanitizeToken } from '../common/subjects';
import { taskResultSchema, toolNameSchema } from '../tasks/tool-input.schemas';

export const workStream = { name: 'WORK', subjects: ['work.assign.>', 'work.report.>'] } as const;
export const workReportSubject = (workerId: string): string => `work.report.${sanitizeToken(workerId)}`;
/** Durable consumer through which a worker receives its assignments. */
export const workerConsumerName = (workerId: string): string => `worker-${sanitizeToken(workerId)}`;

export const assignmentSchema = z.object({
  kind: z.literal('assign'),
  taskId: z.string(),
  attempt: z.number().int().min(1),
  tool: toolNameSchema,
  input: z.record(z.string(), z.unknown()),
  description: z.string(),
  timeoutSeconds: z.number().int(),
  heartbeatTimeoutSeconds: z.number().int(),
});
export const cancellationSchema = z.object({ kind: z.literal('cancel'), taskId: z.string(), attempt: z.number().int().min(1) });
export const workOrderSchema = z.discriminatedUnion('kind', [assignmentSchema, cancellationSchema]);
export type Assignment = z.infer<typeof assignmentSchema>;
export type Cancellation = z.infer<typeof cancellationSchema>;
export type WorkOrder = z.infer<typeof workOrderSchema>;

export const taskOutcomes = ['succeeded', 'failed', 'timed_out', 'cancelled', 'handed_back'] as const;
export const workReportSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('started'), taskId: z.string(), attempt: z.number().int(), workerId: z.string(), at: z.string() }),
  z.object({
    kind: z.literal('finished'),
    taskId: z.string(),
    attempt: z.number().int(),
    workerId: z.string(),
    outcome: z.enum(taskOutcomes),
    result: taskResultSchema,
  }),
]);
export type WorkReport = z.infer<typeof workReportSchema>;

/** One live output chunk (≤ 16 KiB of UTF-8) and/or a progress figure. */
export const outputChunkSchema = z.object({
  taskId: z.string(),
  attempt: z.number().int(),
  seq: z.number().int().min(0),
  data: z.string().max(16 * 1024),
  progress: z.number().int().min(0).max(100).optional(),
});
export type OutputChunk = z.infer<typeof outputChunkSchema>;
export const outputChunkMaxBytes = 16 * 1024;
