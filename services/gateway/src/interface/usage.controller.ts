/** /api/v1/usage — the caller's agent usage (tokens, cost) per day and tool; thin: validate, forward. */
import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { rpcCatalog, usageQuerySchema, type UsageQuery, type UsageReport } from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import { AccessTokenGuard, Claims, RequireScope } from './access-token.guard';
import { ZodQueryPipe } from './zod-query.pipe';

@Controller('api/v1/usage')
@UseGuards(AccessTokenGuard)
export class UsageController {
  constructor(@Inject(NatsRpcClient) private readonly rpc: NatsRpcClient) {}

  @RequireScope('tasks:read')
  @Get()
  get(@Claims() c: AccessClaims, @Query(new ZodQueryPipe(usageQuerySchema)) query: UsageQuery): Promise<UsageReport> {
    return this.rpc.call(rpcCatalog.tasks.usage, { actor: { userId: c.sub }, query });
  }
}
