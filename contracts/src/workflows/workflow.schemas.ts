/*
 * Workflows over the API: what a client sends and gets back, and the NATS subjects the gateway
 * uses to reach the workflows service. Ids are UUIDs; bodies are strict (an unknown field is a
 * 400 naming it).
 */
import { z } from 'zod';
import { text } from '../common/text';
import { commandSubject, querySubject } from '../common/subjects';
import { actorSchema } from '../tasks/task.schemas';
import { nodeIdSchema, workflowDefinitionSchema, workflowKinds, workflowLimits, workflowParameterSchema } from './workflow-definition.schemas';
import {
  nodeStatusSchema,
  runGraphSchema,
  runStatusSchema,
  runStatuses,
  runTriggerSchema,
  scheduleMissedPolicies,
  scheduleOverlapPolicies,
} from './workflow-run.schemas';

export * from './workflow-definition.schemas';
export * from './workflow-run.schemas';
export * from './expression';

const jsonRecord = z.record(text().max(64), z.unknown());

export const scheduleViewSchema = z
  .object({
    id: text(),
    workflowId: text(),
    cron: text(),
    timezone: text(),
    overlap: z.enum(scheduleOverlapPolicies),
    missed: z.enum(scheduleMissedPolicies),
    input: jsonRecord,
    lastFireAt: text().nullable(),
    nextFireAt: text().nullable(),
    createdAt: text(),
  })
  .meta({ id: 'WorkflowSchedule' });
export type ScheduleView = z.infer<typeof scheduleViewSchema>;

export const runSummarySchema = z
  .object({
    id: text(),
    workflowId: text(),
    workflowVersion: z.number().int(),
    name: text(),
    kind: z.enum(workflowKinds),
    status: runStatusSchema,
    trigger: runTriggerSchema,
    startedAt: text(),
    finishedAt: text().nullable(),
    updatedAt: text(),
    error: text().nullable(),
  })
  .meta({ id: 'RunSummary' });
export type RunSummary = z.infer<typeof runSummarySchema>;

export const workflowSummarySchema = z
  .object({
    id: text(),
    ownerId: text(),
    name: text(),
    description: text().nullable(),
    kind: z.enum(workflowKinds),
    version: z.number().int(),
    paused: z.boolean(),
    createdAt: text(),
    updatedAt: text(),
    lastRun: runSummarySchema.pick({ id: true, status: true, startedAt: true, finishedAt: true }).nullable(),
    activeRuns: z.number().int(),
    schedules: z.array(scheduleViewSchema),
  })
  .meta({ id: 'WorkflowSummary' });
export type WorkflowSummary = z.infer<typeof workflowSummarySchema>;

export const workflowViewSchema = workflowSummarySchema.extend({ definition: workflowDefinitionSchema }).meta({ id: 'Workflow' });
export type WorkflowView = z.infer<typeof workflowViewSchema>;

export const workflowPageSchema = z.object({ items: z.array(workflowSummarySchema), nextCursor: text().nullable() }).meta({ id: 'WorkflowPage' });
export type WorkflowPage = z.infer<typeof workflowPageSchema>;

export const runNodeViewSchema = z
  .object({
    status: nodeStatusSchema,
    iteration: z.number().int(),
    generation: z.number().int(),
    taskId: text().nullable(),
    workerId: text().nullable(),
    exitCode: z.number().int().nullable(),
    output: z.unknown().optional(),
    text: text().nullable(),
    reason: text().nullable(),
    startedAt: text().nullable(),
    finishedAt: text().nullable(),
    /** Select nodes: the chosen predecessor. */
    winner: text().nullable(),
    /** Approval nodes waiting: when the default applies. */
    deadline: text().nullable(),
    /** Tasks this node ran, oldest first (every iteration and retry). */
    history: z.array(z.object({ taskId: text(), iteration: z.number().int(), generation: z.number().int(), status: nodeStatusSchema })),
  })
  .meta({ id: 'RunNode' });
export type RunNodeView = z.infer<typeof runNodeViewSchema>;

export const runViewSchema = runSummarySchema
  .extend({
    ownerId: text(),
    input: jsonRecord,
    deadline: text().nullable(),
    graph: runGraphSchema,
    nodes: z.record(text(), runNodeViewSchema),
    version: z.number().int(),
  })
  .meta({ id: 'Run' });
export type RunView = z.infer<typeof runViewSchema>;

export const runPageSchema = z.object({ items: z.array(runSummarySchema), nextCursor: text().nullable() }).meta({ id: 'RunPage' });
export type RunPage = z.infer<typeof runPageSchema>;

export const templateViewSchema = z
  .object({
    id: text(),
    name: text(),
    description: text().nullable(),
    kind: z.enum(workflowKinds),
    builtIn: z.boolean(),
    ownerId: text().nullable(),
    parameters: z.array(workflowParameterSchema),
    definition: workflowDefinitionSchema,
    createdAt: text(),
  })
  .meta({ id: 'WorkflowTemplate' });
export type TemplateView = z.infer<typeof templateViewSchema>;

// Bodies --------------------------------------------------------------------------------------

/** POST /workflows and PUT /workflows/{id}: a whole definition (every save is a new version). */
export const saveWorkflowBodySchema = workflowDefinitionSchema.meta({
  id: 'WorkflowDefinition',
  // The tool-specific input rule cannot be said in JSON Schema: a valid example for generators.
  examples: [{ name: 'hello', kind: 'sequential', steps: [{ id: 'greet', task: { tool: 'shell', input: { command: 'echo hello' } } }] }],
});
export type SaveWorkflowBody = z.infer<typeof saveWorkflowBodySchema>;

export const executeWorkflowBodySchema = z
  .object({
    input: jsonRecord.default({}),
    /** Run an older version (default: the latest). */
    version: z.number().int().min(1).optional(),
  })
  .strict()
  .meta({ id: 'ExecuteWorkflowBody' });
export type ExecuteWorkflowBody = z.infer<typeof executeWorkflowBodySchema>;

export const addScheduleBodySchema = z
  .object({
    /** Five fields (minute precision) or six (the first is seconds), as croner reads them. */
    cron: text().min(1).max(200),
    /** IANA zone, e.g. Europe/Berlin. Default UTC. */
    timezone: text().max(64).default('UTC'),
    /** A fire while this schedule's previous run is active: skip it, queue one run behind it, or run both. */
    overlap: z.enum(scheduleOverlapPolicies).default('skip'),
    /** Fires missed while the service was down: skip them, or run once for all of them. */
    missed: z.enum(scheduleMissedPolicies).default('skip'),
    input: jsonRecord.default({}),
  })
  .strict()
  .meta({ id: 'AddScheduleBody' });
export type AddScheduleBody = z.infer<typeof addScheduleBodySchema>;

export const approvalBodySchema = z
  .object({ decision: z.enum(['approve', 'reject']), comment: text().max(4_000).optional() })
  .strict()
  .meta({ id: 'ApprovalBody' });
export type ApprovalBody = z.infer<typeof approvalBodySchema>;

export const pickWinnerBodySchema = z.object({ winner: nodeIdSchema }).strict().meta({ id: 'PickWinnerBody' });
export type PickWinnerBody = z.infer<typeof pickWinnerBodySchema>;

export const saveTemplateBodySchema = z
  .object({
    workflowId: z.uuid(),
    name: text().min(1).max(workflowLimits.nameMax).optional(),
    description: text().max(workflowLimits.descriptionMax).optional(),
    /** Named parameters: `{{params.<name>}}` placeholders in the definition, and defaults of its run parameters. */
    parameters: z.array(workflowParameterSchema).max(workflowLimits.parametersMax).optional(),
  })
  .strict()
  .meta({ id: 'SaveTemplateBody' });
export type SaveTemplateBody = z.infer<typeof saveTemplateBodySchema>;

export const instantiateTemplateBodySchema = z
  .object({
    name: text().min(1).max(workflowLimits.nameMax).optional(),
    parameters: jsonRecord.default({}),
    /** Start a run right away, with this input. */
    execute: z
      .object({ input: jsonRecord.default({}) })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'InstantiateTemplateBody' });
export type InstantiateTemplateBody = z.infer<typeof instantiateTemplateBodySchema>;

export const instantiatedTemplateSchema = z.object({ workflow: workflowViewSchema, run: runViewSchema.nullable() }).meta({ id: 'InstantiatedTemplate' });
export type InstantiatedTemplate = z.infer<typeof instantiatedTemplateSchema>;

export const validationReportSchema = z
  .object({
    valid: z.boolean(),
    errors: z.array(z.object({ field: text(), message: text() })),
    graph: runGraphSchema.nullable(),
  })
  .meta({ id: 'WorkflowValidation' });
export type ValidationReport = z.infer<typeof validationReportSchema>;

const cursor = text()
  .max(500)
  .regex(/^[A-Za-z0-9_-]*$/, 'not a cursor this API returned')
  .optional();

export const listWorkflowsQuerySchema = z
  .object({
    q: text().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor,
  })
  .strict()
  .meta({ id: 'ListWorkflowsQuery' });
export type ListWorkflowsQuery = z.infer<typeof listWorkflowsQuerySchema>;

export const listRunsQuerySchema = z
  .object({
    status: z.enum(runStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor,
  })
  .strict()
  .meta({ id: 'ListRunsQuery' });
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>;

// Messages ------------------------------------------------------------------------------------

export const workflowSubjects = {
  create: commandSubject('workflows', 'CreateWorkflow'),
  update: commandSubject('workflows', 'UpdateWorkflow'),
  delete: commandSubject('workflows', 'DeleteWorkflow'),
  execute: commandSubject('workflows', 'ExecuteWorkflow'),
  pause: commandSubject('workflows', 'PauseWorkflow'),
  resume: commandSubject('workflows', 'ResumeWorkflow'),
  addSchedule: commandSubject('workflows', 'AddSchedule'),
  removeSchedule: commandSubject('workflows', 'RemoveSchedule'),
  pauseRun: commandSubject('workflows', 'PauseRun'),
  resumeRun: commandSubject('workflows', 'ResumeRun'),
  cancelRun: commandSubject('workflows', 'CancelRun'),
  retryNode: commandSubject('workflows', 'RetryNode'),
  decideApproval: commandSubject('workflows', 'DecideApproval'),
  pickWinner: commandSubject('workflows', 'PickWinner'),
  saveTemplate: commandSubject('workflows', 'SaveTemplate'),
  deleteTemplate: commandSubject('workflows', 'DeleteTemplate'),
  instantiateTemplate: commandSubject('workflows', 'InstantiateTemplate'),
  validate: querySubject('workflows', 'ValidateWorkflow'),
  list: querySubject('workflows', 'ListWorkflows'),
  get: querySubject('workflows', 'GetWorkflow'),
  getVersion: querySubject('workflows', 'GetWorkflowVersion'),
  history: querySubject('workflows', 'GetWorkflowHistory'),
  listRuns: querySubject('workflows', 'ListRuns'),
  getRun: querySubject('workflows', 'GetRun'),
  runHistory: querySubject('workflows', 'GetRunHistory'),
  listSchedules: querySubject('workflows', 'ListSchedules'),
  listTemplates: querySubject('workflows', 'ListTemplates'),
} as const;

const id = text().min(1).max(64);
export const workflowRefCommandSchema = z.object({ actor: actorSchema, workflowId: id });
export const saveWorkflowCommandSchema = z.object({ actor: actorSchema, workflowId: id.optional(), definition: saveWorkflowBodySchema });
/** A new version of an existing workflow: its id is required. */
export const updateWorkflowCommandSchema = saveWorkflowCommandSchema.required({ workflowId: true });
export const validateWorkflowQuerySchema = z.object({ actor: actorSchema, definition: z.unknown() });
export const executeWorkflowCommandSchema = workflowRefCommandSchema.extend({ body: executeWorkflowBodySchema });
export const getWorkflowVersionQuerySchema = workflowRefCommandSchema.extend({ version: z.number().int().min(1) });
export const addScheduleCommandSchema = workflowRefCommandSchema.extend({ body: addScheduleBodySchema });
export const removeScheduleCommandSchema = workflowRefCommandSchema.extend({ scheduleId: id });
export const listWorkflowsCommandSchema = z.object({ actor: actorSchema, query: listWorkflowsQuerySchema });
export const listRunsCommandSchema = z.object({ actor: actorSchema, workflowId: id.optional(), query: listRunsQuerySchema });
export const runRefCommandSchema = z.object({ actor: actorSchema, runId: id });
export const nodeRefCommandSchema = runRefCommandSchema.extend({ nodeId: text().min(1).max(200) });
export const decideApprovalCommandSchema = nodeRefCommandSchema.extend({ body: approvalBodySchema });
export const pickWinnerCommandSchema = nodeRefCommandSchema.extend({ body: pickWinnerBodySchema });
export const listTemplatesQuerySchema = z.object({ actor: actorSchema });
export const saveTemplateCommandSchema = z.object({ actor: actorSchema, body: saveTemplateBodySchema });
export const templateRefCommandSchema = z.object({ actor: actorSchema, templateId: id });
export const instantiateTemplateCommandSchema = templateRefCommandSchema.extend({ body: instantiateTemplateBodySchema });
