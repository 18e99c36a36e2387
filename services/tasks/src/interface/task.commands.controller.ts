/**
 * Task commands over NATS request/reply. Thin: validate the payload again with the contracts'
 * schema (the gateway is not the only caller), call one handler. DomainErrors travel typed.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { createTaskCommandSchema, parseOrThrow, taskRefCommandSchema, taskSubjects, updateTaskCommandSchema, type TaskView } from '@agentyard/contracts';
import { ChangeTaskHandler } from '../application/change-task.handler';
import { CreateTaskHandler } from '../application/create-task.handler';
import { requestMetadata } from '@agentyard/messaging';

@Controller()
export class TaskCommandsController {
  constructor(
    private readonly create: CreateTaskHandler,
    private readonly change: ChangeTaskHandler,
  ) {}

  @MessagePattern(taskSubjects.create)
  onCreate(@Payload() data: unknown): Promise<TaskView> {
    const command = parseOrThrow(createTaskCommandSchema, data, 'create-task command');
    return this.create.execute(command, requestMetadata(command.actor.userId));
  }

  @MessagePattern(taskSubjects.update)
  onUpdate(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId, patch } = parseOrThrow(updateTaskCommandSchema, data, 'update-task command');
    return this.change.update(actor, taskId, patch, requestMetadata(actor.userId));
  }

  @MessagePattern(taskSubjects.cancel)
  onCancel(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'cancel-task command');
    return this.change.cancel(actor, taskId, requestMetadata(actor.userId));
  }

  @MessagePattern(taskSubjects.retry)
  onRetry(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'retry-task command');
    return this.change.retry(actor, taskId, requestMetadata(actor.userId));
  }

  @MessagePattern(taskSubjects.delete)
  onDelete(@Payload() data: unknown): Promise<{ taskId: string; deleted: true }> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'delete-task command');
    return this.change.delete(actor, taskId, requestMetadata(actor.userId));
  }
}
