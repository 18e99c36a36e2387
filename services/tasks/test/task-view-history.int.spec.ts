/*
 * Flat with history (issue #14): the questions the create → dispatch → finish path and the
 * dashboard ask `task_view` read only the rows they answer about, not an owner's finished tasks.
 * On real Postgres with 20,000 finished tasks of one owner (VACUUM ANALYZE, as autovacuum would
 * have), every SQL statement TaskViewRepository sends is run again under EXPLAIN ANALYZE and the
 * rows its plan touched on task_view are counted. The full-size check (a million tasks, the whole
 * platform) is bench/tasks/history.bench.mjs.
 */
import { testDatabase } from '@agentyard/local-infra';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { Pool } from 'pg';
import { fillOwnerActive, migrateTasksDatabase, type TasksDatabase } from '../src/infrastructure/tasks.database';
import { TaskViewRepository } from '../src/infrastructure/task-view.repository';

const FINISHED = 20_000;
const NOW = new Date('2026-12-06T04:00:00.000Z');

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan read from task_view (returned or filtered away), and whether it scanned it whole. */
function touched(node: PlanNode): { rows: number; seqScan: boolean } {
  let rows = 0;
  let seqScan = false;
  if (node['Relation Name'] === 'task_view') {
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

describe('task_view with a long history', () => {
  let pool: Pool;
  let db: Kysely<TasksDatabase>;
  let repo: TaskViewRepository;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    pool = new Pool({ connectionString: await testDatabase('tasks_history'), max: 2 });
    db = new Kysely<TasksDatabase>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') sent.push(event.query);
      },
    });
    await migrateTasksDatabase(db);
    // ann's finished history on worker w1, then a handful of live tasks of hers.
    await pool.query(
      `insert into task_view (id, owner_id, description, tool, input, priority, status, attempt, max_attempts, timeout_seconds, queue_timeout_seconds,
         heartbeat_timeout_seconds, requirements, worker_id, progress, result, created_at, updated_at, started_at, finished_at, version, queued_at)
       select 'old-' || lpad(n::text, 6, '0'), 'ann', 'noop', 'noop', '{}', 50, case when n % 10 = 0 then 'failed' else 'succeeded' end, 1, 3, 3600, 86400,
         30, '{}', 'w1', 100, '{"exitCode":0,"outputTail":"","durationMs":0}', t, t, t, t, 5, t
       from generate_series(1, $1::int) n, lateral (select $2::timestamptz - make_interval(secs => ($1::int - n) * 60) as t) x`,
      [FINISHED, new Date(NOW.getTime() - 3_600_000)],
    );
    const live: Array<[string, string, string | null, string]> = [
      ['q1', 'queued', null, '2026-12-06T03:59:00Z'],
      ['q2', 'queued', null, '2026-12-06T03:59:10Z'],
      ['a1', 'assigned', 'w1', '2026-12-06T03:59:20Z'],
      ['r1', 'running', 'w1', '2026-12-06T03:59:30Z'],
    ];
    for (const [id, status, worker, at] of live) {
      await pool.query(
        `insert into task_view (id, owner_id, description, tool, input, priority, status, attempt, max_attempts, timeout_seconds, queue_timeout_seconds,
           heartbeat_timeout_seconds, requirements, worker_id, created_at, updated_at, started_at, version, queued_at, lease_expires_at)
         values ($1, 'ann', 'live', 'noop', '{}', 50, $2, 1, 3, 3600, 86400, 30, '{}', $3, $4, $4, case when $2 = 'running' then $4::timestamptz end, 2,
           case when $2 = 'queued' then $4::timestamptz end, case when $2 = 'assigned' then $4::timestamptz + interval '1 hour' end)`,
        [id, status, worker, at],
      );
    }
    // The per-owner counts, as the migration fills them from a task_view it finds (the runner keeps them after).
    await fillOwnerActive(db);
    // What autovacuum would have done long before: statistics and the visibility map.
    await pool.query('vacuum analyze task_view');
    repo = new TaskViewRepository(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('answers every hot-path and dashboard question without reading the owner’s finished tasks', async () => {
    const asked: Array<[string, () => Promise<unknown>, unknown]> = [
      ['the per-user limit’s count', () => repo.countActive('ann'), 4],
      ['the platform queue count', () => repo.countQueued(), 2],
      ['the projection’s read of a batch', async () => (await repo.findMany(['q1', 'r1'])).size, 2],
      ['a worker’s live tasks', async () => (await repo.heldBy('w1')).map((t) => t.id), ['a1', 'r1']],
      ['pull mode’s oldest assignment', async () => (await repo.oldestAssignedTo('w1'))?.id, 'a1'],
      ['the queue-timeout scan', async () => (await repo.queuedTooLong(NOW, 100)).length, 0],
      ['the lease-expiry scan', async () => (await repo.leaseExpired(NOW, 100)).length, 0],
      ['the run-timeout scan', async () => (await repo.runningTooLong(NOW, 10, 100)).length, 0],
      [
        'the dashboard’s unfinished tasks, newest first',
        async () =>
          (await repo.list({ ownerId: 'ann', statuses: ['queued', 'assigned', 'running'] }, { sortBy: 'created', direction: 'desc', limit: 50 })).map(
            (t) => t.id,
          ),
        ['r1', 'a1', 'q2', 'q1'],
      ],
      [
        'the dashboard’s queued count, oldest first',
        async () => (await repo.list({ ownerId: 'ann', statuses: ['queued'] }, { sortBy: 'created', direction: 'asc', limit: 200 })).length,
        2,
      ],
      ['the newest page of all tasks', async () => (await repo.list({ ownerId: 'ann' }, { sortBy: 'created', direction: 'desc', limit: 50 })).length, 50],
    ];
    const report: string[] = [];
    for (const [what, ask, expected] of asked) {
      sent.length = 0;
      expect(await ask()).toEqual(expected);
      expect(sent).toHaveLength(1);
      const { rows } = await pool.query(`explain (analyze, format json) ${sent[0]!.sql}`, [...sent[0]!.parameters]);
      const plan = (rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]!.Plan;
      const t = touched(plan);
      if (t.seqScan || t.rows > 100) report.push(`${what}: ${t.rows} rows of task_view read${t.seqScan ? ' by a sequential scan' : ''}\n${sent[0]!.sql}`);
    }
    // Each question reads its answer's rows (at most 50 here), not the 20,000 finished ones.
    expect(report).toEqual([]);
  });
});
