/** /api/v1/secrets — thin: validate, attach the caller, forward to the auth service. Never a value in an answer. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, UseGuards } from '@nestjs/common';
import {
  createSecretBodySchema,
  rpcCatalog,
  updateSecretBodySchema,
  type CreateSecretBody,
  type Secret,
  type SecretList,
  type UpdateSecretBody,
} from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import { AccessTokenGuard, Claims, RequireScope } from './access-token.guard';
import { SecretNamePipe } from './secret-name.pipe';
import { ZodBodyPipe } from './zod-body.pipe';

const secretsRpc = rpcCatalog.secrets;

@Controller('api/v1/secrets')
@UseGuards(AccessTokenGuard)
export class SecretsController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('secrets:read')
  @Get()
  list(@Claims() c: AccessClaims): Promise<SecretList> {
    return this.rpc.call(secretsRpc.list, { userId: c.sub });
  }

  @RequireScope('secrets:write')
  @Post()
  @HttpCode(201)
  create(@Claims() c: AccessClaims, @Body(new ZodBodyPipe(createSecretBodySchema)) body: CreateSecretBody): Promise<Secret> {
    return this.rpc.call(secretsRpc.create, { userId: c.sub, body });
  }

  @RequireScope('secrets:write')
  @Put(':name')
  update(
    @Claims() c: AccessClaims,
    @Param('name', SecretNamePipe) name: string,
    @Body(new ZodBodyPipe(updateSecretBodySchema)) body: UpdateSecretBody,
  ): Promise<Secret> {
    return this.rpc.call(secretsRpc.update, { userId: c.sub, name, body });
  }

  @RequireScope('secrets:write')
  @Delete(':name')
  @HttpCode(204)
  async remove(@Claims() c: AccessClaims, @Param('name', SecretNamePipe) name: string): Promise<void> {
    await this.rpc.call(secretsRpc.delete, { userId: c.sub, name });
  }
}
