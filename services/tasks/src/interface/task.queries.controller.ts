/** Task queries over NATS request/reply. Thin: validate, call one query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  listTasksCommandSchema,
  parseOrThrow,
  pullTaskQuerySchema,
  taskRefCommandSchema,
  taskSecretRefsQuerySchema,
  taskSubjects,
  usageQueryCommandSchema,
  type Assignment,
  type Envelope,
  type TaskPage,
  type TaskSecretRefs,
  type TaskView,
  type UsageReport,
} from '@agentyard/contracts';
import { GetTaskQuery } from '../application/get-task.query';
import { ListTasksQueryHandler } from '../application/list-tasks.query';
import { PullTaskQuery } from '../application/pull-task.query';
import { TaskSecretRefsQuery } from '../application/task-secret-refs.query';
import { UsageQueryHandler } from '../application/usage.query';

@Controller()
export class TaskQueriesController {
  constructor(
    private readonly get: GetTaskQuery,
    private readonly list: ListTasksQueryHandler,
    private readonly pull: PullTaskQuery,
    private readonly secretRefs: TaskSecretRefsQuery,
    private readonly usage: UsageQueryHandler,
  ) {}

  @MessagePattern(taskSubjects.get)
  onGet(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'get-task query');
    return this.get.execute(actor, taskId);
  }

  @MessagePattern(taskSubjects.list)
  onList(@Payload() data: unknown): Promise<TaskPage> {
    const { actor, query } = parseOrThrow(listTasksCommandSchema, data, 'list-tasks query');
    return this.list.execute(actor, query);
  }

  @MessagePattern(taskSubjects.history)
  onHistory(@Payload() data: unknown): Promise<{ items: Envelope[] }> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'get-task-history query');
    return this.get.history(actor, taskId);
  }

  @MessagePattern(taskSubjects.pull)
  onPull(@Payload() data: unknown): Promise<Assignment | null> {
    return this.pull.execute(parseOrThrow(pullTaskQuerySchema, data, 'pull-task query').workerId);
  }

  @MessagePattern(taskSubjects.secretRefs)
  onSecretRefs(@Payload() data: unknown): Promise<TaskSecretRefs> {
    return this.secretRefs.execute(parseOrThrow(taskSecretRefsQuerySchema, data, 'get-task-secret-refs query'));
  }

  @MessagePattern(taskSubjects.usage)
  onUsage(@Payload() data: unknown): Promise<UsageReport> {
    const { actor, query } = parseOrThrow(usageQueryCommandSchema, data, 'get-usage query');
    return this.usage.execute(actor, query);
  }
}
