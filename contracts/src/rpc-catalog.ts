/*
 * The catalog of request/reply subjects: one entry per subject with its request and response
 * schemas (common/rpc.ts). The gateway calls `rpc.call(rpcCatalog.tasks.create, body)` — the body
 * typed by the request schema, the reply parsed by the response schema — and the service's
 * handler listens on the same entry's subject and parses with its request schema, so validation
 * lives in one place. Every request/reply subject of every service is here (the `*Subjects` maps
 * still name them: the services' integration tests and the NATS permission probe use those).
 * infra/rpc/rpc-catalog.unit.spec.ts reads every service's handlers from Nest's metadata: each
 * entry has exactly one handler, and every handler's subject is an entry.
 *
 * A response schema marked "passed on" is loose on purpose: the gateway hands that answer to the
 * client unchanged, as it did before the catalog, so parsing it with the full schema (defaults,
 * stripped keys) would change what clients get.
 */
import { z } from 'zod';
import { defineRpc } from './common/rpc';
import { text } from './common/text';
import {
  createTaskCommandSchema,
  createTaskReplySchema,
  listTasksCommandSchema,
  pullTaskQuerySchema,
  taskPageSchema,
  taskRefCommandSchema,
  taskSecretRefsQuerySchema,
  taskSecretRefsSchema,
  taskSubjects,
  taskViewSchema,
  updateTaskCommandSchema,
  usageQueryCommandSchema,
  usageReportSchema,
} from './tasks/task.schemas';
import { assignmentSchema } from './work/work.schemas';
import { allocationSubjects, allocationViewSchema } from './allocation/allocation.schemas';
import {
  apiTokenIdentitySchema,
  apiTokenListSchema,
  apiTokenSubjects,
  authenticateApiTokenQuerySchema,
  createApiTokenCommandSchema,
  createdApiTokenSchema,
  listApiTokensQuerySchema,
  revokeApiTokenCommandSchema,
} from './auth/api-tokens';
import { tokenPairSchema, userSchema } from './auth/auth.http';
import {
  authSubjects,
  changePasswordCommandSchema,
  getUserQuerySchema,
  loginCommandSchema,
  logoutCommandSchema,
  refreshCommandSchema,
  registerUserCommandSchema,
  signingKeysSchema,
} from './auth/auth.messages';
import { taskSecretsSchema } from './secrets/secret-ref';
import {
  createSecretCommandSchema,
  findMissingSecretsQuerySchema,
  listSecretsQuerySchema,
  missingSecretsSchema,
  resolveSecretsQuerySchema,
  secretListSchema,
  secretRefCommandSchema,
  secretSchema,
  secretSubjects,
  updateSecretCommandSchema,
} from './secrets/secrets';
import {
  artifactChunkSchema,
  artifactDescriptorSchema,
  artifactListSchema,
  artifactSubjects,
  artifactUploadedSchema,
  artifactUploadRefSchema,
  artifactUploadStartedSchema,
  beginArtifactUploadSchema,
  getArtifactQuerySchema,
  listArtifactsQuerySchema,
  putArtifactChunkSchema,
  putArtifactSchema,
  readArtifactChunkQuerySchema,
} from './tasks/artifact.schemas';
import {
  authenticateWorkerQuerySchema,
  createRegistrationTokenCommandSchema,
  grantWorkerRoleCommandSchema,
  issueNatsCredentialsCommandSchema,
  listWorkersQuerySchema,
  recordHeartbeatCommandSchema,
  registerWorkerCommandSchema,
  workerRefCommandSchema,
  workerSubjects,
  workerViewSchema,
} from './workers/worker.schemas';
import { registrationTokenSchema, workerNatsCredentialsSchema, workerRegistrationSchema } from './workers/worker-registration.schemas';
import {
  addScheduleCommandSchema,
  decideApprovalCommandSchema,
  executeWorkflowCommandSchema,
  getWorkflowVersionQuerySchema,
  instantiatedTemplateSchema,
  instantiateTemplateCommandSchema,
  listRunsCommandSchema,
  listTemplatesQuerySchema,
  listWorkflowsCommandSchema,
  nodeRefCommandSchema,
  pickWinnerCommandSchema,
  removeScheduleCommandSchema,
  runPageSchema,
  runRefCommandSchema,
  runViewSchema,
  saveTemplateCommandSchema,
  saveWorkflowCommandSchema,
  scheduleViewSchema,
  templateRefCommandSchema,
  templateViewSchema,
  updateWorkflowCommandSchema,
  validateWorkflowQuerySchema,
  validationReportSchema,
  workflowPageSchema,
  workflowRefCommandSchema,
  workflowSubjects,
  workflowViewSchema,
  type TemplateView,
  type WorkflowDefinition,
} from './workflows/workflow.schemas';

/** A stream's stored events, as the history queries answer them: passed on as stored (loose: the store's own shape). */
const eventHistorySchema = z.object({ items: z.array(z.looseObject({ id: text(), type: text(), streamVersion: z.number() })) });

/** An answer of this shape that the gateway passes on unchanged (see the header): checked to be an object, typed as `T`. */
const passedOn = <T>() => z.custom<T>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

/** A command's acknowledgement `{ <flag>: true }` (the gateway answers 204 and drops it). */
const done = <K extends string>(flag: K) => z.object({ [flag]: z.literal(true) } as { [P in K]: z.ZodLiteral<true> });
/** A deletion's acknowledgement: the id it removed and `deleted: true`. */
const deleted = <K extends string>(key: K) =>
  z.object({ [key]: text(), deleted: z.literal(true) } as { [P in K]: ReturnType<typeof text> } & { deleted: z.ZodLiteral<true> });

export const rpcCatalog = {
  tasks: {
    create: defineRpc(taskSubjects.create, createTaskCommandSchema, createTaskReplySchema),
    update: defineRpc(taskSubjects.update, updateTaskCommandSchema, taskViewSchema),
    cancel: defineRpc(taskSubjects.cancel, taskRefCommandSchema, taskViewSchema),
    retry: defineRpc(taskSubjects.retry, taskRefCommandSchema, taskViewSchema),
    delete: defineRpc(taskSubjects.delete, taskRefCommandSchema, deleted('taskId')),
    get: defineRpc(taskSubjects.get, taskRefCommandSchema, taskViewSchema),
    list: defineRpc(taskSubjects.list, listTasksCommandSchema, taskPageSchema),
    history: defineRpc(taskSubjects.history, taskRefCommandSchema, eventHistorySchema),
    pull: defineRpc(taskSubjects.pull, pullTaskQuerySchema, assignmentSchema.nullable()),
    secretRefs: defineRpc(taskSubjects.secretRefs, taskSecretRefsQuerySchema, taskSecretRefsSchema),
    usage: defineRpc(taskSubjects.usage, usageQueryCommandSchema, usageReportSchema),
  },
  /** Logs and artifacts of a task's attempts (the tasks service; the gateway streams the bytes in chunks). */
  artifacts: {
    beginUpload: defineRpc(artifactSubjects.beginUpload, beginArtifactUploadSchema, artifactUploadStartedSchema),
    putChunk: defineRpc(artifactSubjects.putChunk, putArtifactChunkSchema, done('ok')),
    commitUpload: defineRpc(artifactSubjects.commitUpload, artifactUploadRefSchema, artifactUploadedSchema),
    put: defineRpc(artifactSubjects.putArtifact, putArtifactSchema, artifactUploadedSchema),
    abortUpload: defineRpc(artifactSubjects.abortUpload, artifactUploadRefSchema, done('ok')),
    list: defineRpc(artifactSubjects.list, listArtifactsQuerySchema, artifactListSchema),
    get: defineRpc(artifactSubjects.get, getArtifactQuerySchema, artifactDescriptorSchema),
    readChunk: defineRpc(artifactSubjects.readChunk, readArtifactChunkQuerySchema, artifactChunkSchema),
  },
  auth: {
    registerUser: defineRpc(authSubjects.registerUser, registerUserCommandSchema, userSchema),
    login: defineRpc(authSubjects.login, loginCommandSchema, tokenPairSchema),
    refresh: defineRpc(authSubjects.refresh, refreshCommandSchema, tokenPairSchema),
    logout: defineRpc(authSubjects.logout, logoutCommandSchema, done('loggedOut')),
    changePassword: defineRpc(authSubjects.changePassword, changePasswordCommandSchema, done('changed')),
    getUser: defineRpc(authSubjects.getUser, getUserQuerySchema, userSchema),
    /** No parameters: the gateway sends `{}`; an empty payload is accepted too. */
    getSigningKeys: defineRpc(authSubjects.getSigningKeys, z.object({}).optional(), signingKeysSchema),
  },
  apiTokens: {
    create: defineRpc(apiTokenSubjects.create, createApiTokenCommandSchema, createdApiTokenSchema),
    list: defineRpc(apiTokenSubjects.list, listApiTokensQuerySchema, apiTokenListSchema),
    revoke: defineRpc(apiTokenSubjects.revoke, revokeApiTokenCommandSchema, done('revoked')),
    authenticate: defineRpc(apiTokenSubjects.authenticate, authenticateApiTokenQuerySchema, apiTokenIdentitySchema),
  },
  secrets: {
    create: defineRpc(secretSubjects.create, createSecretCommandSchema, secretSchema),
    update: defineRpc(secretSubjects.update, updateSecretCommandSchema, secretSchema),
    delete: defineRpc(secretSubjects.delete, secretRefCommandSchema, done('deleted')),
    list: defineRpc(secretSubjects.list, listSecretsQuerySchema, secretListSchema),
    findMissing: defineRpc(secretSubjects.findMissing, findMissingSecretsQuerySchema, missingSecretsSchema),
    resolve: defineRpc(secretSubjects.resolve, resolveSecretsQuerySchema, taskSecretsSchema),
  },
  workers: {
    createRegistrationToken: defineRpc(workerSubjects.createRegistrationToken, createRegistrationTokenCommandSchema, registrationTokenSchema),
    register: defineRpc(workerSubjects.register, registerWorkerCommandSchema, workerRegistrationSchema),
    drain: defineRpc(workerSubjects.drain, workerRefCommandSchema, workerViewSchema),
    resume: defineRpc(workerSubjects.resume, workerRefCommandSchema, workerViewSchema),
    grantRole: defineRpc(workerSubjects.grantRole, grantWorkerRoleCommandSchema, workerViewSchema),
    revokeCredential: defineRpc(workerSubjects.revokeCredential, workerRefCommandSchema, workerViewSchema),
    heartbeat: defineRpc(workerSubjects.heartbeat, recordHeartbeatCommandSchema, done('recorded')),
    issueNatsCredentials: defineRpc(workerSubjects.issueNatsCredentials, issueNatsCredentialsCommandSchema, workerNatsCredentialsSchema),
    authenticate: defineRpc(workerSubjects.authenticate, authenticateWorkerQuerySchema, z.object({ workerId: text() })),
    get: defineRpc(workerSubjects.get, workerRefCommandSchema, workerViewSchema),
    list: defineRpc(workerSubjects.list, listWorkersQuerySchema, z.object({ items: z.array(workerViewSchema) })),
  },
  allocation: {
    getDecision: defineRpc(allocationSubjects.getDecision, taskRefCommandSchema, allocationViewSchema),
  },
  workflows: {
    create: defineRpc(workflowSubjects.create, saveWorkflowCommandSchema, workflowViewSchema),
    update: defineRpc(workflowSubjects.update, updateWorkflowCommandSchema, workflowViewSchema),
    delete: defineRpc(workflowSubjects.delete, workflowRefCommandSchema, deleted('workflowId')),
    execute: defineRpc(workflowSubjects.execute, executeWorkflowCommandSchema, runViewSchema),
    pause: defineRpc(workflowSubjects.pause, workflowRefCommandSchema, workflowViewSchema),
    resume: defineRpc(workflowSubjects.resume, workflowRefCommandSchema, workflowViewSchema),
    addSchedule: defineRpc(workflowSubjects.addSchedule, addScheduleCommandSchema, workflowViewSchema),
    removeSchedule: defineRpc(workflowSubjects.removeSchedule, removeScheduleCommandSchema, workflowViewSchema),
    pauseRun: defineRpc(workflowSubjects.pauseRun, runRefCommandSchema, runViewSchema),
    resumeRun: defineRpc(workflowSubjects.resumeRun, runRefCommandSchema, runViewSchema),
    cancelRun: defineRpc(workflowSubjects.cancelRun, runRefCommandSchema, runViewSchema),
    retryNode: defineRpc(workflowSubjects.retryNode, nodeRefCommandSchema, runViewSchema),
    decideApproval: defineRpc(workflowSubjects.decideApproval, decideApprovalCommandSchema, runViewSchema),
    pickWinner: defineRpc(workflowSubjects.pickWinner, pickWinnerCommandSchema, runViewSchema),
    saveTemplate: defineRpc(workflowSubjects.saveTemplate, saveTemplateCommandSchema, templateViewSchema),
    deleteTemplate: defineRpc(workflowSubjects.deleteTemplate, templateRefCommandSchema, deleted('templateId')),
    instantiateTemplate: defineRpc(workflowSubjects.instantiateTemplate, instantiateTemplateCommandSchema, instantiatedTemplateSchema),
    /** A definition in any shape (the compiler reports what is wrong with it). */
    validate: defineRpc(workflowSubjects.validate, validateWorkflowQuerySchema, validationReportSchema),
    list: defineRpc(workflowSubjects.list, listWorkflowsCommandSchema, workflowPageSchema),
    get: defineRpc(workflowSubjects.get, workflowRefCommandSchema, workflowViewSchema),
    /** Passed on: a stored version's definition as saved (parsing would add today's defaults to an old one). */
    getVersion: defineRpc(
      workflowSubjects.getVersion,
      getWorkflowVersionQuerySchema,
      z.looseObject({ version: z.number().int(), definition: passedOn<WorkflowDefinition>() }),
    ),
    history: defineRpc(workflowSubjects.history, workflowRefCommandSchema, eventHistorySchema),
    listRuns: defineRpc(workflowSubjects.listRuns, listRunsCommandSchema, runPageSchema),
    getRun: defineRpc(workflowSubjects.getRun, runRefCommandSchema, runViewSchema),
    runHistory: defineRpc(workflowSubjects.runHistory, runRefCommandSchema, eventHistorySchema),
    listSchedules: defineRpc(workflowSubjects.listSchedules, workflowRefCommandSchema, z.object({ items: z.array(scheduleViewSchema) })),
    /** Passed on: the built-in and saved templates as stored (parsing would add today's defaults to their definitions). */
    listTemplates: defineRpc(workflowSubjects.listTemplates, listTemplatesQuerySchema, z.object({ items: z.array(passedOn<TemplateView>()) })),
  },
} as const;
