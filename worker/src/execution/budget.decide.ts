/*
 * A task's usage caps (`input.budget`, contracts' budgetSchema), decided. Pure: the budget, the
 * run's usage so far and the worker's price table in; whether a cap is passed (with the message
 * the task's error starts with) out. The agent (worker-agent.ts) feeds it every running usage the
 * tool's stream gives and stops the tool at the first "exceeded". Tested in budget.decide.unit.spec.ts.
 *
 * - Tokens: input + output as the tool reports them; tokens read from the prompt cache (reported
 *   beside input, billed at a fraction) do not count.
 * - Cost: the tool's own figure when it gives one; otherwise tokens × the price table's entry for
 *   each model the usage names (a usage that names none is priced as the task's model). A model
 *   without a price makes the cost unknown, and an unknown cost never passes a cap — which is why
 *   `refusal` turns away, before the tool starts, a cost cap nobody could enforce.
 */
import type { Budget } from '@agentyard/contracts/agent';
import type { ModelTokens, RunningUsage } from '../tools/agent-stream';

/** US dollars per million tokens. `cachedInputPerMTok` defaults to `inputPerMTok`. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
}

/** Prices by model name, as the task's `model` and the tool's stream name it. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * Tools that enforce a cost cap themselves, from their own figure: claude-code is started with
 * `--max-budget-usd` and ends with `error_max_budget_usd`. Other tools report no cost, so their
 * cost cap rests on the price table.
 */
const enforcesOwnCost: ReadonlySet<string> = new Set(['claude-code']);

export type BudgetVerdict = { exceeded: false } | { exceeded: true; cap: 'tokens' | 'cost'; message: string };

/** Why a task's budget cannot be enforced on this worker (a cost cap without a price), or null when it can. */
export function refusal(budget: Budget | undefined, task: { tool: string; model?: string }, prices: PriceTable): string | null {
  if (budget?.maxCostUsd === undefined || enforcesOwnCost.has(task.tool)) return null;
  if (task.model !== undefined && prices[task.model]) return null;
  const which =
    task.model === undefined ? 'the task names no model (input.model)' : `this worker's price table (--prices) has no entry for model "${task.model}"`;
  return `budget.maxCostUsd cannot be enforced: ${task.tool} reports no cost of its own and ${which}; name a priced model, add its price to the worker's table, or cap budget.maxTokens instead`;
}

/** The run's cost so far: the tool's figure, else priced from the table; null when some tokens have no price. */
export function costOf(usage: RunningUsage, prices: PriceTable, taskModel?: string): number | null {
  if (usage.costUsd !== null) return usage.costUsd;
  const parts: Array<[string | undefined, ModelTokens]> =
    usage.models && Object.keys(usage.models).length > 0 ? Object.entries(usage.models) : [[taskModel, usage]];
  let total = 0;
  for (const [model, tokens] of parts) {
    // A model the stream names but the table lacks (an alias, a side call): priced as the task's model if that has one.
    const price = (model !== undefined ? prices[model] : undefined) ?? (taskModel !== undefined ? prices[taskModel] : undefined);
    if (!price) return null;
    total +=
      (tokens.inputTokens * price.inputPerMTok +
        tokens.outputTokens * price.outputPerMTok +
        tokens.cachedInputTokens * (price.cachedInputPerMTok ?? price.inputPerMTok)) /
      1_000_000;
  }
  return total;
}

/** Whether `usage` has passed a cap of `budget` (reaching it exactly is still within it). */
export function decideBudget(budget: Budget, usage: RunningUsage, prices: PriceTable, taskModel?: string): BudgetVerdict {
  const tokens = usage.inputTokens + usage.outputTokens;
  if (budget.maxTokens !== undefined && tokens > budget.maxTokens) {
    const estimate = usage.estimated ? ' (estimated from the text so far)' : '';
    return { exceeded: true, cap: 'tokens', message: `budget_exceeded: ${fmt(tokens)} tokens used${estimate}, cap ${fmt(budget.maxTokens)}` };
  }
  if (budget.maxCostUsd !== undefined) {
    const cost = costOf(usage, prices, taskModel);
    if (cost !== null && cost > budget.maxCostUsd) {
      const source = usage.costUsd !== null ? '' : " (priced from the worker's table)";
      return { exceeded: true, cap: 'cost', message: `budget_exceeded: $${usd(cost)} spent${source}, cap $${usd(budget.maxCostUsd)}` };
    }
  }
  return { exceeded: false };
}

const fmt = (n: number): string => n.toLocaleString('en-US');
/** Dollars with enough places to show a cent fraction (caps are often under a dollar). */
const usd = (n: number): string => (n >= 1 ? n.toFixed(2) : n.toPrecision(3));
