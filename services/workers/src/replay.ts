/*
 * `node services/workers/dist/replay.js` — empties worker_view and worker_roles and rebuilds them
 * from the workers event store (brief §5, `agentyard replay`). Safe while the service runs: the
 * projection only sets fields and upserts roles, so an event applied by both the live runner and
 * the replay leaves the same row. Liveness (last heartbeat) lives in its own table and is kept.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { PostgresEventStore } from '@agentyard/event-store';
import { databaseUrlSchema, loadConfig, runMain } from '@agentyard/service-kit';
import { createWorkerViewProjection } from './application/worker-view.projection';
import { WorkerViewRepository } from './infrastructure/worker-view.repository';
import { migrateWorkersDatabase, openWorkersDatabase } from './infrastructure/workers.database';

/** Rebuilds worker_view in the database at `databaseUrl` from its event store. */
export async function replayWorkerView(databaseUrl: string): Promise<{ rows: number; ms: number }> {
  const started = Date.now();
  const db = openWorkersDatabase(databaseUrl);
  const store = await PostgresEventStore.connect({ connectionString: databaseUrl, poolSize: 2 });
  try {
    await store.migrate();
    await migrateWorkersDatabase(db);
    const runner = createWorkerViewProjection({ store, db, views: new WorkerViewRepository(db) });
    await runner.rebuild();
    await runner.stop();
    const { rows } = await sql<{ n: string }>`select count(*) as n from worker_view`.execute(db);
    return { rows: Number(rows[0]?.n ?? 0), ms: Date.now() - started };
  } finally {
    await store.close();
    await db.destroy();
  }
}

if (require.main === module) {
  runMain('workers replay', async () => {
    const { DATABASE_URL } = loadConfig(z.object({ DATABASE_URL: databaseUrlSchema }));
    const { rows, ms } = await replayWorkerView(DATABASE_URL);
    process.stdout.write(`worker_view rebuilt from the event store: ${rows} row(s) in ${ms} ms\n`);
  });
}
