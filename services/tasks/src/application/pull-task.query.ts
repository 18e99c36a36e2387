import { Injectable } from '@nestjs/common';
import type { Assignment } from '@agentyard/contracts';
import { TaskViewRepository } from '../infrastructure/task-view.repository';

@Injectable()
export class PullTaskQuery {
  constructor(private readonly tasks: TaskViewRepository) {}

  /**
   * Pull mode: the task assigned to this worker longest ago and not started yet, as the
   * Assignment a connected worker would have received; null when there is none. Repeating the
   * pull returns the same task until the worker reports it started (its lease still runs).
   * The caller (the gateway) has authenticated the worker.
   */
  async execute(workerId: string): Promise<Assignment | null> {
    const row = await this.tasks.oldestAssignedTo(workerId);
    if (!row) return null;
    return {
      kind: 'assign',
      taskId: row.id,
      attempt: row.attempt,
      tool: row.tool,
      input: row.input,
      description: row.description,
      timeoutSeconds: row.timeoutSeconds,
      heartbeatTimeoutSeconds: row.heartbeatTimeoutSeconds,
      ownerId: row.ownerId,
    };
  }
}
