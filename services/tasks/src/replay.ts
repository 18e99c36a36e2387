/*
 * `node services/tasks/dist/replay.js` — drops task_view and rebuilds it from the tasks event
 * store (brief §5, `agentyard replay`). Safe while the service runs: the projection skips
 * events a row has already seen, so the live runner and the replay cannot apply one twice; list
 * queries may miss tasks until the replay is through. test/tasks.int.spec.ts checks that the
 * rebuilt model equals the live one.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { databaseUrlSchema, loadConfig, runMain } from '@agentyard/service-kit';
import { migrateTasksDatabase, openTasksDatabase } from './infrastructure/tasks.database';
import { TaskViewRunner } from './infrastructure/task-view.runner';

/** Rebuilds task_view in the database at `databaseUrl` from its event store. */
export async function replayTaskView(databaseUrl: string): Promise<{ rows: number; ms: number }> {
  const started = Date.now();
  const db = openTasksDatabase(databaseUrl, 2);
  const store = await PostgresEventStore.connect({ connectionString: databaseUrl, poolSize: 2 });
  try {
    await store.migrate();
    await migrateTasksDatabase(db);
    const runner = new TaskViewRunner({ store, db, checkpoints: PostgresCheckpointStore.fromKysely(db) });
    await runner.rebuild();
    await runner.stop();
    const { rows } = await sql<{ n: string }>`select count(*) as n from task_view`.execute(db);
    return { rows: Number(rows[0]?.n ?? 0), ms: Date.now() - started };
  } finally {
    await store.close();
    await db.destroy();
  }
}

if (require.main === module) {
  runMain('tasks replay', async () => {
    const { DATABASE_URL } = loadConfig(z.object({ DATABASE_URL: databaseUrlSchema }));
    const { rows, ms } = await replayTaskView(DATABASE_URL);
    process.stdout.write(`task_view rebuilt from the event store: ${rows} row(s) in ${ms} ms\n`);
  });
}
