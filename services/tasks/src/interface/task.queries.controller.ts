/** Task queries over NATS request/reply. Thin: validate, call one query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  parseOrThrow,
  rpcCatalog,
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

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const tasksRpc = rpcCatalog.tasks;

@Controller()
export class TaskQueriesController {
  constructor(
    private readonly get: GetTaskQuery,
    private readonly list: ListTasksQueryHandler,
    private readonly pull: PullTaskQuery,
    private readonly secretRefs: TaskSecretRefsQuery,
    private readonly usage: UsageQueryHandler,
  ) {}

  @MessagePattern(tasksRpc.get.subject)
  onGet(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(tasksRpc.get.request, data, 'get-task query');
    return this.get.execute(actor, taskId);
  }

  @MessagePattern(tasksRpc.list.subject)
  onList(@Payload() data: unknown): Promise<TaskPage> {
    const { actor, query } = parseOrThrow(tasksRpc.list.request, data, 'list-tasks query');
    return this.list.execute(actor, query);
  }

  @MessagePattern(tasksRpc.history.subject)
  onHistory(@Payload() data: unknown): Promise<{ items: Envelope[] }> {
    const { actor, taskId } = parseOrThrow(tasksRpc.history.request, data, 'get-task-history query');
    return this.get.history(actor, taskId);
  }

  @MessagePattern(tasksRpc.pull.subject)
  onPull(@Payload() data: unknown): Promise<Assignment | null> {
    return this.pull.execute(parseOrThrow(tasksRpc.pull.request, data, 'pull-task query').workerId);
  }

  @MessagePattern(tasksRpc.secretRefs.subject)
  onSecretRefs(@Payload() data: unknown): Promise<TaskSecretRefs> {
    return this.secretRefs.execute(parseOrThrow(tasksRpc.secretRefs.request, data, 'get-task-secret-refs query'));
  }

  @MessagePattern(tasksRpc.usage.subject)
  onUsage(@Payload() data: unknown): Promise<UsageReport> {
    const { actor, query } = parseOrThrow(tasksRpc.usage.request, data, 'get-usage query');
    return this.usage.execute(actor, query);
  }
}
