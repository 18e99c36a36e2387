/*
 * `node services/workflows/dist/replay.js` — drops the workflows read models (workflow_view,
 * schedule_view, run_view) and rebuilds them from the workflows event store (brief §5). Safe
 * while the service runs: a row skips events it has already seen. The gateway's
 * test/workflows.e2e.spec.ts ("Read models") checks that the rebuilt models equal the live ones.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { PostgresCheckpointStore, PostgresEventStore } from '@agentyard/event-store';
import { databaseUrlSchema, loadConfig, runMain } from '@agentyard/service-kit';
import { ReadModelRunner } from './infrastructure/read-model.runner';
import { migrateWorkflowsDatabase, openWorkflowsDatabase } from './infrastructure/workflows.database';

/** Rebuilds the read models in the database at `databaseUrl` from its event store. */
export async function replayWorkflowViews(databaseUrl: string): Promise<{ workflows: number; runs: number; ms: number }> {
  const started = Date.now();
  const db = openWorkflowsDatabase(databaseUrl, 2);
  const store = await PostgresEventStore.connect({ connectionString: databaseUrl, poolSize: 2 });
  try {
    await store.migrate();
    await migrateWorkflowsDatabase(db);
    const runner = new ReadModelRunner({ store, db, checkpoints: PostgresCheckpointStore.fromKysely(db) });
    await runner.rebuild();
    await runner.stop();
    const { rows } = await sql<{ w: string; r: string }>`select (select count(*) from workflow_view) as w, (select count(*) from run_view) as r`.execute(db);
    return { workflows: Number(rows[0]?.w ?? 0), runs: Number(rows[0]?.r ?? 0), ms: Date.now() - started };
  } finally {
    await store.close();
    await db.destroy();
  }
}

if (require.main === module) {
  runMain('workflows replay', async () => {
    const { DATABASE_URL } = loadConfig(z.object({ DATABASE_URL: databaseUrlSchema }));
    const { workflows, runs, ms } = await replayWorkflowViews(DATABASE_URL);
    process.stdout.write(`workflows read models rebuilt from the event store: ${workflows} workflow(s), ${runs} run(s) in ${ms} ms\n`);
  });
}
