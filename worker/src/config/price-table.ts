/*
 * The worker's price table (`--prices <file>`, or `prices:` in agent.yaml): US dollars per
 * million tokens by model, for the cost caps of tools that report no cost of their own
 * (execution/budget.decide.ts). Empty by default — prices change, and a stale built-in figure
 * would enforce the wrong cap silently; a cost cap with no price is refused instead.
 *
 *   gpt-5-codex: { inputPerMTok: 1.25, outputPerMTok: 10, cachedInputPerMTok: 0.125 }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { PriceTable } from '../execution/budget.decide';
import { OptionsError } from './worker-options';

const dollars = (what: string) =>
  z
    .number({ error: `${what} must be a number of US dollars per million tokens` })
    .min(0, `${what} must be 0 or more`)
    .max(10_000, `${what} is at most 10000`);

export const priceTableSchema = z
  .record(
    z.string().min(1).max(200),
    z
      .object({
        inputPerMTok: dollars('inputPerMTok'),
        outputPerMTok: dollars('outputPerMTok'),
        cachedInputPerMTok: dollars('cachedInputPerMTok').optional(),
      })
      .strict(),
    { error: 'must map model names to {inputPerMTok, outputPerMTok, cachedInputPerMTok?}' },
  )
  .refine((t) => Object.keys(t).length <= 500, 'at most 500 models');

/** The price table in `value`: a mapping (agent.yaml inline), or the path of a JSON/YAML file holding one. */
export function resolvePriceTable(value: unknown): PriceTable {
  if (value === undefined || value === null) return {};
  let table = value;
  if (typeof value === 'string') {
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw new OptionsError(`--prices: cannot read ${value}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      // YAML is a superset of JSON: one parser takes both. Loaded only when a table is configured.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy
      const { parse } = require('yaml') as typeof import('yaml');
      table = parse(text) ?? {};
    } catch (error) {
      throw new OptionsError(`--prices: ${value} is not valid JSON or YAML: ${(error as Error).message}`);
    }
  }
  const parsed = priceTableSchema.safeParse(table);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
    throw new OptionsError(`--prices${where}: ${issue.message}`);
  }
  return parsed.data;
}
