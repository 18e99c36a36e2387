/** JSON Schema (draft 2020-12) of every HTTP body, for docs and the gateway's OpenAPI document. */
import { z } from 'zod';
import * as http from './auth/auth.http';
import * as apiTokens from './auth/api-tokens';
import * as secrets from './secrets/secrets';
import * as tasks from './tasks/task.schemas';
import * as artifacts from './tasks/artifact.schemas';
import * as workers from './workers/worker.schemas';
import * as workflows from './workflows/workflow.schemas';
import { allocationViewSchema } from './allocation/allocation.schemas';
import { errorBodySchema } from './common/errors';
import { envelopeSchema } from './common/envelope';

export const httpSchemas = {
  RegisterBody: http.registerBodySchema,
  LoginBody: http.loginBodySchema,
  RefreshBody: http.refreshBodySchema,
  LogoutBody: http.logoutBodySchema,
  ChangePasswordBody: http.changePasswordBodySchema,
  User: http.userSchema,
  TokenPair: http.tokenPairSchema,
  CreateTaskBody: tasks.createTaskBodySchema,
  UpdateTaskBody: tasks.updateTaskBodySchema,
  Task: tasks.taskViewSchema,
  TaskPage: tasks.taskPageSchema,
  ListTasksQuery: tasks.listTasksQuerySchema,
  UsageQuery: tasks.usageQuerySchema,
  UsageReport: tasks.usageReportSchema,
  Artifact: artifacts.artifactSchema,
  ArtifactList: artifacts.artifactListSchema,
  ArtifactUploaded: artifacts.artifactUploadedSchema,
  ArtifactQuery: artifacts.artifactQuerySchema,
  CreateRegistrationTokenBody: workers.createRegistrationTokenBodySchema,
  GrantWorkerRoleBody: workers.grantWorkerRoleBodySchema,
  RegistrationToken: workers.registrationTokenSchema,
  RegisterWorkerBody: workers.registerWorkerBodySchema,
  WorkerRegistration: workers.workerRegistrationSchema,
  WorkerNatsCredentials: workers.workerNatsCredentialsSchema,
  Heartbeat: workers.heartbeatSchema,
  Worker: workers.workerViewSchema,
  AllocationDecision: allocationViewSchema,
  CreateApiTokenBody: apiTokens.createApiTokenBodySchema,
  ApiToken: apiTokens.apiTokenSchema,
  CreatedApiToken: apiTokens.createdApiTokenSchema,
  ApiTokenList: apiTokens.apiTokenListSchema,
  WorkflowDefinition: workflows.saveWorkflowBodySchema,
  Workflow: workflows.workflowViewSchema,
  WorkflowSummary: workflows.workflowSummarySchema,
  WorkflowPage: workflows.workflowPageSchema,
  ListWorkflowsQuery: workflows.listWorkflowsQuerySchema,
  WorkflowValidation: workflows.validationReportSchema,
  ExecuteWorkflowBody: workflows.executeWorkflowBodySchema,
  Run: workflows.runViewSchema,
  RunSummary: workflows.runSummarySchema,
  RunPage: workflows.runPageSchema,
  ListRunsQuery: workflows.listRunsQuerySchema,
  RunGraph: workflows.runGraphSchema,
  AddScheduleBody: workflows.addScheduleBodySchema,
  WorkflowSchedule: workflows.scheduleViewSchema,
  ApprovalBody: workflows.approvalBodySchema,
  PickWinnerBody: workflows.pickWinnerBodySchema,
  WorkflowTemplate: workflows.templateViewSchema,
  SaveTemplateBody: workflows.saveTemplateBodySchema,
  InstantiateTemplateBody: workflows.instantiateTemplateBodySchema,
  InstantiatedTemplate: workflows.instantiatedTemplateSchema,
  WorkflowPlan: workflows.workflowPlanSchema,
  CreateSecretBody: secrets.createSecretBodySchema,
  UpdateSecretBody: secrets.updateSecretBodySchema,
  Secret: secrets.secretSchema,
  SecretList: secrets.secretListSchema,
  TaskSecretsRequest: secrets.taskSecretsRequestSchema,
  TaskSecrets: secrets.taskSecretsSchema,
  ErrorBody: errorBodySchema,
  Envelope: envelopeSchema,
} as const;

export type JsonSchema = Record<string, unknown>;

/** Every named schema as JSON Schema; `io: 'input'` describes what a client may send. */
export function toJsonSchemas(): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(httpSchemas)) {
    out[name] = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as JsonSchema;
  }
  return out;
}
