/*
 * One attempt's budget, watched: every running usage (and the final one) the tool's stream gives
 * goes through budget.decide.ts; the first verdict "exceeded" is kept, and the agent stops the
 * tool's process tree on it (worker-agent.ts). Once exceeded it stays so: the attempt ends
 * `budget_exceeded` even if the tool finished before the stop reached it.
 */
import type { AgentUsage, Budget } from '@agentyard/contracts/agent';
import type { AgentEvent, RunningUsage } from '../tools/agent-stream';
import { decideBudget, type PriceTable } from './budget.decide';

export class BudgetWatch {
  private exceededWith: string | undefined;

  constructor(
    private readonly budget: Budget,
    private readonly prices: PriceTable,
    private readonly taskModel: string | undefined,
  ) {}

  /** The cap's message, once a usage passed it. */
  get exceeded(): string | undefined {
    return this.exceededWith;
  }

  /** Checks the usage among `events`; returns the message the first time a cap is passed. */
  observe(events: readonly AgentEvent[]): string | undefined {
    if (this.exceededWith) return undefined;
    for (const e of events) {
      const usage = e.kind === 'usage' ? e.usage : e.kind === 'result' ? runningOf(e.usage) : undefined;
      if (!usage) continue;
      const verdict = decideBudget(this.budget, usage, this.prices, this.taskModel);
      if (verdict.exceeded) {
        this.exceededWith = verdict.message;
        return verdict.message;
      }
    }
    return undefined;
  }
}

/** A final usage as the decider takes it. */
export function runningOf(usage: AgentUsage): RunningUsage {
  const models = usage.models
    ? Object.fromEntries(
        Object.entries(usage.models).map(([name, m]) => [name, { inputTokens: m.inputTokens, outputTokens: m.outputTokens, cachedInputTokens: 0 }]),
      )
    : undefined;
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    // Per model the result has no cache split; with models named, cached tokens are priced as input there.
    cachedInputTokens: models ? 0 : (usage.cachedInputTokens ?? 0),
    costUsd: usage.costUsd,
    ...(models ? { models } : {}),
  };
}
