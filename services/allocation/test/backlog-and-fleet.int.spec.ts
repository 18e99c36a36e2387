/*
 * Allocation independent of the backlog and of the fleet (issue #14): with 10,000 tasks queued
 * and 2,000 registered workers of which two are online, what a pass reads per page of the queue
 * and per picture of the workers touches the rows it answers about — a page of the queue, the
 * online workers — not the backlog or the offline fleet. On real Postgres (VACUUM ANALYZE, as
 * autovacuum would have), each SQL statement the repositories send is run again under EXPLAIN
 * ANALYZE and the rows its plan read are counted. The process-level measure (CPU per decided
 * task in the four settings) is bench/allocation/allocation-scale.bench.mjs.
 */
import { testDatabase } from '@agentyard/local-infra';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { Pool } from 'pg';
import { migrateAllocationDatabase, type AllocationDatabase } from '../src/infrastructure/allocation.database';
import { TaskRepository } from '../src/infrastructure/task.repository';
import { WorkerRepository } from '../src/infrastructure/worker.repository';

const QUEUED = 10_000;
const WORKERS = 2_000;
const NOW = new Date('2026-12-06T04:00:00.000Z');

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan read from `table` (returned or filtered away). */
function rowsRead(node: PlanNode, table: string): number {
  const own = node['Relation Name'] === table ? (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'] : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, table), 0);
}

describe('allocation with a long queue and a large, mostly offline fleet', () => {
  let pool: Pool;
  let db: Kysely<AllocationDatabase>;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    pool = new Pool({ connectionString: await testDatabase('allocation_scale'), max: 2 });
    db = new Kysely<AllocationDatabase>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') sent.push(event.query);
      },
    });
    await migrateAllocationDatabase(db);
    // ann's backlog, in turn order; one task waits for a backoff.
    await pool.query(
      `insert into tasks (task_id, version, owner_id, tool, priority, created_at, status, attempt, fair_turn, not_before)
       select 'q-' || lpad(n::text, 6, '0'), 2, 'ann', 'shell', 50, $2::timestamptz - make_interval(secs => $1::int - n), 'pending', 1, n,
              case when n = 5000 then $2::timestamptz + interval '30 seconds' end
       from generate_series(1, $1::int) n`,
      [QUEUED, NOW],
    );
    // ann's fleet: two online, the rest registered and offline (a few drained or revoked).
    await pool.query(
      `insert into workers (worker_id, version, registered, owner_id, name, roles, tools, labels, slots, resources, online, drained, revoked)
       select 'w-' || lpad(n::text, 5, '0'), 3, true, 'ann', 'w-' || n, '{"ann":"owner"}', '[{"name":"shell","version":"5.2"}]', '[]', 8, null,
              n <= 2, n % 500 = 0, n % 700 = 0
       from generate_series(1, $1::int) n`,
      [WORKERS],
    );
    await pool.query('vacuum analyze tasks');
    await pool.query('vacuum analyze workers');
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function explainOnly(ask: () => Promise<unknown>, table: string): Promise<number> {
    sent.length = 0;
    await ask();
    expect(sent).toHaveLength(1);
    const { rows } = await pool.query(`explain (analyze, format json) ${sent[0]!.sql}`, [...sent[0]!.parameters]);
    return rowsRead((rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]!.Plan, table);
  }

  it('reads a page of the queue and the next wake-up without reading the backlog behind them', async () => {
    const tasks = new TaskRepository(db);
    const page = await tasks.listPending(NOW, 64);
    expect(page.map((t) => t.taskId).slice(0, 2)).toEqual(['q-000001', 'q-000002']);
    expect(await explainOnly(() => tasks.listPending(NOW, 64), 'tasks')).toBeLessThanOrEqual(100);
    // The page after one deep in the queue: keyset, so as cheap as the first.
    const deep = (await tasks.listPending(NOW, 64, page.at(-1)!.cursor)).at(-1)!.cursor;
    expect(await explainOnly(() => tasks.listPending(NOW, 64, deep), 'tasks')).toBeLessThanOrEqual(100);
    expect(await tasks.nextNotBefore(NOW)).toEqual(new Date(NOW.getTime() + 30_000));
    expect(await explainOnly(() => tasks.nextNotBefore(NOW), 'tasks')).toBeLessThanOrEqual(10);
  });

  it('reads the online workers for the picture, and counts the others with one statement', async () => {
    const workers = new WorkerRepository(db);
    expect((await workers.listAvailable()).map((w) => w.workerId)).toEqual(['w-00001', 'w-00002']);
    expect(await explainOnly(() => workers.listAvailable(), 'workers')).toBeLessThanOrEqual(10);
    sent.length = 0;
    const counts = await workers.countUnavailable(['ann', 'bob']);
    expect(sent).toHaveLength(1);
    const total = (owner: string) => counts.get(owner)!.reduce((sum, c) => sum + c.count, 0);
    expect(total('ann')).toBe(WORKERS - 2);
    expect(counts.get('ann')).toContainEqual({ reasons: ['offline'], count: WORKERS - 2 - 4 - 2 });
    expect(counts.get('ann')).toContainEqual({ reasons: ['offline', 'drained'], count: 4 });
    expect(counts.get('ann')).toContainEqual({ reasons: ['offline', 'credential revoked'], count: 2 });
    // Another user's view of the same fleet: every worker one they cannot use.
    expect(counts.get('bob')!.every((c) => c.reasons.includes("not allowed for the task's owner"))).toBe(true);
    expect(total('bob')).toBe(WORKERS - 2);
  });
});
