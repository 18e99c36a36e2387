import { describe, expect, it } from 'vitest';
import { emptyFilters, filtersToApi, filtersToQuery, hasFilters, parseFilters } from './task-filters';

describe('task filters in the URL', () => {
  it('survive a round trip through the query string', () => {
    const filters = {
      status: ['running' as const, 'failed' as const],
      tool: 'shell' as const,
      workerId: 'w-1',
      q: 'deploy',
      from: '2026-11-01T10:00:00.000Z',
      to: '2026-11-01T12:00:00.000Z',
      sort: '-priority' as const,
    };
    expect(parseFilters(filtersToQuery(filters) as Record<string, string>)).toEqual(filters);
  });

  it('leave defaults out so a plain list has a plain URL', () => {
    expect(filtersToQuery(emptyFilters)).toEqual({});
    expect(hasFilters(emptyFilters)).toBe(false);
    expect(hasFilters({ ...emptyFilters, sort: 'priority' })).toBe(false);
  });

  it('drop unknown statuses, tools, sorts and dates instead of failing', () => {
    expect(parseFilters({ status: 'running,bogus', tool: 'hammer', sort: 'sideways', from: 'yesterday' })).toEqual({ ...emptyFilters, status: ['running'] });
  });

  it('become the list endpoint’s query', () => {
    expect(filtersToApi({ ...emptyFilters, status: ['queued'], q: '  build ', from: '2026-11-01T10:00:00.000Z' }, 50)).toEqual({
      sort: '-created',
      limit: 50,
      status: ['queued'],
      q: 'build',
      createdFrom: '2026-11-01T10:00:00.000Z',
    });
  });
});
