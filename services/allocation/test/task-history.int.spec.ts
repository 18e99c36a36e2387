/*
 * Flat with history (issue #14): what an allocation pass reads from its `tasks` read model — the
 * queue, the placed tasks, the owner's recent placements (affinity), finished attempts, anti-
 * affinity groups, follow-ups' attempts — costs the same after 20,000 finished tasks as on an empty
 * table. On real Postgres (VACUUM ANALYZE, as autovacuum would have), every SQL statement
 * TaskRepository sends is run again under EXPLAIN ANALYZE and the rows its plan touched on `tasks`
 * are counted. The full-size check (a million tasks, the whole platform) is
 * bench/tasks/history.bench.mjs.
 */
import { testDatabase } from '@agentyard/local-infra';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { Pool } from 'pg';
import { migrateAllocationDatabase, type AllocationDatabase } from '../src/infrastructure/allocation.database';
import { TaskRepository } from '../src/infrastructure/task.repository';

const FINISHED = 20_000;
const NOW = new Date('2026-12-06T04:00:00.000Z');

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan read from `tasks` (returned or filtered away), and whether it scanned it whole. */
function touched(node: PlanNode): { rows: number; seqScan: boolean } {
  let rows = 0;
  let seqScan = false;
  if (node['Relation Name'] === 'tasks') {
    rows += (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * node['Actual Loops'];
    seqScan = node['Node Type'] === 'Seq Scan';
  }
  for (const child of node.Plans ?? []) {
    const c = touched(child);
    rows += c.rows;
    seqScan ||= c.seqScan;
  }
  return { rows, seqScan };
}

describe('allocation’s tasks table with a long history', () => {
  let pool: Pool;
  let db: Kysely<AllocationDatabase>;
  let repo: TaskRepository;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    pool = new Pool({ connectionString: await testDatabase('allocation_history'), max: 2 });
    db = new Kysely<AllocationDatabase>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') sent.push(event.query);
      },
    });
    await migrateAllocationDatabase(db);
    // ann's finished history, placed on w1 and w2 until an hour ago; one group task among them.
    await pool.query(
      `insert into tasks (task_id, version, owner_id, tool, requirements, priority, created_at, status, attempt, queued_event_id, correlation_id,
         last_worker_id, last_bound_at, attempts, anti_affinity)
       select 'old-' || lpad(n::text, 6, '0'), 5, 'ann', 'noop', '{}', 50, t, 'finished', 1, 'q-' || n, 'c-' || n,
         'w' || (1 + n % 2), t, jsonb_build_object('1', jsonb_build_object('workerId', 'w' || (1 + n % 2), 'pushed', false)),
         case when n = 1 then 'g' end
       from generate_series(1, $1::int) n, lateral (select $2::timestamptz - make_interval(secs => ($1::int - n) * 60) as t) x`,
      [FINISHED, new Date(NOW.getTime() - 3_600_000)],
    );
    await pool.query(
      `insert into tasks (task_id, version, owner_id, tool, priority, created_at, status, attempt, fair_turn, worker_id, bound_at, last_worker_id, last_bound_at)
       values ('p1', 2, 'ann', 'noop', 50, $1::timestamptz - interval '20 seconds', 'pending', 1, 1, null, null, null, null),
              ('p2', 2, 'bob', 'noop', 50, $1::timestamptz - interval '10 seconds', 'pending', 1, 1, null, null, null, null),
              ('d1', 3, 'ann', 'noop', 50, $1::timestamptz - interval '9 seconds', 'decided', 1, null, 'w1', $1::timestamptz - interval '5 seconds', 'w1', $1::timestamptz - interval '5 seconds'),
              ('r1', 4, 'ann', 'noop', 50, $1::timestamptz - interval '8 seconds', 'running', 1, null, 'w2', $1::timestamptz - interval '4 seconds', 'w2', $1::timestamptz - interval '4 seconds')`,
      [NOW],
    );
    // What autovacuum would have done long before: statistics and the visibility map.
    await pool.query('vacuum analyze tasks');
    repo = new TaskRepository(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('reads the queue, placements, affinity and attempts without reading the finished tasks', async () => {
    const since = new Date(NOW.getTime() - 15 * 60_000);
    const asked: Array<[string, () => Promise<unknown>, unknown]> = [
      ['the queue’s first page', async () => (await repo.listPending(NOW, 64)).map((t) => t.taskId), ['p1', 'p2']],
      ['the next not-before', () => repo.nextNotBefore(NOW), null],
      ['the placed tasks', async () => [...(await repo.listPlaced()).keys()].sort(), ['w1', 'w2']],
      ['the owners’ recent placements (affinity)', async () => Object.fromEntries((await repo.recentPlacements(since)).get('ann') ?? []), { w1: 1, w2: 1 }],
      [
        'heartbeats’ finished attempts',
        async () => [
          ...(await repo.finishedAmong([
            { taskId: 'old-000007', attempt: 1 },
            { taskId: 'r1', attempt: 1 },
          ])),
        ],
        ['old-000007#1'],
      ],
      ['an anti-affinity group’s placements', async () => (await repo.groupPlacements(['g'])).get('g')?.length, 1],
      ['a follow-up’s attempts', async () => (await repo.attemptsOf(['old-000002'])).get('old-000002')?.ownerId, 'ann'],
      ['a task’s owner', () => repo.ownerOf('p1'), 'ann'],
    ];
    const report: string[] = [];
    for (const [what, ask, expected] of asked) {
      sent.length = 0;
      expect(await ask()).toEqual(expected);
      expect(sent).toHaveLength(1);
      const { rows } = await pool.query(`explain (analyze, format json) ${sent[0]!.sql}`, [...sent[0]!.parameters]);
      const plan = (rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]!.Plan;
      const t = touched(plan);
      if (t.seqScan || t.rows > 100) report.push(`${what}: ${t.rows} rows of tasks read${t.seqScan ? ' by a sequential scan' : ''}\n${sent[0]!.sql}`);
    }
    // Each question reads the rows it answers about (a handful here), not the 20,000 finished ones.
    expect(report).toEqual([]);
  });
});
