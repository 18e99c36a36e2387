/** Allocation's NATS request/reply endpoint. Thin: validate, call one query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { allocationSubjects, parseOrThrow, taskRefCommandSchema, type AllocationView } from '@agentyard/contracts';
import { GetAllocationQuery } from '../application/get-allocation.query';

@Controller()
export class AllocationQueriesController {
  constructor(private readonly getAllocation: GetAllocationQuery) {}

  @MessagePattern(allocationSubjects.getDecision)
  onGetAllocation(@Payload() data: unknown): Promise<AllocationView> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'query');
    return this.getAllocation.execute(actor.userId, taskId);
  }
}
