import { describe, expect, it } from 'vitest';
import { bucketPerMinute } from './useTasksPerMinute';

describe('bucketPerMinute', () => {
  const now = Date.parse('2026-11-01T10:05:30Z');

  it('counts submissions and completions in the minute they happened', () => {
    const b = bucketPerMinute(
      [
        { createdAt: '2026-11-01T10:05:01Z', finishedAt: '2026-11-01T10:05:20Z' },
        { createdAt: '2026-11-01T10:04:59Z', finishedAt: null },
        { createdAt: '2026-11-01T10:03:00Z', finishedAt: '2026-11-01T10:05:00Z' },
      ],
      now,
      3,
    );
    expect(b.minutes.map((m) => new Date(m).toISOString().slice(11, 16))).toEqual(['10:03', '10:04', '10:05']);
    expect(b.submitted).toEqual([1, 1, 1]);
    expect(b.finished).toEqual([0, 0, 2]);
  });

  it('leaves out anything outside the window', () => {
    const b = bucketPerMinute([{ createdAt: '2026-11-01T09:00:00Z', finishedAt: '2026-11-01T11:00:00Z' }], now, 5);
    expect(b.submitted.concat(b.finished).every((n) => n === 0)).toBe(true);
  });
});
