/*
 * The task list's filters live in the URL query (so a filtered view can be shared or
 * bookmarked): `?status=running,failed&tool=shell&worker=…&q=…&from=…&to=…&sort=-priority`.
 * Parsing is forgiving — an unknown value is dropped, never an error page. Pure; tested in
 * task-filters.unit.spec.ts.
 */
import type { LocationQuery, LocationQueryRaw } from 'vue-router';
import type { ListTasksQuery, TaskStatus, ToolName } from '@/api/client';
import { taskStatuses } from '@/api/task-events';
import { toolNames } from './tools';

export const sortOptions = ['-created', 'created', '-priority', 'priority'] as const;
export type TaskSort = (typeof sortOptions)[number];

export interface TaskFilters {
  status: TaskStatus[];
  tool: ToolName | null;
  workerId: string | null;
  q: string;
  /** ISO date-times. */
  from: string | null;
  to: string | null;
  sort: TaskSort;
}

export const emptyFilters: TaskFilters = { status: [], tool: null, workerId: null, q: '', from: null, to: null, sort: '-created' };

const first = (v: LocationQuery[string] | undefined): string | null => {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' && x.length > 0 ? x : null;
};
const isoOrNull = (v: string | null): string | null => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : null);

export function parseFilters(query: LocationQuery): TaskFilters {
  const status = (first(query.status) ?? '').split(',').filter((s): s is TaskStatus => (taskStatuses as string[]).includes(s));
  const tool = first(query.tool);
  const sort = first(query.sort);
  return {
    status: [...new Set(status)],
    tool: tool && (toolNames as string[]).includes(tool) ? (tool as ToolName) : null,
    workerId: first(query.worker),
    q: (first(query.q) ?? '').slice(0, 200),
    from: isoOrNull(first(query.from)),
    to: isoOrNull(first(query.to)),
    sort: sortOptions.includes(sort as TaskSort) ? (sort as TaskSort) : '-created',
  };
}

/** The URL query for `filters`; defaults are left out so a plain list has a plain URL. */
export function filtersToQuery(filters: TaskFilters): LocationQueryRaw {
  const q: LocationQueryRaw = {};
  if (filters.status.length) q.status = filters.status.join(',');
  if (filters.tool) q.tool = filters.tool;
  if (filters.workerId) q.worker = filters.workerId;
  if (filters.q.trim()) q.q = filters.q.trim();
  if (filters.from) q.from = filters.from;
  if (filters.to) q.to = filters.to;
  if (filters.sort !== '-created') q.sort = filters.sort;
  return q;
}

export function filtersToApi(filters: TaskFilters, limit = 100): ListTasksQuery {
  const q: ListTasksQuery = { sort: filters.sort, limit };
  if (filters.status.length) q.status = filters.status;
  if (filters.tool) q.tool = filters.tool;
  if (filters.workerId) q.workerId = filters.workerId;
  if (filters.q.trim()) q.q = filters.q.trim();
  if (filters.from) q.createdFrom = filters.from;
  if (filters.to) q.createdTo = filters.to;
  return q;
}

export const hasFilters = (f: TaskFilters): boolean => Object.keys(filtersToQuery({ ...f, sort: '-created' })).length > 0;
