import { Injectable } from '@nestjs/common';
import { DomainError, type TaskSecretRefs, type TaskSecretRefsQuery as Query } from '@agentyard/contracts';
import { secretAccess } from '../domain/task-secret-access';
import { TaskCommandRunner } from './task-command.runner';

/**
 * GetTaskSecretRefs: the owner and the secret names of a task, for the worker that holds its
 * current attempt. Read from the task's stream (never task_view, which may lag behind a requeue),
 * so the fence is as current as the one that judges the worker's reports.
 */
@Injectable()
export class TaskSecretRefsQuery {
  constructor(private readonly commands: TaskCommandRunner) {}

  async execute(query: Query): Promise<TaskSecretRefs> {
    const { state } = await this.commands.load(query.taskId);
    const access = secretAccess(state, query.workerId, query.attempt);
    if (!access.granted) throw new DomainError(access.code, access.reason);
    return { ownerId: access.ownerId, names: access.names };
  }
}
