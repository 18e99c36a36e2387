/**
 * Heartbeats published by agents on `work.heartbeat.<workerId>` (core NATS, no reply expected),
 * shared across the service's instances by the transport's queue group. A heartbeat that does
 * not parse, or whose body names another worker than its subject, is dropped: a worker may only
 * speak for itself.
 */
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { heartbeatSchema } from '@agentyard/contracts';
import { NatsRequestContext } from '@agentyard/messaging';
import { ROOT_LOGGER } from '@agentyard/service-kit';
import { RecordHeartbeatHandler } from '../application/record-heartbeat.handler';
import { requestContext } from './workers.controller';

/** `work.heartbeat.*`: the subject pattern of every worker's heartbeat. */
export const heartbeatSubjectPattern = 'work.heartbeat.*';

@Controller()
export class HeartbeatListener {
  constructor(
    private readonly heartbeats: RecordHeartbeatHandler,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  @MessagePattern(heartbeatSubjectPattern)
  async onHeartbeat(@Payload() data: unknown, @Ctx() ctx: NatsRequestContext): Promise<void> {
    const subjectWorkerId = ctx.getSubject().split('.')[2];
    const parsed = heartbeatSchema.safeParse(data);
    if (!parsed.success) {
      this.logger.warn({ subject: ctx.getSubject(), issues: parsed.error.issues.slice(0, 3) }, 'dropped a malformed heartbeat');
      return;
    }
    if (parsed.data.workerId !== subjectWorkerId) {
      this.logger.warn({ subject: ctx.getSubject(), claimed: parsed.data.workerId }, 'dropped a heartbeat naming another worker than its subject');
      return;
    }
    const outcome = await this.heartbeats.execute(parsed.data, requestContext());
    if (outcome !== 'recorded') this.logger.debug({ workerId: subjectWorkerId, outcome }, 'heartbeat not recorded');
  }
}
