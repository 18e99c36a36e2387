/*
 * An owner's changes to an existing task: update, cancel, retry, delete. The decider checks
 * ownership (another user's task is NOT_FOUND) and status (CONFLICT naming it); each reply is
 * the state folded right after the change.
 */
import { Injectable } from '@nestjs/common';
import type { CorrelationMetadata, TaskView, UpdateTaskBody } from '@agentyard/contracts';
import { toTaskView } from '../domain/task';
import type { Actor } from '../domain/task.decide';
import { TaskCommandRunner } from './task-command.runner';

@Injectable()
export class ChangeTaskHandler {
  constructor(private readonly commands: TaskCommandRunner) {}

  /** Changes description and/or priority while the task is queued. */
  async update(actor: Actor, taskId: string, patch: UpdateTaskBody, metadata: CorrelationMetadata): Promise<TaskView> {
    return toTaskView((await this.commands.run(taskId, { kind: 'UpdateTask', actor, patch, now: new Date() }, metadata)).state);
  }

  /** Cancels a queued, assigned or running task; its worker, if any, is told by the dispatcher. */
  async cancel(actor: Actor, taskId: string, metadata: CorrelationMetadata): Promise<TaskView> {
    return toTaskView((await this.commands.run(taskId, { kind: 'CancelTask', actor, now: new Date() }, metadata)).state);
  }

  /** Queues the next attempt of a failed, timed-out or cancelled task. */
  async retry(actor: Actor, taskId: string, metadata: CorrelationMetadata): Promise<TaskView> {
    return toTaskView((await this.commands.run(taskId, { kind: 'RetryTask', actor, now: new Date() }, metadata)).state);
  }

  /** Hides a finished task from every query; its stream stays for auditors. */
  async delete(actor: Actor, taskId: string, metadata: CorrelationMetadata): Promise<{ taskId: string; deleted: true }> {
    await this.commands.run(taskId, { kind: 'DeleteTask', actor, now: new Date() }, metadata);
    return { taskId, deleted: true };
  }
}
