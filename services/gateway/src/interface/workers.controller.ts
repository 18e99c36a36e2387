/** /api/v1/workers — users manage workers; workers register, heartbeat and pull over HTTP. */
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  rpcCatalog,
  DomainError,
  createRegistrationTokenBodySchema,
  grantWorkerRoleBodySchema,
  heartbeatSchema,
  registerWorkerBodySchema,
  taskSecretsRequestSchema,
  type Assignment,
  type CreateRegistrationTokenBody,
  type GrantWorkerRoleBody,
  type Heartbeat,
  type RegisterWorkerBody,
  type RegistrationToken,
  type TaskSecrets,
  type TaskSecretsRequest,
  type WorkerNatsCredentials,
  type WorkerRegistration,
  type WorkerView,
} from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import { TaskSecretBroker } from '../infrastructure/task-secret-broker';
import { AccessTokenGuard, Claims, RequireScope } from './access-token.guard';
import { TaskIdPipe, WorkerIdPipe } from './id.pipe';
import { WorkerCredentialGuard } from './worker-credential.guard';
import { ZodBodyPipe } from './zod-body.pipe';

const workersRpc = rpcCatalog.workers;

@Controller('api/v1/workers')
export class WorkersController {
  constructor(
    @Inject(NatsRpcClient) private readonly rpc: NatsRpcClient,
    private readonly secrets: TaskSecretBroker,
  ) {}

  @RequireScope('workers:read')
  @Get()
  @UseGuards(AccessTokenGuard)
  list(@Claims() c: AccessClaims): Promise<{ items: WorkerView[] }> {
    return this.rpc.call(workersRpc.list, { actor: { userId: c.sub } });
  }

  @RequireScope('workers:write')
  @Post('registration-tokens')
  @HttpCode(201)
  @UseGuards(AccessTokenGuard)
  createToken(
    @Claims() c: AccessClaims,
    @Body(new ZodBodyPipe(createRegistrationTokenBodySchema)) body: CreateRegistrationTokenBody,
  ): Promise<RegistrationToken> {
    return this.rpc.call(workersRpc.createRegistrationToken, { actor: { userId: c.sub }, body });
  }

  /** Called by the worker agent with a registration token; no user session. */
  @Post('register')
  @HttpCode(201)
  register(@Body(new ZodBodyPipe(registerWorkerBodySchema)) body: RegisterWorkerBody): Promise<WorkerRegistration> {
    return this.rpc.call(workersRpc.register, { body });
  }

  @RequireScope('workers:read')
  @Get(':id')
  @UseGuards(AccessTokenGuard)
  get(@Claims() c: AccessClaims, @Param('id', WorkerIdPipe) workerId: string): Promise<WorkerView> {
    return this.rpc.call(workersRpc.get, { actor: { userId: c.sub }, workerId });
  }

  @RequireScope('workers:write')
  @Post(':id/drain')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  drain(@Claims() c: AccessClaims, @Param('id', WorkerIdPipe) workerId: string): Promise<WorkerView> {
    return this.rpc.call(workersRpc.drain, { actor: { userId: c.sub }, workerId });
  }

  @RequireScope('workers:write')
  @Post(':id/resume')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  resume(@Claims() c: AccessClaims, @Param('id', WorkerIdPipe) workerId: string): Promise<WorkerView> {
    return this.rpc.call(workersRpc.resume, { actor: { userId: c.sub }, workerId });
  }

  @RequireScope('workers:write')
  @Post(':id/roles')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async grantRole(
    @Claims() c: AccessClaims,
    @Param('id', WorkerIdPipe) workerId: string,
    @Body(new ZodBodyPipe(grantWorkerRoleBodySchema)) body: GrantWorkerRoleBody,
  ): Promise<WorkerView> {
    // The workers service cannot read auth's users, so the edge asks auth whether the grantee
    // exists — only for an owner of the worker (anyone else gets the workers service's answer),
    // so a stranger cannot use this endpoint to learn which user ids exist.
    const worker = await this.rpc.call(workersRpc.get, { actor: { userId: c.sub }, workerId });
    if (worker.role === 'owner') await this.requireUser(body.userId);
    return this.rpc.call(workersRpc.grantRole, { actor: { userId: c.sub }, workerId, ...body });
  }

  private async requireUser(userId: string): Promise<void> {
    try {
      await this.rpc.call(rpcCatalog.auth.getUser, { userId });
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'NOT_FOUND') throw e;
      const message = `no user has the id ${userId}`;
      throw new DomainError('VALIDATION_FAILED', message, [{ field: 'userId', message }]);
    }
  }

  @RequireScope('workers:write')
  @Post(':id/revoke-credential')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  revokeCredential(@Claims() c: AccessClaims, @Param('id', WorkerIdPipe) workerId: string): Promise<WorkerView> {
    return this.rpc.call(workersRpc.revokeCredential, { actor: { userId: c.sub }, workerId });
  }

  /** HTTP alternative to `work.heartbeat.<id>` for agents that cannot hold a NATS connection. */
  @Post(':id/heartbeat')
  @HttpCode(204)
  @UseGuards(WorkerCredentialGuard)
  async heartbeat(@Param('id', WorkerIdPipe) workerId: string, @Body(new ZodBodyPipe(heartbeatSchema)) heartbeat: Heartbeat): Promise<void> {
    await this.rpc.call(workersRpc.heartbeat, { workerId, heartbeat });
  }

  /** The worker's expiring NATS credentials (its own subjects only); the agent renews them before they expire. */
  @Post(':id/nats-credentials')
  @HttpCode(200)
  @UseGuards(WorkerCredentialGuard)
  natsCredentials(@Param('id', WorkerIdPipe) workerId: string): Promise<WorkerNatsCredentials> {
    return this.rpc.call(workersRpc.issueNatsCredentials, { workerId });
  }

  /** Pull mode: the next assignment for this worker, or 204 when there is none. */
  @Get(':id/pull-task')
  @UseGuards(WorkerCredentialGuard)
  async pull(@Param('id', WorkerIdPipe) workerId: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<Assignment | undefined> {
    const next = await this.rpc.call(rpcCatalog.tasks.pull, { workerId });
    if (!next) void reply.status(204);
    return next ?? undefined;
  }

  /**
   * The values of the secrets a task's env references, for the agent running its current attempt
   * (404/403 otherwise). The only answer that carries a secret value: never cached.
   */
  @Post(':id/tasks/:taskId/secrets')
  @HttpCode(200)
  @UseGuards(WorkerCredentialGuard)
  taskSecrets(
    @Param('id', WorkerIdPipe) workerId: string,
    @Param('taskId', TaskIdPipe) taskId: string,
    @Body(new ZodBodyPipe(taskSecretsRequestSchema)) body: TaskSecretsRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskSecrets> {
    void reply.header('cache-control', 'no-store');
    return this.secrets.resolve(workerId, taskId, body.attempt);
  }
}
