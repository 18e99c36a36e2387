import { costOf, decideBudget, refusal } from './budget.decide';

const usage = (inputTokens: number, outputTokens: number, extra: object = {}) => ({ inputTokens, outputTokens, cachedInputTokens: 0, costUsd: null, ...extra });
const prices = { 'gpt-x': { inputPerMTok: 1, outputPerMTok: 10, cachedInputPerMTok: 0.1 } };

describe('decideBudget', () => {
  it('passes the token cap only above it, and says by how much', () => {
    expect(decideBudget({ maxTokens: 1000 }, usage(900, 100), {})).toEqual({ exceeded: false });
    expect(decideBudget({ maxTokens: 1000 }, usage(1200, 34), {})).toEqual({
      exceeded: true,
      cap: 'tokens',
      message: 'budget_exceeded: 1,234 tokens used, cap 1,000',
    });
  });

  it('does not count tokens read from the cache', () => {
    expect(decideBudget({ maxTokens: 100 }, { ...usage(50, 50), cachedInputTokens: 10_000 }, {}).exceeded).toBe(false);
  });

  it('says when the tokens are an estimate', () => {
    const verdict = decideBudget({ maxTokens: 10 }, usage(0, 11, { estimated: true }), {});
    expect(verdict).toMatchObject({ exceeded: true, message: 'budget_exceeded: 11 tokens used (estimated from the text so far), cap 10' });
  });

  it('uses the tool’s own cost when it gives one, else prices the tokens', () => {
    expect(decideBudget({ maxCostUsd: 0.5 }, usage(1, 1, { costUsd: 0.75 }), {})).toMatchObject({
      exceeded: true,
      cap: 'cost',
      message: 'budget_exceeded: $0.750 spent, cap $0.500',
    });
    // 100k in × $1/M + 50k out × $10/M = $0.60
    expect(costOf(usage(100_000, 50_000), prices, 'gpt-x')).toBeCloseTo(0.6);
    expect(decideBudget({ maxCostUsd: 0.5 }, usage(100_000, 50_000), prices, 'gpt-x')).toMatchObject({
      exceeded: true,
      message: "budget_exceeded: $0.600 spent (priced from the worker's table), cap $0.500",
    });
    expect(decideBudget({ maxCostUsd: 1 }, usage(100_000, 50_000), prices, 'gpt-x').exceeded).toBe(false);
  });

  it('prices each model the usage names, an unpriced one as the task’s model, and knows no cost without a price', () => {
    const perModel = usage(2_000_000, 0, {
      models: {
        'gpt-x': { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 1_000_000 },
        alias: { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 0 },
      },
    });
    expect(costOf(perModel, prices, 'gpt-x')).toBeCloseTo(1 + 0.1 + 1);
    expect(costOf(usage(10, 10), prices, 'other')).toBeNull();
    expect(decideBudget({ maxCostUsd: 0.0001 }, usage(1e9, 1e9), {}, 'other').exceeded).toBe(false);
  });
});

describe('refusal', () => {
  it('refuses a cost cap on a tool without its own cost figure when the model has no price', () => {
    expect(refusal({ maxCostUsd: 1 }, { tool: 'codex', model: 'gpt-y' }, prices)).toMatch(/no entry for model "gpt-y"/);
    expect(refusal({ maxCostUsd: 1 }, { tool: 'codex' }, prices)).toMatch(/names no model/);
    expect(refusal({ maxCostUsd: 1 }, { tool: 'codex', model: 'gpt-x' }, prices)).toBeNull();
    // claude-code enforces it itself (--max-budget-usd); a token cap needs no price.
    expect(refusal({ maxCostUsd: 1 }, { tool: 'claude-code' }, {})).toBeNull();
    expect(refusal({ maxTokens: 10 }, { tool: 'codex' }, {})).toBeNull();
    expect(refusal(undefined, { tool: 'codex' }, {})).toBeNull();
  });
});
