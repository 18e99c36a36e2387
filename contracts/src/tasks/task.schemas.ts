/*
 * Tasks: what a user submits, what the API returns, and the task's events. A task runs one tool
 * with a tool-specific input. Limits are explicit so bad input is a 400 naming the field, never
 * a 500 or a half-written task.
 */
import { z } from 'zod';
import { text, timestamp } from '../common/text';
import { commandSubject, querySubject } from '../common/subjects';
import { defineEvent, EventRegistry } from '../common/versioning';
import { taskResultSchema, toolInputSchemas, toolNameSchema, watchdogActions } from './tool-input.schemas';

export * from './tool-input.schemas';

export const taskRequirementsSchema = z
  .object({
    minCpus: z.number().int().min(1).max(1024).optional(),
    minMemoryMb: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .optional(),
    minDiskMb: z.number().int().min(1).optional(),
    /** Worker labels that must all be present, e.g. ["gpu", "linux"]. */
    labels: z
      .array(text().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/))
      .max(20)
      .optional(),
    /** Pin to one worker. */
    workerId: text().max(64).optional(),
    /** Tasks with the same key run on distinct workers (a Concurrent workflow's copies). */
    antiAffinity: text()
      .regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'an anti-affinity key is letters, digits and _.:-')
      .optional(),
  })
  .strict();
export type TaskRequirements = z.infer<typeof taskRequirementsSchema>;

export const taskLimits = {
  descriptionMax: 10_000,
  priority: { min: 0, max: 100, default: 50 },
  timeoutSeconds: { min: 1, max: 7 * 24 * 3600, default: 3600 },
  maxAttempts: { min: 1, max: 20, default: 3 },
  queueTimeoutSeconds: { min: 1, max: 7 * 24 * 3600, default: 24 * 3600 },
  heartbeatTimeoutSeconds: { min: 5, max: 3600, default: 30 },
} as const;

export const createTaskBodySchema = z
  .object({
    description: text().min(1, 'description is required').max(taskLimits.descriptionMax, `description must be at most ${taskLimits.descriptionMax} characters`),
    tool: toolNameSchema,
    input: z.record(text(), z.unknown()),
    priority: z.number().int().min(0, 'priority must be 0–100').max(100, 'priority must be 0–100').default(taskLimits.priority.default),
    timeoutSeconds: z.number().int().min(taskLimits.timeoutSeconds.min).max(taskLimits.timeoutSeconds.max).default(taskLimits.timeoutSeconds.default),
    maxAttempts: z.number().int().min(taskLimits.maxAttempts.min).max(taskLimits.maxAttempts.max).default(taskLimits.maxAttempts.default),
    queueTimeoutSeconds: z
      .number()
      .int()
      .min(taskLimits.queueTimeoutSeconds.min)
      .max(taskLimits.queueTimeoutSeconds.max)
      .default(taskLimits.queueTimeoutSeconds.default),
    heartbeatTimeoutSeconds: z
      .number()
      .int()
      .min(taskLimits.heartbeatTimeoutSeconds.min)
      .max(taskLimits.heartbeatTimeoutSeconds.max)
      .default(taskLimits.heartbeatTimeoutSeconds.default),
    requirements: taskRequirementsSchema.default({}),
  })
  .strict()
  .superRefine((body, ctx) => {
    const schema = toolInputSchemas[body.tool];
    const parsed = schema.safeParse(body.input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['input', ...issue.path], message: issue.message });
    }
  })
  // An example that passes the tool-specific input rule (JSON Schema cannot say it): docs show it,
  // and the security suite sends it as the route's valid body.
  .meta({ id: 'CreateTaskBody', examples: [{ description: 'say hello', tool: 'shell', input: { command: 'echo hello' } }] });
export type CreateTaskBody = z.infer<typeof createTaskBodySchema>;

export const updateTaskBodySchema = z
  .object({
    description: createTaskBodySchema.shape.description.optional(),
    priority: z.number().int().min(0, 'priority must be 0–100').max(100, 'priority must be 0–100').optional(),
  })
  .strict()
  .refine((b) => b.description !== undefined || b.priority !== undefined, 'send description and/or priority')
  .meta({ id: 'UpdateTaskBody', examples: [{ priority: 60 }] });
export type UpdateTaskBody = z.infer<typeof updateTaskBodySchema>;

/** `budget_exceeded`: the worker stopped the tool at one of the task's caps (`input.budget`). */
export const taskStatuses = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded'] as const;
export const taskStatusSchema = z.enum(taskStatuses);
export type TaskStatus = z.infer<typeof taskStatusSchema>;
export const terminalStatuses: readonly TaskStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'budget_exceeded'];

/** Where a task created by a workflow run belongs (absent for tasks submitted directly). */
export const taskWorkflowRefSchema = z.object({
  runId: text(),
  nodeId: text(),
  iteration: z.number().int().min(0),
  generation: z.number().int().min(0),
});
export type TaskWorkflowRef = z.infer<typeof taskWorkflowRefSchema>;

export const taskViewSchema = z
  .object({
    id: text(),
    ownerId: text(),
    description: text(),
    tool: toolNameSchema,
    input: z.record(text(), z.unknown()),
    priority: z.number().int(),
    status: taskStatusSchema,
    attempt: z.number().int(),
    maxAttempts: z.number().int(),
    timeoutSeconds: z.number().int(),
    requirements: taskRequirementsSchema,
    workerId: text().nullable(),
    progress: z.number().int().min(0).max(100).nullable(),
    result: taskResultSchema.nullable(),
    createdAt: text(),
    updatedAt: text(),
    startedAt: text().nullable(),
    finishedAt: text().nullable(),
    version: z.number().int(),
    /** The workflow run and node that created this task, if any. */
    workflow: taskWorkflowRefSchema.nullable(),
    /** How often the watchdog flagged the task stalled (every attempt counted). */
    stalls: z.number().int().min(0),
    /** When the current attempt was last flagged stalled; null before that and for each new attempt. */
    stalledAt: text().nullable(),
  })
  .meta({ id: 'Task' });
export type TaskView = z.infer<typeof taskViewSchema>;

export const listTasksQuerySchema = z
  .object({
    /** One status or a comma-separated list; parsing twice (edge, then service) gives the same list. */
    status: z
      .union([
        z.array(taskStatusSchema),
        text().transform((s, ctx) => {
          const parts = s.split(',');
          for (const p of parts) if (!(taskStatuses as readonly string[]).includes(p)) ctx.addIssue({ code: 'custom', message: `unknown status ${p}` });
          return parts as TaskStatus[];
        }),
      ])
      .optional(),
    tool: toolNameSchema.optional(),
    workerId: text().max(64).optional(),
    q: text().max(200).optional(),
    createdFrom: timestamp().optional(),
    createdTo: timestamp().optional(),
    sort: z.enum(['created', '-created', 'priority', '-priority']).default('-created'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: text().max(500).optional(),
  })
  .strict()
  .meta({ id: 'ListTasksQuery' });
export type ListTasksQuery = z.infer<typeof listTasksQuerySchema>;

export const taskPageSchema = z.object({ items: z.array(taskViewSchema), nextCursor: text().nullable() }).meta({ id: 'TaskPage' });
export type TaskPage = z.infer<typeof taskPageSchema>;

// Messages -------------------------------------------------------------------------------------

export const taskSubjects = {
  create: commandSubject('tasks', 'CreateTask'),
  update: commandSubject('tasks', 'UpdateTask'),
  cancel: commandSubject('tasks', 'CancelTask'),
  retry: commandSubject('tasks', 'RetryTask'),
  delete: commandSubject('tasks', 'DeleteTask'),
  get: querySubject('tasks', 'GetTask'),
  list: querySubject('tasks', 'ListTasks'),
  history: querySubject('tasks', 'GetTaskHistory'),
  /** Pull mode: the next task assigned to a worker that polls instead of holding a connection. */
  pull: querySubject('tasks', 'PullTask'),
  /**
   * Fenced: `{ workerId, taskId, attempt }` → TaskSecretRefs when that worker holds the task's
   * current attempt (assigned or running), else FORBIDDEN/NOT_FOUND. The gateway asks it before
   * handing the task's secret values to an agent.
   */
  secretRefs: querySubject('tasks', 'GetTaskSecretRefs'),
  /** The caller's agent usage per day and tool (usage_daily). */
  usage: querySubject('tasks', 'GetUsage'),
} as const;

/** A calendar day, YYYY-MM-DD (UTC), that exists (2026-02-30 does not). */
const isoDay = text()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a day is YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'no such day');

/**
 * `GET /usage`: the caller's agent usage per UTC day and tool; `to` defaults to today, `from` to
 * 29 days before it. The range rules (from ≤ to, at most 366 days) need those defaults, so the
 * tasks service checks them (usage.query.ts), with a 400 naming the field.
 */
export const usageQuerySchema = z.object({ from: isoDay.optional(), to: isoDay.optional() }).strict().meta({ id: 'UsageQuery' });
export type UsageQuery = z.infer<typeof usageQuerySchema>;

const usageFigures = {
  tasks: z.number().int().min(0),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  cachedInputTokens: z.number().int().min(0),
  /** Dollars the tools reported; a lower bound when costUnknownTasks > 0. */
  costUsd: z.number().min(0),
  /** Tasks whose tool reported no cost. */
  costUnknownTasks: z.number().int().min(0),
};
export const usageReportSchema = z
  .object({
    from: text(),
    to: text(),
    days: z.array(z.object({ day: text(), tool: text(), ...usageFigures })),
    total: z.object(usageFigures),
  })
  .meta({ id: 'UsageReport' });
export type UsageReport = z.infer<typeof usageReportSchema>;

/** Every command and query carries the acting user; the service filters by it (no object-level leaks). */
export const actorSchema = z.object({ userId: text().min(1) });
/**
 * A client's `Idempotency-Key` for POST /tasks: the same key from the same user within any time
 * names the same task, so a retry after a timeout or a 429 never creates a second one. Visible
 * ASCII only (it travels as an HTTP header and into logs), at most 255 characters.
 */
export const idempotencyKeySchema = text()
  .min(1, 'Idempotency-Key must not be empty')
  .max(255, 'Idempotency-Key must be at most 255 characters')
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be visible ASCII characters without spaces (a UUID is a good key)');
export const createTaskCommandSchema = z.object({ actor: actorSchema, task: createTaskBodySchema, idempotencyKey: idempotencyKeySchema.optional() });
/** The created task; `replayed` when an earlier request with the same Idempotency-Key created it. */
export const createTaskReplySchema = taskViewSchema.extend({ replayed: z.boolean().optional() });
export const taskRefCommandSchema = z.object({ actor: actorSchema, taskId: text().min(1).max(64) });
export const updateTaskCommandSchema = taskRefCommandSchema.extend({ patch: updateTaskBodySchema });
export const listTasksCommandSchema = z.object({ actor: actorSchema, query: listTasksQuerySchema });
export const usageQueryCommandSchema = z.object({ actor: actorSchema, query: usageQuerySchema });
/** Pull mode: `{ workerId }` — the gateway has already authenticated the worker's credential. */
export const pullTaskQuerySchema = z.object({ workerId: text().min(1).max(64) });
/** The gateway has authenticated the worker; the attempt is the one the agent says it runs. */
export const taskSecretRefsQuerySchema = z.object({ workerId: text().min(1).max(64), taskId: text().min(1).max(64), attempt: z.number().int().min(1) });
export type TaskSecretRefsQuery = z.infer<typeof taskSecretRefsQuerySchema>;
/** Whose secrets, and which: the task's owner and the names its env references. */
export const taskSecretRefsSchema = z.object({ ownerId: text(), names: z.array(text()) });
export type TaskSecretRefs = z.infer<typeof taskSecretRefsSchema>;

// Events (stream `task-<id>`) ------------------------------------------------------------------

const taskId = text();
/**
 * Set on TaskStarted and the terminal events of a task a workflow run created: the relay adds it
 * to the subject (`tasks.events.<event>.<taskId>.<runId>`), so the workflows service consumes
 * only its own tasks' events.
 */
const runRef = text().optional();
export const taskCreatedV1 = defineEvent(
  'TaskCreated',
  1,
  z.object({
    taskId,
    ownerId: text(),
    description: text(),
    tool: toolNameSchema,
    input: z.record(text(), z.unknown()),
    priority: z.number().int(),
    timeoutSeconds: z.number().int(),
    maxAttempts: z.number().int(),
    queueTimeoutSeconds: z.number().int(),
    heartbeatTimeoutSeconds: z.number().int(),
    requirements: taskRequirementsSchema,
    /** Set when a workflow run created the task (from its NodeScheduled event). */
    workflow: taskWorkflowRefSchema.optional(),
    /** Set when the client sent an Idempotency-Key: the key and a hash of the request it came with. */
    idempotency: z.object({ key: text(), requestHash: text() }).optional(),
  }),
);
/** Ready for allocation. `attempt` is the attempt the next assignment will carry. */
export const taskQueuedV1 = defineEvent(
  'TaskQueued',
  1,
  z.object({
    taskId,
    attempt: z.number().int().min(1),
    reason: z.enum(['created', 'requeued', 'retried']),
    /** Backoff: do not assign before this instant. */
    notBefore: text().optional(),
  }),
);
export const taskUpdatedV1 = defineEvent('TaskUpdated', 1, z.object({ taskId, description: text().optional(), priority: z.number().int().optional() }));
export const taskAssignedV1 = defineEvent(
  'TaskAssigned',
  1,
  z.object({ taskId, workerId: text(), attempt: z.number().int(), allocationId: text(), leaseExpiresAt: text() }),
);
export const taskStartedV1 = defineEvent('TaskStarted', 1, z.object({ taskId, workerId: text(), attempt: z.number().int(), startedAt: text(), runId: runRef }));
/** Lease expiry, worker loss or a worker handing the task back: back to the queue or, out of attempts, failed. */
export const taskRequeuedV1 = defineEvent(
  'TaskRequeued',
  1,
  z.object({
    taskId,
    fromAttempt: z.number().int(),
    /** `stalled`: the task's watchdog policy restarts a silent attempt (TaskStalled, action restart). */
    reason: z.enum(['lease-expired', 'worker-lost', 'handed-back', 'heartbeat-silence', 'stalled']),
    workerId: text().nullable(),
  }),
);
export const taskSucceededV1 = defineEvent(
  'TaskSucceeded',
  1,
  z.object({ taskId, attempt: z.number().int(), workerId: text(), result: taskResultSchema, runId: runRef }),
);
export const taskFailedV1 = defineEvent(
  'TaskFailed',
  1,
  z.object({
    taskId,
    attempt: z.number().int(),
    workerId: text().nullable(),
    result: taskResultSchema.nullable(),
    reason: text(),
    /**
     * Absent for an ordinary failure. `budget_exceeded`: the worker stopped the tool at one of the
     * task's caps (`input.budget`), and the task's status is `budget_exceeded` rather than `failed`
     * (a failure of a kind, so whatever treats TaskFailed as terminal — allocation, workflows,
     * usage — needs nothing new).
     */
    kind: z.enum(['budget_exceeded']).optional(),
    runId: runRef,
  }),
);
export const taskTimedOutV1 = defineEvent(
  'TaskTimedOut',
  1,
  z.object({ taskId, attempt: z.number().int(), kind: z.enum(['queue', 'run', 'heartbeat']), workerId: text().nullable(), runId: runRef }),
);
export const taskCancelledV1 = defineEvent(
  'TaskCancelled',
  1,
  z.object({ taskId, attempt: z.number().int(), workerId: text().nullable(), byUserId: text(), runId: runRef }),
);
/** A report (start, result) from an attempt that is no longer current: recorded for auditors, ignored otherwise. */
export const taskReportRejectedV1 = defineEvent(
  'TaskReportRejected',
  1,
  z.object({
    taskId,
    attempt: z.number().int(),
    currentAttempt: z.number().int(),
    workerId: text(),
    report: z.enum(['started', 'result', 'stalled']),
    reason: text(),
  }),
);

/**
 * The running attempt's watchdog flagged it (its worker's `stalled` report, fenced like the
 * others): no output, CPU or file change for `silentSeconds`. `action` is the task's policy
 * (`input.watchdog.action`; notify when only the worker's default applies): notify records it,
 * restart requeues the task (TaskRequeued `stalled`, bounded), fail lets the worker stop it.
 */
export const taskStalledV1 = defineEvent(
  'TaskStalled',
  1,
  z.object({
    taskId,
    attempt: z.number().int(),
    workerId: text(),
    silentSeconds: z.number().int().min(0),
    action: z.enum(watchdogActions),
    /** When the worker saw the stall (its report's `at`). */
    at: text(),
  }),
);

/** Hidden from lists and queries (the stream stays for auditors). Only a finished task can be deleted. */
export const taskDeletedV1 = defineEvent('TaskDeleted', 1, z.object({ taskId, byUserId: text() }));

export const taskEvents = new EventRegistry().register(
  taskDeletedV1,
  taskCreatedV1,
  taskQueuedV1,
  taskUpdatedV1,
  taskAssignedV1,
  taskStartedV1,
  taskRequeuedV1,
  taskSucceededV1,
  taskFailedV1,
  taskTimedOutV1,
  taskCancelledV1,
  taskReportRejectedV1,
  taskStalledV1,
);
