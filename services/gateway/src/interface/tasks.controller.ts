/** /api/v1/tasks — thin: validate, attach the caller as actor, forward to the tasks service (secret refs checked first). */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Res, UseGuards } from '@nestjs/common';
import {
  createTaskBodySchema,
  listTasksQuerySchema,
  rpcCatalog,
  updateTaskBodySchema,
  type AllocationView,
  type CreateTaskBody,
  type ListTasksQuery,
  type RpcResponseOf,
  type TaskPage,
  type TaskView,
  type UpdateTaskBody,
} from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import type { FastifyReply } from 'fastify';
import { CreateAdmission } from '../application/create-admission';
import { TaskSecretBroker } from '../infrastructure/task-secret-broker';
import { AccessTokenGuard, Claims, RequireScope } from './access-token.guard';
import { TaskIdPipe } from './id.pipe';
import { IdempotencyKey } from './idempotency-key.decorator';
import { ZodBodyPipe } from './zod-body.pipe';
import { ZodQueryPipe } from './zod-query.pipe';

const tasksRpc = rpcCatalog.tasks;

/** Where tasks are created (the edge's admission hook in main.ts refuses creates on this path early). */
export const createTaskPath = '/api/v1/tasks';

@Controller(createTaskPath.slice(1))
@UseGuards(AccessTokenGuard)
export class TasksController {
  constructor(
    @Inject(NatsRpcClient) private readonly rpc: NatsRpcClient,
    private readonly secrets: TaskSecretBroker,
    private readonly admission: CreateAdmission,
  ) {}

  @RequireScope('tasks:write')
  @Post()
  @HttpCode(201)
  async create(
    @Claims() c: AccessClaims,
    @Body(new ZodBodyPipe(createTaskBodySchema)) task: CreateTaskBody,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskView> {
    await this.secrets.assertUsable(c, task.input);
    const command = { actor: { userId: c.sub }, task, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) };
    const { replayed, ...view } = await this.admission.run(() => this.rpc.call(tasksRpc.create, command));
    // The same answer as the first time (201 and the task), marked so a client can tell.
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    return view;
  }

  @RequireScope('tasks:read')
  @Get()
  list(@Claims() c: AccessClaims, @Query(new ZodQueryPipe(listTasksQuerySchema)) query: ListTasksQuery): Promise<TaskPage> {
    return this.rpc.call(tasksRpc.list, { actor: { userId: c.sub }, query });
  }

  @RequireScope('tasks:read')
  @Get(':id')
  get(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<TaskView> {
    return this.rpc.call(tasksRpc.get, { actor: { userId: c.sub }, taskId });
  }

  @RequireScope('tasks:write')
  @Put(':id')
  update(
    @Claims() c: AccessClaims,
    @Param('id', TaskIdPipe) taskId: string,
    @Body(new ZodBodyPipe(updateTaskBodySchema)) patch: UpdateTaskBody,
  ): Promise<TaskView> {
    return this.rpc.call(tasksRpc.update, { actor: { userId: c.sub }, taskId, patch });
  }

  @RequireScope('tasks:write')
  @Delete(':id')
  @HttpCode(204)
  async remove(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<void> {
    await this.rpc.call(tasksRpc.delete, { actor: { userId: c.sub }, taskId });
  }

  @RequireScope('tasks:write')
  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<TaskView> {
    return this.rpc.call(tasksRpc.cancel, { actor: { userId: c.sub }, taskId });
  }

  @RequireScope('tasks:write')
  @Post(':id/retry')
  @HttpCode(200)
  retry(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<TaskView> {
    return this.rpc.call(tasksRpc.retry, { actor: { userId: c.sub }, taskId });
  }

  /** The task's full event history, in order: the audit trail. */
  @RequireScope('tasks:read')
  @Get(':id/events')
  history(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<RpcResponseOf<typeof tasksRpc.history>> {
    return this.rpc.call(tasksRpc.history, { actor: { userId: c.sub }, taskId });
  }

  /** Why this worker: the latest allocation decision with every candidate's scores. */
  @RequireScope('tasks:read')
  @Get(':id/allocation')
  allocation(@Claims() c: AccessClaims, @Param('id', TaskIdPipe) taskId: string): Promise<AllocationView> {
    return this.rpc.call(rpcCatalog.allocation.getDecision, { actor: { userId: c.sub }, taskId });
  }
}
