/*
 * usage_daily: agent usage summed per owner, UTC day and tool. Written only by the task_view
 * runner (in its transaction), read by the usage query.
 */
import { sql, type Kysely } from 'kysely';
import type { UsageReport } from '@agentyard/contracts';
import type { UsageDelta } from '../application/usage.projection';
import type { TasksDatabase } from './tasks.database';

/** One day and tool of an owner's usage, as the API reports it. */
export type UsageDay = UsageReport['days'][number];

export class UsageRepository {
  constructor(private readonly db: Kysely<TasksDatabase>) {}

  /** Adds summed deltas (one per owner, day and tool). */
  async add(deltas: readonly UsageDelta[], executor: Kysely<TasksDatabase> = this.db): Promise<void> {
    if (deltas.length === 0) return;
    await executor
      .insertInto('usage_daily')
      .values(
        deltas.map((d) => ({
          owner_id: d.ownerId,
          day: d.day,
          tool: d.tool,
          tasks: d.tasks,
          input_tokens: d.inputTokens,
          output_tokens: d.outputTokens,
          cached_input_tokens: d.cachedInputTokens,
          cost_usd: d.costUsd,
          cost_unknown_tasks: d.costUnknown,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['owner_id', 'day', 'tool']).doUpdateSet({
          tasks: sql`usage_daily.tasks + excluded.tasks`,
          input_tokens: sql`usage_daily.input_tokens + excluded.input_tokens`,
          output_tokens: sql`usage_daily.output_tokens + excluded.output_tokens`,
          cached_input_tokens: sql`usage_daily.cached_input_tokens + excluded.cached_input_tokens`,
          cost_usd: sql`usage_daily.cost_usd + excluded.cost_usd`,
          cost_unknown_tasks: sql`usage_daily.cost_unknown_tasks + excluded.cost_unknown_tasks`,
        }),
      )
      .execute();
  }

  async truncate(executor: Kysely<TasksDatabase> = this.db): Promise<void> {
    await executor.deleteFrom('usage_daily').execute();
  }

  /** An owner's reported agent cost (USD) on one UTC day (YYYY-MM-DD), over every tool. */
  async costOn(ownerId: string, day: string): Promise<number> {
    const row = await this.db
      .selectFrom('usage_daily')
      .select(sql<string>`coalesce(sum(cost_usd), 0)`.as('cost'))
      .where('owner_id', '=', ownerId)
      .where('day', '=', day)
      .executeTakeFirstOrThrow();
    return Number(row.cost);
  }

  /** An owner's days from `from` to `to` (inclusive, YYYY-MM-DD), oldest first, per tool. */
  async days(ownerId: string, from: string, to: string): Promise<UsageDay[]> {
    const rows = await this.db
      .selectFrom('usage_daily')
      .select([
        sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'),
        'tool',
        'tasks',
        'input_tokens',
        'output_tokens',
        'cached_input_tokens',
        'cost_usd',
        'cost_unknown_tasks',
      ])
      .where('owner_id', '=', ownerId)
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('day')
      .orderBy('tool')
      .execute();
    return rows.map((r) => ({
      day: r.day,
      tool: r.tool,
      tasks: r.tasks,
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      cachedInputTokens: Number(r.cached_input_tokens),
      costUsd: Number(r.cost_usd),
      costUnknownTasks: r.cost_unknown_tasks,
    }));
  }
}
