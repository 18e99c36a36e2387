import { Injectable } from '@nestjs/common';
import type { Envelope, TaskView } from '@agentyard/contracts';
import { toTaskView, type TaskState } from '../domain/task';
import type { Actor } from '../domain/task.decide';
import { taskNotFound } from '../domain/task.errors';
import { TaskCommandRunner } from './task-command.runner';

/**
 * GetTask and GetTaskHistory answer from the task's own stream, not from task_view: one indexed
 * read of a few rows, and always current, so a get right after a create, cancel or retry shows
 * that change (task_view may lag by milliseconds). Absent, someone else's and deleted tasks are
 * all NOT_FOUND.
 */
@Injectable()
export class GetTaskQuery {
  constructor(private readonly commands: TaskCommandRunner) {}

  async execute(actor: Actor, taskId: string): Promise<TaskView> {
    const { state } = await this.owned(actor, taskId);
    return toTaskView(state);
  }

  /** Every event of the task in stream order: the audit trail. */
  async history(actor: Actor, taskId: string): Promise<{ items: Envelope[] }> {
    const { events } = await this.owned(actor, taskId);
    return { items: events };
  }

  private async owned(actor: Actor, taskId: string): Promise<{ state: TaskState; events: Envelope[] }> {
    const loaded = await this.commands.load(taskId);
    const { state } = loaded;
    if (!state.exists || state.deleted || state.ownerId !== actor.userId) throw taskNotFound();
    return loaded;
  }
}
