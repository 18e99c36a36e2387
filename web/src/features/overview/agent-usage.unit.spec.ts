import { describe, expect, it } from 'vitest';
import type { UsageReport } from '@/api/client';
import { task } from '@/test/fake-server';
import { costShare, tasksWithUsage, usagePerDay } from './agent-usage';

const day = (d: string, tool: string, tasks: number, costUsd: number, costUnknownTasks = 0) => ({
  day: d,
  tool,
  tasks,
  inputTokens: tasks * 1000,
  outputTokens: tasks * 100,
  cachedInputTokens: 0,
  costUsd,
  costUnknownTasks,
});
const report = (days: UsageReport['days']): UsageReport => ({
  from: '2026-10-03',
  to: '2026-11-01',
  days,
  total: { tasks: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, costUnknownTasks: 0 },
});

describe('agent usage per day', () => {
  it('sums each day over its tools and lists the days newest first, a day without agent tasks as zeros', () => {
    const rows = usagePerDay(
      report([day('2026-11-01', 'claude-code', 2, 0.5), day('2026-11-01', 'ollama', 1, 0, 1), day('2026-10-30', 'codex', 1, 0.25)]),
      '2026-11-01',
      3,
    );
    expect(rows).toEqual([
      { day: '2026-11-01', tasks: 3, inputTokens: 3000, outputTokens: 300, cachedInputTokens: 0, costUsd: 0.5, costUnknownTasks: 1 },
      { day: '2026-10-31', tasks: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, costUnknownTasks: 0 },
      { day: '2026-10-30', tasks: 1, inputTokens: 1000, outputTokens: 100, cachedInputTokens: 0, costUsd: 0.25, costUnknownTasks: 0 },
    ]);
  });

  it('crosses a month end and gives zeros before the report arrives', () => {
    expect(usagePerDay(null, '2026-12-01', 2).map((r) => [r.day, r.tasks])).toEqual([
      ['2026-12-01', 0],
      ['2026-11-30', 0],
    ]);
  });

  it('sizes a day’s cost bar against the costliest day, and draws none when nothing cost anything', () => {
    const rows = usagePerDay(report([day('2026-11-01', 'codex', 1, 1), day('2026-10-31', 'codex', 1, 0.25)]), '2026-11-01', 2);
    expect(rows.map((r) => costShare(r, rows))).toEqual([1, 0.25]);
    const idle = usagePerDay(null, '2026-11-01', 2);
    expect(costShare(idle[0]!, idle)).toBe(0);
  });
});

describe('agent usage per task', () => {
  const usage = { inputTokens: 10, outputTokens: 2, costUsd: 0.01 };
  const result = (u?: typeof usage) => ({ exitCode: 0, outputTail: '', durationMs: 1, ...(u ? { usage: u } : {}) });

  it('keeps the tasks whose tool reported usage, the latest finished first, at most n', () => {
    const tasks = [
      task({ id: 'shell', status: 'succeeded', result: result(), finishedAt: '2026-11-01T10:05:00Z' }),
      task({ id: 'old', tool: 'codex', status: 'succeeded', result: result(usage), finishedAt: '2026-11-01T09:00:00Z' }),
      task({ id: 'new', tool: 'claude-code', status: 'budget_exceeded', result: result(usage), finishedAt: '2026-11-01T10:00:00Z' }),
      task({ id: 'mid', tool: 'claude-api', status: 'failed', result: result(usage), finishedAt: '2026-11-01T09:30:00Z' }),
    ];
    expect(tasksWithUsage(tasks, 2).map((t) => t.id)).toEqual(['new', 'mid']);
    expect(tasksWithUsage(tasks, 10).map((t) => t.id)).toEqual(['new', 'mid', 'old']);
  });
});
