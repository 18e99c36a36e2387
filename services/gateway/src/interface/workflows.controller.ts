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
  instantiateTemplateBodySchema,
  listRunsQuerySchema,
  listWorkflowsQuerySchema,
  pickWinnerBodySchema,
  rpcCatalog,
  saveTemplateBodySchema,
  saveWorkflowBodySchema,
  type AddScheduleBody,
  type ApprovalBody,
  type ExecuteWorkflowBody,
  type InstantiatedTemplate,
  type InstantiateTemplateBody,
  type ListRunsQuery,
  type ListWorkflowsQuery,
  type PickWinnerBody,
  type RunPage,
  type RpcResponseOf,
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

const workflowsRpc = rpcCatalog.workflows;

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
    return this.rpc.call(workflowsRpc.create, { actor: actor(c), definition });
  }

  @RequireScope('workflows:read')
  @Get()
  list(@Claims() c: AccessClaims, @Query(new ZodQueryPipe(listWorkflowsQuerySchema)) query: ListWorkflowsQuery): Promise<WorkflowPage> {
    return this.rpc.call(workflowsRpc.list, { actor: actor(c), query });
  }

  /** The compiler's verdict on a definition, without saving it (the editor checks as you edit). */
  @RequireScope('workflows:read')
  @Post('validate')
  @HttpCode(200)
  validate(@Claims() c: AccessClaims, @Body() definition: unknown): Promise<ValidationReport> {
    if (definition === null || typeof definition !== 'object' || Array.isArray(definition))
      throw new DomainError('VALIDATION_FAILED', 'the body must be a JSON object');
    return this.rpc.call(workflowsRpc.validate, { actor: actor(c), definition });
  }

  @RequireScope('workflows:read')
  @Get(':id')
  get(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<WorkflowView> {
    return this.rpc.call(workflowsRpc.get, { actor: actor(c), workflowId: id });
  }

  /** Saves a new version (a definition equal to the latest saves nothing). */
  @RequireScope('workflows:write')
  @Put(':id')
  update(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Body(new ZodBodyPipe(saveWorkflowBodySchema)) definition: SaveWorkflowBody,
  ): Promise<WorkflowView> {
    return this.rpc.call(workflowsRpc.update, { actor: actor(c), workflowId: id, definition });
  }

  @RequireScope('workflows:write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<void> {
    await this.rpc.call(workflowsRpc.delete, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:read')
  @Get(':id/versions/:version')
  version(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Param('version', versionPipe) version: number,
  ): Promise<{ version: number; definition: WorkflowDefinition }> {
    return this.rpc.call(workflowsRpc.getVersion, { actor: actor(c), workflowId: id, version });
  }

  /** The workflow's events (versions, schedules, fires), in order: its audit trail. */
  @RequireScope('workflows:read')
  @Get(':id/events')
  history(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<RpcResponseOf<typeof workflowsRpc.history>> {
    return this.rpc.call(workflowsRpc.history, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/execute')
  @HttpCode(201)
  execute(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Body(new ZodBodyPipe(executeWorkflowBodySchema)) body: ExecuteWorkflowBody,
  ): Promise<RunView> {
    return this.rpc.call(workflowsRpc.execute, { actor: actor(c), workflowId: id, body });
  }

  /** Pauses the schedules and every active run. */
  @RequireScope('workflows:write')
  @Post(':id/pause')
  @HttpCode(200)
  pause(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<WorkflowView> {
    return this.rpc.call(workflowsRpc.pause, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/resume')
  @HttpCode(200)
  resume(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<WorkflowView> {
    return this.rpc.call(workflowsRpc.resume, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:read')
  @Get(':id/runs')
  runs(@Claims() c: AccessClaims, @Param('id', workflowId) id: string, @Query(new ZodQueryPipe(listRunsQuerySchema)) query: ListRunsQuery): Promise<RunPage> {
    return this.rpc.call(workflowsRpc.listRuns, { actor: actor(c), workflowId: id, query });
  }

  @RequireScope('workflows:read')
  @Get(':id/schedules')
  schedules(@Claims() c: AccessClaims, @Param('id', workflowId) id: string): Promise<{ items: ScheduleView[] }> {
    return this.rpc.call(workflowsRpc.listSchedules, { actor: actor(c), workflowId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/schedules')
  @HttpCode(201)
  addSchedule(
    @Claims() c: AccessClaims,
    @Param('id', workflowId) id: string,
    @Body(new ZodBodyPipe(addScheduleBodySchema)) body: AddScheduleBody,
  ): Promise<WorkflowView> {
    return this.rpc.call(workflowsRpc.addSchedule, { actor: actor(c), workflowId: id, body });
  }

  @RequireScope('workflows:write')
  @Delete(':id/schedules/:scheduleId')
  @HttpCode(200)
  removeSchedule(@Claims() c: AccessClaims, @Param('id', workflowId) id: string, @Param('scheduleId', scheduleId) sid: string): Promise<WorkflowView> {
    return this.rpc.call(workflowsRpc.removeSchedule, { actor: actor(c), workflowId: id, scheduleId: sid });
  }
}

@Controller('api/v1/runs')
@UseGuards(AccessTokenGuard)
export class RunsController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('workflows:read')
  @Get()
  list(@Claims() c: AccessClaims, @Query(new ZodQueryPipe(listRunsQuerySchema)) query: ListRunsQuery): Promise<RunPage> {
    return this.rpc.call(workflowsRpc.listRuns, { actor: actor(c), query });
  }

  @RequireScope('workflows:read')
  @Get(':id')
  get(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.call(workflowsRpc.getRun, { actor: actor(c), runId: id });
  }

  /** Every decision the run made, in order: its audit trail. */
  @RequireScope('workflows:read')
  @Get(':id/events')
  history(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RpcResponseOf<typeof workflowsRpc.runHistory>> {
    return this.rpc.call(workflowsRpc.runHistory, { actor: actor(c), runId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/pause')
  @HttpCode(200)
  pause(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.call(workflowsRpc.pauseRun, { actor: actor(c), runId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/resume')
  @HttpCode(200)
  resume(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.call(workflowsRpc.resumeRun, { actor: actor(c), runId: id });
  }

  @RequireScope('workflows:write')
  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Claims() c: AccessClaims, @Param('id', runId) id: string): Promise<RunView> {
    return this.rpc.call(workflowsRpc.cancelRun, { actor: actor(c), runId: id });
  }

  /** Runs a failed or cancelled node again, with what depends on it (nothing else). */
  @RequireScope('workflows:write')
  @Post(':id/nodes/:nodeId/retry')
  @HttpCode(200)
  retry(@Claims() c: AccessClaims, @Param('id', runId) id: string, @Param('nodeId', NodeIdPipe) nodeId: string): Promise<RunView> {
    return this.rpc.call(workflowsRpc.retryNode, { actor: actor(c), runId: id, nodeId });
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
    return this.rpc.call(workflowsRpc.decideApproval, { actor: actor(c), runId: id, nodeId, body });
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
    return this.rpc.call(workflowsRpc.pickWinner, { actor: actor(c), runId: id, nodeId, body });
  }
}

@Controller('api/v1/workflow-templates')
@UseGuards(AccessTokenGuard)
export class WorkflowTemplatesController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('workflows:read')
  @Get()
  list(@Claims() c: AccessClaims): Promise<{ items: TemplateView[] }> {
    return this.rpc.call(workflowsRpc.listTemplates, { actor: actor(c) });
  }

  /** Saves one of your workflows as a template with named parameters. */
  @RequireScope('workflows:write')
  @Post()
  @HttpCode(201)
  save(@Claims() c: AccessClaims, @Body(new ZodBodyPipe(saveTemplateBodySchema)) body: SaveTemplateBody): Promise<TemplateView> {
    return this.rpc.call(workflowsRpc.saveTemplate, { actor: actor(c), body });
  }

  @RequireScope('workflows:write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Claims() c: AccessClaims, @Param('id', TemplateIdPipe) id: string): Promise<void> {
    await this.rpc.call(workflowsRpc.deleteTemplate, { actor: actor(c), templateId: id });
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
    return this.rpc.call(workflowsRpc.instantiateTemplate, { actor: actor(c), templateId: id, body });
  }
}
