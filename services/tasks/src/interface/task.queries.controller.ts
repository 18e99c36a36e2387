/** Task queries over NATS request/reply. Thin: validate, call one query. */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { listTasksCommandSchema, parseOrThrow, taskRefCommandSchema, taskSubjects, type Assignment, type Envelope, type TaskPage, type TaskView } from '@agentyard/contracts';
import { GetTaskQuery } from '../application/get-task.query';
import { ListTasksQueryHandler } from '../application/list-tasks.query';
import { PullTaskQuery } from '../application/pull-task.query';

/** The contracts name the pull subject but not its payload: `{ workerId }` (the gateway authenticated the worker). */
const pullTaskQuerySchema = z.object({ workerId: z.string().min(1).max(64) });

/**
 * The list payload may arrive already parsed by the caller with listTasksQuerySchema, whose
 * `status` turns "a,b" into an array; parsing that again would refuse the array. Join it back.
 */
function relistable(data: unknown): unknown {
  const query = (data as { query?: { status?: unknown } } | null)?.query;
  if (query && Array.isArray(query.status)) return { ...(data as object), query: { ...query, status: query.status.join(',') } };
  return data;
}

@Controller()
export class TaskQueriesController {
  constructor(
    private readonly get: GetTaskQuery,
    private readonly list: ListTasksQueryHandler,
    private readonly pull: PullTaskQuery,
  ) {}

  @MessagePattern(taskSubjects.get)
  onGet(@Payload() data: unknown): Promise<TaskView> {
    const { actor, taskId } = parseOrThrow(taskRefCommandSchema, data, 'get-task query');
    return this.get.execute(actor, taskId);
  }

  @MessagePattern(taskSubjects.list)
  onList(@Payload() data: unknown): Promise<TaskPage> {
    const { actor, query } = parseOrThrow(listTasksCommandSchema, relistable(data), 'list-tasks query');
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
}
