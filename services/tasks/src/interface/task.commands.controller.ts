/**
 * Task commands over NATS request/reply. Thin: validate the payload again with the contracts'
 * schema (the gateway is not the only caller), call one handler. DomainErrors travel typed.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseOrThrow, rpcCatalog, type TaskView } from '@agentyard/contracts';
import { ChangeTaskHandler } from '../application/change-task.handler';
import { CreateTaskHandler } from '../application/create-task.handler';
import { requestMetadata } from '@agentyard/messaging';

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const tasksRpc = rpcCatalog.tasks;

@Controller()
export class TaskCommandsController {
  constructor(
    private readonly create: CreateTaskHandler,
    private readonly change: ChangeTaskHandler,
  ) {}

  @MessagePattern(tasksRpc.create.subject)
  onCreate(@Payload() data: unknown): Promise<TaskView> {
    const command = parseOrThrow(tasksRpc.create.request, data, 'create-task command');
    return this.create.execute(command, requestMetadata(command.actor.userId));
  }

  @MessagePattern(tasksRpc.update.subject)
  onUpdate(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId, patch } = parseOrThrow(tasksRpc.update.request, data, 'update-task command');
    return this.change.update(actor, taskId, patch, requestMetadata(actor.userId));
  }

  @MessagePattern(tasksRpc.cancel.subject)
  onCancel(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(tasksRpc.cancel.request, data, 'cancel-task command');
    return this.change.cancel(actor, taskId, requestMetadata(actor.userId));
  }

  @MessagePattern(tasksRpc.retry.subject)
  onRetry(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(tasksRpc.retry.request, data, 'retry-task command');
    return this.change.retry(actor, taskId, requestMetadata(actor.userId));
  }

  @MessagePattern(tasksRpc.delete.subject)
  onDelete(@Payload() data: unknown): Promise<{ taskId: string; deleted: true }> {
    const { actor, taskId } = parseOrThrow(tasksRpc.delete.request, data, 'delete-task command');
    return this.change.delete(actor, taskId, requestMetadata(actor.userId));
  }
}
