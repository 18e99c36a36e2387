import { Injectable } from '@nestjs/common';
import { DomainError, type UsageQuery, type UsageReport } from '@agentyard/contracts';
import type { Actor } from '../domain/task.decide';
import { UsageRepository } from '../infrastructure/usage.repository';

const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The range a usage query covers: `to` defaults to today (UTC), `from` to 29 days before `to`. */
export function usageRange(query: UsageQuery, now: Date): { from: string; to: string } {
  const to = query.to ?? isoDay(now.getTime());
  const from = query.from ?? isoDay(Date.parse(to) - 29 * DAY_MS);
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (days < 0) throw new DomainError('VALIDATION_FAILED', `from (${from}) is after to (${to})`, [{ field: 'from', message: 'from is after to' }]);
  if (days > 365) throw new DomainError('VALIDATION_FAILED', 'at most 366 days at once', [{ field: 'from', message: 'at most 366 days before to' }]);
  return { from, to };
}

/** The caller's agent usage per UTC day and tool, with the range's total. Only their own. */
@Injectable()
export class UsageQueryHandler {
  constructor(private readonly usage: UsageRepository) {}

  async execute(actor: Actor, query: UsageQuery, now = new Date()): Promise<UsageReport> {
    const { from, to } = usageRange(query, now);
    const days = await this.usage.days(actor.userId, from, to);
    const total = { tasks: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, costUnknownTasks: 0 };
    for (const d of days) {
      total.tasks += d.tasks;
      total.inputTokens += d.inputTokens;
      total.outputTokens += d.outputTokens;
      total.cachedInputTokens += d.cachedInputTokens;
      total.costUsd += d.costUsd;
      total.costUnknownTasks += d.costUnknownTasks;
    }
    total.costUsd = Math.round(total.costUsd * 1e6) / 1e6;
    return { from, to, days, total };
  }
}
