import { Injectable } from '@nestjs/common';
import { newId, type CorrelationMetadata, type CreateTaskBody, type TaskView } from '@agentyard/contracts';
import { toTaskView } from '../domain/task';
import type { Actor } from '../domain/task.decide';
import { TaskCommandRunner } from './task-command.runner';

@Injectable()
export class CreateTaskHandler {
  constructor(private readonly commands: TaskCommandRunner) {}

  /** Creates and queues a task; replies with the view folded from the new events (the read model may lag). */
  async execute(command: { actor: Actor; task: CreateTaskBody }, metadata: CorrelationMetadata): Promise<TaskView> {
    const taskId = newId();
    const { state } = await this.commands.run(taskId, { kind: 'CreateTask', taskId, actor: command.actor, task: command.task, now: new Date() }, metadata);
    return toTaskView(state);
  }
}
