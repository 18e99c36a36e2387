/*
 * Row counts of every table of every service database (event stores included), to show that a
 * refused request wrote nothing. Tables found at run time, so a new table is counted too. Left
 * out: what a refused request is meant to write or what moves on its own — the login rate-limit
 * counters (a refused login must count), projection checkpoints and the migration bookkeeping.
 */
import { Client } from 'pg';

const notData = new Set(['login_rate_limits', 'checkpoints', 'kysely_migration', 'kysely_migration_lock']);

export interface StoreCounter {
  /** `db.schema.table` → rows. */
  snapshot(): Promise<Record<string, number>>;
  /** Waits until nothing changed for `quietMs` (what an accepted request set off has landed). */
  settled(quietMs?: number, timeoutMs?: number): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Connects to each database (name → connection string). */
export async function openStoreCounter(databases: Record<string, string>): Promise<StoreCounter> {
  const clients = await Promise.all(
    Object.entries(databases).map(async ([name, url]) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      return { name, client };
    }),
  );
  // The services migrated before the suite started, so each database's tables are listed once.
  const queries = new Map<Client, { sql: string; tables: string[] } | null>();
  const queryFor = async (client: Client) => {
    if (!queries.has(client)) {
      const rows = (
        await client.query<{ s: string; t: string }>(
          `select table_schema as s, table_name as t from information_schema.tables
            where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
        )
      ).rows.filter((r) => !notData.has(r.t));
      queries.set(
        client,
        rows.length === 0
          ? null
          : { sql: `select ${rows.map((r, i) => `(select count(*) from "${r.s}"."${r.t}") as c${i}`).join(', ')}`, tables: rows.map((r) => `${r.s}.${r.t}`) },
      );
    }
    return queries.get(client)!;
  };
  const snapshot = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    await Promise.all(
      clients.map(async ({ name, client }) => {
        const query = await queryFor(client);
        if (!query) return;
        const row = (await client.query<Record<string, string>>(query.sql)).rows[0]!;
        query.tables.forEach((table, i) => (out[`${name}.${table}`] = Number(row[`c${i}`])));
      }),
    );
    return out;
  };
  return {
    snapshot,
    async settled(quietMs = 100, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last = await snapshot();
      for (;;) {
        await new Promise((r) => setTimeout(r, quietMs));
        const next = await snapshot();
        // Compared table by table: the databases answer in any order, so key order varies.
        if (changedTables(last, next).length === 0 || Date.now() > deadline) return next;
        last = next;
      }
    },
    async close() {
      await Promise.all(clients.map(({ client }) => client.end()));
    },
  };
}

/** The tables whose count differs between two snapshots. */
export function changedTables(before: Record<string, number>, after: Record<string, number>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]).map((k) => `${k}: ${before[k]} → ${after[k]}`);
}
