/*
 * ListTasks over task_view: the owner's tasks only (never deleted ones), filtered and sorted,
 * with keyset pagination. The cursor is opaque to callers: base64url JSON of the sort it belongs
 * to and the last row's sort key and id. Keyset on (key, id) — id breaks ties — keeps pages
 * stable while tasks are added, unlike an offset. The view is eventually consistent: a task
 * created a few milliseconds ago may not be listed yet. Tested in list-tasks.query.unit.spec.ts
 * and test/tasks.int.spec.ts ("when its owner lists tasks").
 */
import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { DomainError, isUuid, taskLimits, text, timestamp, type ListTasksQuery, type TaskPage, type TaskStatus } from '@agentyard/contracts';
import type { Actor } from '../domain/task.decide';
import { TaskViewRepository, type TaskListPage } from '../infrastructure/task-view.repository';
import { taskViewOf, type TaskViewRow } from './task-view.projection';

type Sort = ListTasksQuery['sort'];

const cursorSchema = z.object({ s: z.enum(['created', '-created', 'priority', '-priority']), k: z.union([text(), z.number()]), i: text() });
/** A created_at key: a date-time Postgres' timestamptz can hold. */
const createdKey = timestamp();
/** A priority key: an integer in the range a task's priority has. */
const priorityKey = z.number().int().min(taskLimits.priority.min).max(taskLimits.priority.max);

export function encodeCursor(sort: Sort, row: Pick<TaskViewRow, 'createdAt' | 'priority' | 'id'>): string {
  const key = sort.endsWith('created') ? row.createdAt : row.priority;
  return Buffer.from(JSON.stringify({ s: sort, k: key, i: row.id })).toString('base64url');
}

/** The keyset a cursor stands for; VALIDATION_FAILED when it is not one of ours or belongs to another sort. */
export function decodeCursor(cursor: string, sort: Sort): { key: string | number; id: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = cursorSchema.safeParse(decoded);
  const invalid = (message: string) => new DomainError('VALIDATION_FAILED', message, [{ field: 'cursor', message }]);
  if (!parsed.success) throw invalid('cursor is not valid: pass back the nextCursor of a previous page');
  if (parsed.data.s !== sort) throw invalid(`cursor belongs to sort=${parsed.data.s}, not sort=${sort}`);
  const { k, i } = parsed.data;
  // The key must be what its column holds (a fractional, huge or out-of-range one reached
  // Postgres as a cast error, a 500), and the id a task id.
  const keyOk = sort.endsWith('created') ? typeof k === 'string' && createdKey.safeParse(k).success : priorityKey.safeParse(k).success;
  if (!keyOk || !isUuid(i)) throw invalid('cursor is not valid: pass back the nextCursor of a previous page');
  return { key: k, id: i };
}

@Injectable()
export class ListTasksQueryHandler {
  constructor(private readonly tasks: TaskViewRepository) {}

  async execute(actor: Actor, query: ListTasksQuery): Promise<TaskPage> {
    const statuses: TaskStatus[] | undefined = query.status === undefined ? undefined : Array.isArray(query.status) ? query.status : [query.status];
    const page: TaskListPage = {
      sortBy: query.sort.endsWith('created') ? 'created' : 'priority',
      direction: query.sort.startsWith('-') ? 'desc' : 'asc',
      limit: query.limit + 1,
    };
    if (query.cursor) page.after = decodeCursor(query.cursor, query.sort);
    const rows = await this.tasks.list(
      {
        ownerId: actor.userId,
        statuses,
        tool: query.tool,
        workerId: query.workerId,
        text: query.q,
        createdFrom: query.createdFrom ? new Date(query.createdFrom) : undefined,
        createdTo: query.createdTo ? new Date(query.createdTo) : undefined,
      },
      page,
    );
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return { items: items.map(taskViewOf), nextCursor: rows.length > query.limit && last ? encodeCursor(query.sort, last) : null };
  }
}
