/*
 * The overview's agent usage as rows: per UTC day (the usage report has one row per day and
 * tool; a day without agent tasks is a row of zeros, so the days read as a calendar) and per
 * task (the latest finished tasks whose tool reported usage). Pure; tested in agent-usage.unit.spec.ts.
 */
import type { Task, UsageReport } from '@/api/client';

export interface DayUsage {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  tasks: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: number;
  /** Tasks whose tool reported no cost (counted in tokens only). */
  costUnknownTasks: number;
}

const dayMs = 86_400_000;

/** The `days` UTC days up to and including `today` (`YYYY-MM-DD`), newest first, each summed over its tools. */
export function usagePerDay(report: UsageReport | null, today: string, days: number): DayUsage[] {
  const byDay = new Map<string, DayUsage>();
  for (const d of report?.days ?? []) {
    const row = byDay.get(d.day) ?? emptyDay(d.day);
    row.tasks += d.tasks;
    row.inputTokens += d.inputTokens;
    row.outputTokens += d.outputTokens;
    row.cachedInputTokens += d.cachedInputTokens;
    row.costUsd += d.costUsd;
    row.costUnknownTasks += d.costUnknownTasks;
    byDay.set(d.day, row);
  }
  const end = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(end - i * dayMs).toISOString().slice(0, 10);
    return byDay.get(day) ?? emptyDay(day);
  });
}

function emptyDay(day: string): DayUsage {
  return { day, tasks: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, costUnknownTasks: 0 };
}

export type TaskWithUsage = Task & { result: NonNullable<Task['result']> & { usage: NonNullable<NonNullable<Task['result']>['usage']> } };

/** The newest `n` of `tasks` whose tool reported usage, by when they finished. */
export function tasksWithUsage(tasks: readonly Task[], n: number): TaskWithUsage[] {
  return tasks
    .filter((t): t is TaskWithUsage => !!t.result?.usage)
    .sort((a, b) => (b.finishedAt ?? b.updatedAt).localeCompare(a.finishedAt ?? a.updatedAt))
    .slice(0, n);
}

/** Share of the largest day's cost, for a bar (0 when nothing cost anything). */
export function costShare(day: DayUsage, rows: readonly DayUsage[]): number {
  const max = Math.max(0, ...rows.map((r) => r.costUsd));
  return max > 0 ? day.costUsd / max : 0;
}
