/**
 * /api/v1/workflows, /api/v1/runs and /api/v1/workflow-templates — thin: validate, attach the
 * caller as actor, forward to the workflows service. Another user's workflow, run or template is
 * a 404, exactly like a random id. API tokens need `workflows:read` / `workflows:write`.
 */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, UseGuards, type PipeTransform } from '@nestjs/common';
import {
  addScheduleBodySchema,
  approvalBodySchema,
  DomainError,
  executeWorkflowBodySchema,
  instantiatedTemplateSchema,
  instantiateTemplateBodySchema,
  listRunsQuerySchema,
  listWorkflowsQuerySchema,
  pickWinnerBodySchema,
  runPageSchema,
  runViewSchema,
  saveTemplateBodySchema,
  saveWorkflowBodySchema,
  templateViewSchema,
  validationReportSchema,
  workflowPageSchema,
  workflowSubjects,
  workflowViewSchema,
  type AddScheduleBody,
  type ApprovalBody,
  type Envelope,
  type ExecuteWorkflowBody,
  type InstantiatedTemplate,
  type InstantiateTemplateBody,
  type ListRunsQuery,
  type ListWorkflowsQuery,
  type PickWinnerBody,
  type RunPage,
  type RunView,
  type SaveTemplateBody,
  type SaveWorkflowBody,
  type ScheduleView,
  type TemplateView,
  type ValidationReport,
  type WorkflowDefinition,
  type WorkflowPage,
  type WorkflowView,
} from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import { AccessTokenGuard, Claims, RequireScope } from './access-token.guard';
import { NodeIdPipe, TemplateIdPipe, UuidPipe } from './id.pipe';
import { ZodBodyPipe } from './zod-body.pipe';
import { ZodQueryPipe } from './zod-query.pipe';

const actor = (c: AccessClaims) => ({ userId: c.sub });
const workflowId = new UuidPipe('workflow');
const runId = new UuidPipe('run');
const scheduleId = new UuidPipe('schedule');

/** A version number in a path: a positive integer, else that version cannot exist (404). */
class VersionPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new DomainError('NOT_FOUND', 'the workflow has no such version');
    return Number(value);
  }
}
const versionPipe = new VersionPipe();

@Controller('api/v1/workflows')
@UseGuards(AccessTokenGuard)
export class WorkflowsController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('workflows:write')
  @Post()
  @HttpCode(201)
  create(@Claims() c: AccessClaims, @Body(new ZodBodyPipe(saveWorkflowBodySchema)) definition: SaveWorkflowBody): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.create, { actor: actor(c), definition }, { schema: workflowViewSchema });
  }

  @RequireScope('workflows:read')
  @Get()
  list(@Claims() c: AccessClaims, @Query(new ZodQueryPipe(listWorkflowsQuerySchema)) query: ListWorkflowsQuery): Promise<WorkflowPage> {
    return this.rpc.request(workflowSubjects.list, { actor: actor(c), query }, { schema: workflowPageSchema });
  }

  /** The compiler's verdict on a definition, without saving it (the editor checks as you edit). */
  @RequireScope('workflows:read')
  @Post('validate')
  @HttpCode(200)
  validate(@Claims() c: AccessClaims, @Body() definition: unknown): Promise<ValidationReport> {
    if (definition === null || typeof definition !== 'object' || Array.isArray(definition))
      throw new DomainError('VALIDATION_FAILED', 'the body must be a JSON object');
    return this.rpc.request(workflowSubjects.validate, { actor: actor(c), definition }, { schema: validationReportSchema });
  }

  @RequireScope('workflows:read')
  @Get(':id')
  get(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.get, { actor: actor(c), workflowId: id }, { schema: workflowViewSchema });
  }

  /** Saves a new version (a definition equal to the latest saves nothing). */
  @RequireScope('workflows:write')
  @Put(':id')
  update(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Body(new ZodBodyPipe(saveWorkflowBodySchema)) definition: SaveWorkflowBody,
  ): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.update, { actor: actor(c), workflowId: id, definition }, { schema: workflowViewSchema });
  }

  @RequireScope('workflows:write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<void> {
    await this.rpc.request(workflowSubjects.delete, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:read')
  @Get(':id/versions/:version')
  version(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Param('version', versionPipe) version: number,
  ): Promise<{ version: number; definition: WorkflowDefinition }> {
    return this.rpc.request(workflowSubjects.getVersion, { actor: actor(c), workflowId: id, version });
  }

  /** The workflow's events (versions, schedules, fires), in order: its audit trail. */
  @RequireScope('workflows:read')
  @Get(':id/events')
  history(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<{ items: Envelope[] }> {
    return this.rpc.request(workflowSubjects.history, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/execute')
  @HttpCode(201)
  execute(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Body(new ZodBodyPipe(executeWorkflowBodySchema)) body: ExecuteWorkflowBody,
  ): Promise<RunView> {
    return this.rpc.request(workflowSubjects.execute, { actor: actor(c), workflowId: id, body }, { schema: runViewSchema });
  }

  /** Pauses the schedules and every active run. */
  @RequireScope('workflows:write')
  @Post(':id/pause')
  @HttpCode(200)
  pause(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.pause, { actor: actor(c), workflowId: id }, { schema: workflowViewSchema });
  }

  @RequireScope('workflows:write')
  @Post(':id/resume')
  @HttpCode(200)
  resume(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.resume, { actor: actor(c), workflowId: id }, { schema: workflowViewSchema });
  }

  @RequireScope('workflows:read')
  @Get(':id/runs')
  runs(@Claims() c: AccessClaims, @Param('id', workflowId) id: string, @Query(new ZodQueryPipe(listRunsQuerySchema)) query: ListRunsQuery): Promise<RunPage> {
    return this.rpc.request(workflowSubjects.listRuns, { actor: actor(c), workflowId: id, query }, { schema: runPageSchema });
  }

  @RequireScope('workflows:read')
  @Get(':id/schedules')
  schedules(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<{ items: ScheduleView[] }> {
    return this.rpc.request(workflowSubjects.listSchedules, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/schedules')
  @HttpCode(201)
  addSchedule(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Body(new ZodBodyPipe(addScheduleBodySchema)) body: AddScheduleBody,
  ): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.addSchedule, { actor: actor(c), workflowId: id, body }, { schema: workflowViewSchema });
  }

  @RequireScope('workflows:write')
  @Delete(':id/schedules/:scheduleId')
  @HttpCode(200)
  removeSchedule(@Claims() c: AccessClaims, @Param('id', workflowId) id: string, @Param('scheduleId', scheduleId) sid: string): Promise<WorkflowView> {
    return this.rpc.request(workflowSubjects.removeSchedule, { actor: actor(c), workflowId: id, scheduleId: sid }, { schema: workflowViewSchema });
  }
}

@Controller('api/v1/runs')
@UseGuards(AccessTokenGuard)
export class RunsController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('workflows:read')
  @Get()
  list(@Claims() c: AccessClaims, @Query(new ZodQueryPipe(listRunsQuerySchema)) query: ListRunsQuery): Promise<RunPage> {
    return this.rpc.request(workflowSubjects.listRuns, { actor: actor(c), query }, { schema: runPageSchema });
  }

  @RequireScope('workflows:read')
  @Get(':id')
  get(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.request(workflowSubjects.getRun, { actor: actor(c), runId: id }, { schema: runViewSchema });
  }

  /** Every decision the run made, in order: its audit trail. */
  @RequireScope('workflows:read')
  @Get(':id/events')
  history(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<{ items: Envelope[] }> {
    return this.rpc.request(workflowSubjects.runHistory, { actor: actor(c), runId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/pause')
  @HttpCode(200)
  pause(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.request(workflowSubjects.pauseRun, { actor: actor(c), runId: id }, { schema: runViewSchema });
  }

  @RequireScope('workflows:write')
  @Post(':id/resume')
  @HttpCode(200)
  resume(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.request(workflowSubjects.resumeRun, { actor: actor(c), runId: id }, { schema: runViewSchema });
  }

  @RequireScope('workflows:write')
  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.request(workflowSubjects.cancelRun, { actor: actor(c), runId: id }, { schema: runViewSchema });
  }

  /** Runs a failed or cancelled node again, with what depends on it (nothing else). */
  @RequireScope('workflows:write')
  @Post(':id/nodes/:nodeId/retry')
  @HttpCode(200)
  retry(@Claims() c: AccessClaims, @Param('id', runId) id: string, @Param('nodeId', NodeIdPipe) nodeId: string): Promise<RunView> {
    return this.rpc.request(workflowSubjects.retryNode, { actor: actor(c), runId: id, nodeId }, { schema: runViewSchema });
  }

  @RequireScope('workflows:write')
  @Post(':id/nodes/:nodeId/approval')
  @HttpCode(200)
  approve(
    @Claims() c: AccessClaims,
    @Param('id', runId) id: string,
    @Param('nodeId', NodeIdPipe) nodeId: string,
    @Body(new ZodBodyPipe(approvalBodySchema)) body: ApprovalBody,
  ): Promise<RunView> {
    return this.rpc.request(workflowSubjects.decideApproval, { actor: actor(c), runId: id, nodeId, body }, { schema: runViewSchema });
  }

  /** A select node waiting for a person (strategy `manual`): choose its winner. */
  @RequireScope('workflows:write')
  @Post(':id/nodes/:nodeId/winner')
  @HttpCode(200)
  pick(
    @Claims() c: AccessClaims,
    @Param('id', runId) id: string,
    @Param('nodeId', NodeIdPipe) nodeId: string,
    @Body(new ZodBodyPipe(pickWinnerBodySchema)) body: PickWinnerBody,
  ): Promise<RunView> {
    return this.rpc.request(workflowSubjects.pickWinner, { actor: actor(c), runId: id, nodeId, body }, { schema: runViewSchema });
  }
}

@Controller('api/v1/workflow-templates')
@UseGuards(AccessTokenGuard)
export class WorkflowTemplatesController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('workflows:read')
  @Get()
  list(@Claims() c: AccessClaims): Promise<{ items: TemplateView[] }> {
    return this.rpc.request(workflowSubjects.listTemplates, { actor: actor(c) });
  }

  /** Saves one of your workflows as a template with named parameters. */
  @RequireScope('workflows:write')
  @Post()
  @HttpCode(201)
  save(@Claims() c: AccessClaims, @Body(new ZodBodyPipe(saveTemplateBodySchema)) body: SaveTemplateBody): Promise<TemplateView> {
    return this.rpc.request(workflowSubjects.saveTemplate, { actor: actor(c), body }, { schema: templateViewSchema });
  }

  @RequireScope('workflows:write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Claims() c: AccessClaims, @Param('id', TemplateIdPipe) id: string): Promise<void> {
    await this.rpc.request(workflowSubjects.deleteTemplate, { actor: actor(c), templateId: id });
  }

  /** A new workflow from the template (parameters substituted), and optionally its first run. */
  @RequireScope('workflows:write')
  @Post(':id/instantiate')
  @HttpCode(201)
  instantiate(
    @Claims() c: AccessClaims,
    @Param('id', TemplateIdPipe) id: string,
    @Body(new ZodBodyPipe(instantiateTemplateBodySchema)) body: InstantiateTemplateBody,
  ): Promise<InstantiatedTemplate> {
    return this.rpc.request(workflowSubjects.instantiateTemplate, { actor: actor(c), templateId: id, body }, { schema: instantiatedTemplateSchema });
  }
}
