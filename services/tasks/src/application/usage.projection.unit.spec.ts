import type { Envelope } from '@agentyard/contracts';
import type { TaskViewRow } from './task-view.projection';
import { sumDeltas, usageDeltaOf } from './usage.projection';

const row = { ownerId: 'ann', tool: 'codex' } as TaskViewRow;
const event = (type: string, result: unknown, occurredAt = '2026-12-05T01:30:00+02:00'): Envelope => ({
  id: 'e',
  type,
  version: 1,
  streamId: 'task-t',
  streamVersion: 5,
  occurredAt,
  data: { taskId: 't', result },
  metadata: { correlationId: 'c', causationId: 'c' },
});
const usage = { inputTokens: 10, outputTokens: 4, costUsd: null };

describe('usageDeltaOf', () => {
  it('takes the reported usage of a finished task on the UTC day of the event', () => {
    expect(usageDeltaOf(row, event('TaskSucceeded', { usage }))).toEqual({
      ownerId: 'ann',
      day: '2026-12-04', // 01:30 at +02:00 is still the 4th in UTC
      tool: 'codex',
      inputTokens: 10,
      outputTokens: 4,
      cachedInputTokens: 0,
      costUsd: 0,
      costUnknown: 1,
      tasks: 1,
    });
    expect(usageDeltaOf(row, event('TaskFailed', { usage: { ...usage, costUsd: 0.5 } }))).toMatchObject({ costUsd: 0.5, costUnknown: 0 });
  });

  it('adds nothing for other events or a result without usage', () => {
    expect(usageDeltaOf(row, event('TaskStarted', { usage }))).toBeNull();
    expect(usageDeltaOf(row, event('TaskSucceeded', { exitCode: 0 }))).toBeNull();
    expect(usageDeltaOf(row, event('TaskFailed', null))).toBeNull();
  });
});

describe('sumDeltas', () => {
  it('adds the deltas of one owner, day and tool together', () => {
    const d = usageDeltaOf(row, event('TaskSucceeded', { usage }))!;
    const other = { ...d, tool: 'gemini-cli' };
    expect(sumDeltas([d, d, other])).toEqual([{ ...d, inputTokens: 20, outputTokens: 8, costUnknown: 2, tasks: 2 }, other]);
  });
});
