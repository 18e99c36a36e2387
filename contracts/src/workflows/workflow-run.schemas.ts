/*
 * A run's compiled graph and its events (stream `run-<runId>`), and a workflow's events (stream
 * `workflow-<workflowId>`). A run stores the graph it was compiled to in RunStarted, so a later
 * change to the compiler or to the workflow never changes what a stored run decides.
 */
import { z } from 'zod';
import { text } from '../common/text';
import { defineEvent, EventRegistry } from '../common/versioning';
import { taskRequirementsSchema } from '../tasks/task.schemas';
import { toolNameSchema } from '../tasks/tool-input.schemas';
import {
  joinSchema,
  planSettingsSchema,
  planStepSchema,
  selectStrategySchema,
  taskSpecSchema,
  workflowDefinitionSchema,
  workflowKinds,
  workflowSettingsSchema,
} from './workflow-definition.schemas';

/** A node of the runtime graph (every kind compiles to these). */
export const runNodeSchema = z.object({
  id: text(),
  label: text().optional(),
  type: z.enum(['task', 'director', 'approval', 'gate', 'select']),
  join: joinSchema,
  task: taskSpecSchema.optional(),
  plan: planSettingsSchema.optional(),
  approval: z.object({ message: text().optional(), timeoutSeconds: z.number().int(), onTimeout: z.enum(['approve', 'reject']) }).optional(),
  select: z.object({ strategy: selectStrategySchema, judge: text().optional(), voteOn: text().optional() }).optional(),
  cancelRemaining: z.boolean().optional(),
  /** Copies with the same group run on distinct workers (prefixed with the run id when scheduled). */
  antiAffinity: text().optional(),
  /** 0 for the definition's nodes; a plan's steps are one deeper than their director. */
  depth: z.number().int().min(0),
  /** The director whose plan made this node. */
  parent: text().optional(),
  /** The plan step this node runs (`{{step.*}}`). */
  step: planStepSchema.optional(),
});
export type RunNode = z.infer<typeof runNodeSchema>;

export const runEdgeSchema = z.object({
  id: text(),
  from: text(),
  to: text(),
  condition: text().optional(),
  loop: z.object({ maxIterations: z.number().int(), onExhausted: z.enum(['fail', 'continue']) }).optional(),
});
export type RunEdge = z.infer<typeof runEdgeSchema>;

/** Nodes in a topological order of the forward (non-loop) edges. */
export const runGraphSchema = z.object({ nodes: z.array(runNodeSchema), edges: z.array(runEdgeSchema) }).meta({ id: 'RunGraph' });
export type RunGraph = z.infer<typeof runGraphSchema>;

export const runStatuses = ['running', 'paused', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export const runStatusSchema = z.enum(runStatuses);
export type RunStatus = z.infer<typeof runStatusSchema>;
export const finishedRunStatuses: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];

export const nodeStatuses = ['pending', 'scheduled', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled', 'rejected'] as const;
export const nodeStatusSchema = z.enum(nodeStatuses);
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

export const runTriggerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manual'), userId: text() }),
  z.object({ kind: z.literal('schedule'), scheduleId: text(), fireAt: text() }),
  z.object({ kind: z.literal('template'), templateId: text(), userId: text() }),
]);
export type RunTrigger = z.infer<typeof runTriggerSchema>;

/** The task a node asks the tasks service to create (templates rendered). */
export const nodeTaskSchema = z.object({
  description: text(),
  tool: toolNameSchema,
  input: z.record(text(), z.unknown()),
  priority: z.number().int(),
  timeoutSeconds: z.number().int(),
  maxAttempts: z.number().int(),
  requirements: taskRequirementsSchema,
});
export type NodeTask = z.infer<typeof nodeTaskSchema>;

// Run events (stream `run-<runId>`) -------------------------------------------------------------

const runId = text();
const nodeId = text();
const iteration = z.number().int().min(0);

export const runStartedV1 = defineEvent(
  'RunStarted',
  1,
  z.object({
    runId,
    workflowId: text(),
    workflowVersion: z.number().int().min(1),
    ownerId: text(),
    name: text(),
    kind: z.enum(workflowKinds),
    input: z.record(text(), z.unknown()),
    graph: runGraphSchema,
    settings: workflowSettingsSchema,
    trigger: runTriggerSchema,
    /** When the run times out (settings.timeoutSeconds), if it has a limit. */
    deadline: text().nullable(),
  }),
);
/** A node's task is due: the tasks service creates task `taskId` (idempotently) from this event. */
export const nodeScheduledV1 = defineEvent(
  'NodeScheduled',
  1,
  z.object({ runId, nodeId, iteration, generation: z.number().int().min(0), taskId: text(), ownerId: text(), task: nodeTaskSchema }),
);
export const nodeStartedV1 = defineEvent('NodeStarted', 1, z.object({ runId, nodeId, taskId: text(), workerId: text(), attempt: z.number().int() }));
export const nodeSucceededV1 = defineEvent(
  'NodeSucceeded',
  1,
  z.object({
    runId,
    nodeId,
    iteration,
    taskId: text().nullable(),
    exitCode: z.number().int().nullable(),
    output: z.unknown().optional(),
    text: text().optional(),
    durationMs: z.number().int().nullable(),
  }),
);
export const nodeFailedV1 = defineEvent(
  'NodeFailed',
  1,
  z.object({
    runId,
    nodeId,
    iteration,
    taskId: text().nullable(),
    exitCode: z.number().int().nullable(),
    /** What a person should read: the task's failure, a template or plan validation message. */
    reason: text(),
    output: z.unknown().optional(),
    text: text().optional(),
  }),
);
/**
 * Edges whose source has finished, decided: taken (its condition held) or not. A loop-back edge
 * whose condition held after its last iteration is `exhausted` (not taken).
 */
export const edgesDecidedV1 = defineEvent(
  'EdgesDecided',
  1,
  z.object({ runId, edges: z.array(z.object({ edgeId: text(), taken: z.boolean(), exhausted: z.boolean().optional() })).min(1) }),
);
export const nodeSkippedV1 = defineEvent('NodeSkipped', 1, z.object({ runId, nodeId, iteration, reason: text() }));
/** The node's task (if any) is to be cancelled: the tasks service does it. */
export const nodeCancelledV1 = defineEvent(
  'NodeCancelled',
  1,
  z.object({ runId, nodeId, iteration, taskId: text().nullable(), ownerId: text(), reason: text() }),
);
export const approvalRequestedV1 = defineEvent(
  'ApprovalRequested',
  1,
  z.object({ runId, nodeId, iteration, message: text().nullable(), deadline: text(), onTimeout: z.enum(['approve', 'reject']) }),
);
export const approvalDecidedV1 = defineEvent(
  'ApprovalDecided',
  1,
  z.object({
    runId,
    nodeId,
    iteration,
    decision: z.enum(['approved', 'rejected']),
    /** Null when the timeout applied the default. */
    byUserId: text().nullable(),
    comment: text().nullable(),
  }),
);
export const selectionRequestedV1 = defineEvent('SelectionRequested', 1, z.object({ runId, nodeId, iteration, candidates: z.array(text()) }));
export const winnerChosenV1 = defineEvent(
  'WinnerChosen',
  1,
  z.object({ runId, nodeId, iteration, winner: text(), strategy: selectStrategySchema, byUserId: text().nullable(), reason: text() }),
);
export const planExpandedV1 = defineEvent(
  'PlanExpanded',
  1,
  z.object({
    runId,
    nodeId,
    nodes: z.array(runNodeSchema),
    edges: z.array(runEdgeSchema),
    /** The director's outgoing edges, now leaving from the expansion's exit node. */
    redirected: z.array(z.object({ edgeId: text(), from: text() })),
  }),
);
export const loopedBackV1 = defineEvent('LoopedBack', 1, z.object({ runId, edgeId: text(), count: z.number().int().min(1), reset: z.array(text()) }));
export const nodesRetriedV1 = defineEvent(
  'NodesRetried',
  1,
  z.object({ runId, nodeId, reset: z.array(text()), byUserId: text(), deadline: text().nullable() }),
);
export const runPausedV1 = defineEvent('RunPaused', 1, z.object({ runId, byUserId: text() }));
export const runResumedV1 = defineEvent('RunResumed', 1, z.object({ runId, byUserId: text() }));
export const runCancelledV1 = defineEvent('RunCancelled', 1, z.object({ runId, byUserId: text(), reason: text() }));
export const runTimedOutV1 = defineEvent('RunTimedOut', 1, z.object({ runId, deadline: text() }));
export const runSucceededV1 = defineEvent('RunSucceeded', 1, z.object({ runId }));
export const runFailedV1 = defineEvent('RunFailed', 1, z.object({ runId, reason: text(), failedNodes: z.array(text()) }));

export const runEvents = new EventRegistry().register(
  runStartedV1,
  nodeScheduledV1,
  nodeStartedV1,
  nodeSucceededV1,
  nodeFailedV1,
  edgesDecidedV1,
  nodeSkippedV1,
  nodeCancelledV1,
  approvalRequestedV1,
  approvalDecidedV1,
  selectionRequestedV1,
  winnerChosenV1,
  planExpandedV1,
  loopedBackV1,
  nodesRetriedV1,
  runPausedV1,
  runResumedV1,
  runCancelledV1,
  runTimedOutV1,
  runSucceededV1,
  runFailedV1,
);

// Workflow events (stream `workflow-<workflowId>`) ------------------------------------------------

export const scheduleOverlapPolicies = ['skip', 'queue', 'allow'] as const;
export const scheduleMissedPolicies = ['skip', 'run-once'] as const;

const workflowId = text();
export const workflowCreatedV1 = defineEvent('WorkflowCreated', 1, z.object({ workflowId, ownerId: text(), definition: workflowDefinitionSchema }));
/** Every save is a new immutable version; runs pin the version they started from. */
export const workflowVersionSavedV1 = defineEvent(
  'WorkflowVersionSaved',
  1,
  z.object({ workflowId, version: z.number().int().min(2), definition: workflowDefinitionSchema }),
);
export const workflowDeletedV1 = defineEvent('WorkflowDeleted', 1, z.object({ workflowId, byUserId: text() }));
export const workflowPausedV1 = defineEvent('WorkflowPaused', 1, z.object({ workflowId, byUserId: text() }));
export const workflowResumedV1 = defineEvent('WorkflowResumed', 1, z.object({ workflowId, byUserId: text() }));
export const scheduleAddedV1 = defineEvent(
  'ScheduleAdded',
  1,
  z.object({
    workflowId,
    scheduleId: text(),
    cron: text(),
    timezone: text(),
    overlap: z.enum(scheduleOverlapPolicies),
    missed: z.enum(scheduleMissedPolicies),
    input: z.record(text(), z.unknown()),
  }),
);
export const scheduleRemovedV1 = defineEvent('ScheduleRemoved', 1, z.object({ workflowId, scheduleId: text() }));
/**
 * One due fire time, decided: a run started (`runId`), queued behind the active run, or skipped
 * (overlap, or missed while the service was down). Appended before the run starts, so a fire is
 * decided once even when the scheduler restarts; the run id is derived from (schedule, fire time).
 */
export const scheduleFiredV1 = defineEvent(
  'ScheduleFired',
  1,
  z.object({
    workflowId,
    scheduleId: text(),
    fireAt: text(),
    outcome: z.enum(['started', 'queued', 'skipped-overlap', 'skipped-missed', 'skipped-paused', 'caught-up']),
    runId: text().nullable(),
  }),
);
/** A queued fire's run started (the active run ended). */
export const queuedFireStartedV1 = defineEvent('QueuedFireStarted', 1, z.object({ workflowId, scheduleId: text(), fireAt: text(), runId: text() }));

export const workflowEvents = new EventRegistry().register(
  workflowCreatedV1,
  workflowVersionSavedV1,
  workflowDeletedV1,
  workflowPausedV1,
  workflowResumedV1,
  scheduleAddedV1,
  scheduleRemovedV1,
  scheduleFiredV1,
  queuedFireStartedV1,
);
