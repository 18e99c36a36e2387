import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatMb, formatRelative, formatTokens, formatUsage, taskDurationMs } from './format';

describe('format', () => {
  it('formats durations for people', () => {
    expect(formatDuration(350)).toBe('350 ms');
    expect(formatDuration(4_200)).toBe('4.2 s');
    expect(formatDuration(125_000)).toBe('2 m 5 s');
    expect(formatDuration(2 * 3600_000 + 60_000)).toBe('2 h 1 m');
    expect(formatDuration(null)).toBe('—');
  });

  it('formats times relative to now', () => {
    const now = Date.parse('2026-11-01T10:10:00Z');
    expect(formatRelative('2026-11-01T10:09:58Z', now)).toBe('just now');
    expect(formatRelative('2026-11-01T10:09:30Z', now)).toBe('30 s ago');
    expect(formatRelative('2026-11-01T10:09:00Z', now)).toBe('1 min ago');
    expect(formatRelative('2026-11-01T10:00:00Z', now)).toBe('10 min ago');
    expect(formatRelative(null, now)).toBe('—');
  });

  it('measures a running task up to now', () => {
    expect(taskDurationMs({ startedAt: '2026-11-01T10:00:00Z', finishedAt: null }, Date.parse('2026-11-01T10:00:03Z'))).toBe(3000);
    expect(taskDurationMs({ startedAt: null, finishedAt: null })).toBeNull();
  });

  it('formats sizes', () => {
    expect(formatMb(512)).toBe('512 MB');
    expect(formatMb(8192)).toBe('8.0 GB');
  });

  it('formats byte sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(3_500)).toBe('3.4 KB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB');
  });

  it("formats token counts and an agent task's usage", () => {
    expect([950, 1234, 12_345, 1_234_567].map(formatTokens)).toEqual(['950', '1.2k', '12k', '1.2M']);
    expect(formatUsage({ inputTokens: 1234, outputTokens: 340, cachedInputTokens: 800, costUsd: 0.0123 })).toBe('1.2k in · 340 out (800 cached) · $0.0123');
    expect(formatUsage({ inputTokens: 10, outputTokens: 2, costUsd: 1.5 })).toBe('10 in · 2 out · $1.50');
    expect(formatUsage({ inputTokens: 10, outputTokens: 2, costUsd: null })).toBe('10 in · 2 out · cost not reported');
    expect(formatUsage(undefined)).toBe('—');
  });
});
