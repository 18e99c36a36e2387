import { Inject, Injectable } from '@nestjs/common';
import type { CorrelationMetadata } from '@agentyard/contracts';
import { TaskViewRepository } from '../infrastructure/task-view.repository';
import { TASK_VIEW_SYNC, TaskCommandRunner, type TaskViewSync } from './task-command.runner';

@Injectable()
export class RequeueWorkerTasksHandler {
  constructor(
    private readonly commands: TaskCommandRunner,
    private readonly tasks: TaskViewRepository,
    @Inject(TASK_VIEW_SYNC) private readonly view: TaskViewSync,
  ) {}

  /**
   * WorkerWentOffline → RequeueTask(worker-lost) for every task the worker held when it was
   * declared offline (`lostAt`). task_view finds them; each command re-decides on the task's
   * stream, so a row that lags, a task that moved on since, or one assigned after `lostAt` leads
   * to nothing. Returns how many tasks were taken back.
   */
  async execute(workerId: string, lostAt: Date, metadata: CorrelationMetadata): Promise<number> {
    await this.view.catchUp();
    let requeued = 0;
    for (const task of await this.tasks.heldBy(workerId)) {
      const { events } = await this.commands.run(
        task.id,
        { kind: 'RequeueTask', reason: 'worker-lost', attempt: task.attempt, workerId, workerLostAt: lostAt, now: new Date() },
        metadata,
      );
      if (events.length > 0) requeued++;
    }
    return requeued;
  }
}
