/** Allocation's NATS request/reply endpoint. Thin: validate, call one query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseOrThrow, rpcCatalog, type AllocationView } from '@agentyard/contracts';
import { GetAllocationQuery } from '../application/get-allocation.query';

@Controller()
export class AllocationQueriesController {
  constructor(private readonly getAllocation: GetAllocationQuery) {}

  @MessagePattern(rpcCatalog.allocation.getDecision.subject)
  onGetAllocation(@Payload() data: unknown): Promise<AllocationView> {
    const { actor, taskId } = parseOrThrow(rpcCatalog.allocation.getDecision.request, data, 'query');
    return this.getAllocation.execute(actor.userId, taskId);
  }
}
