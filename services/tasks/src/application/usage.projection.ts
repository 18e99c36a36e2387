/*
 * What agent tasks used, summed per owner, UTC day and tool (the agents issue: "tokens per task …
 * and cost, summed per user and per day"). Pure: a terminal event whose result reports usage
 * (TaskSucceeded, TaskFailed — the tokens were spent either way) becomes one delta; the task_view
 * runner adds the deltas in the same transaction as the rows and its checkpoint, and only for an
 * event that changed its task's row, so a repeated event adds nothing and a rebuild starts both
 * from empty.
 */
import type { Envelope, TaskResult } from '@agentyard/contracts';
import type { TaskViewRow } from './task-view.projection';

export interface UsageDelta {
  ownerId: string;
  /** YYYY-MM-DD, UTC, of the event. */
  day: string;
  tool: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Dollars the tool reported (0 when it reported none). */
  costUsd: number;
  /** Tasks whose tool reported no cost: the day's cost is then a lower bound. */
  costUnknown: number;
  tasks: number;
}

/** The usage `event` adds, given the task's row after it; null when it adds none. */
export function usageDeltaOf(row: TaskViewRow, event: Envelope): UsageDelta | null {
  if (event.type !== 'TaskSucceeded' && event.type !== 'TaskFailed') return null;
  const usage = (event.data.result as TaskResult | null | undefined)?.usage;
  if (!usage) return null;
  return {
    ownerId: row.ownerId,
    day: new Date(event.occurredAt).toISOString().slice(0, 10),
    tool: row.tool,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cachedInputTokens ?? 0,
    costUsd: usage.costUsd ?? 0,
    costUnknown: usage.costUsd === null ? 1 : 0,
    tasks: 1,
  };
}

/** Deltas of one key added together (one upsert per owner, day and tool per batch). */
export function sumDeltas(deltas: readonly UsageDelta[]): UsageDelta[] {
  const byKey = new Map<string, UsageDelta>();
  for (const d of deltas) {
    const key = `${d.ownerId}\u0000${d.day}\u0000${d.tool}`;
    const sum = byKey.get(key);
    if (!sum) byKey.set(key, { ...d });
    else {
      sum.inputTokens += d.inputTokens;
      sum.outputTokens += d.outputTokens;
      sum.cachedInputTokens += d.cachedInputTokens;
      sum.costUsd += d.costUsd;
      sum.costUnknown += d.costUnknown;
      sum.tasks += d.tasks;
    }
  }
  return [...byKey.values()];
}
